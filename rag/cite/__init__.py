"""Citations: verbatim spans, the [n] marker, claim alignment and the meaning checks."""
