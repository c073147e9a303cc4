"""Citations: built from verbatim spans, ``[n]`` markers parsed, a sentence checked against its source."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.lexical import terms
from rag.sentences import split_spans
from rag.types import Chunk, Citation, Hit

MARKER = re.compile(r"\[(\d{1,3})\]")
# Markers a model puts after the full stop belong to the sentence before it: "Kursk. [1]" → "Kursk [1]."
_TRAILING_MARKERS = re.compile(r"([.!?])((?:\s*\[\d{1,3}\])+)")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def citation(key: int, chunk: Chunk, lo: int, hi: int) -> Citation:
    """A citation for ``chunk.text[lo:hi]``, with offsets into the article."""
    return Citation(
        key=key,
        article_id=chunk.article_id,
        chunk_id=chunk.id,
        title=chunk.title,
        outlet=chunk.outlet,
        url=chunk.url,
        published=chunk.published.isoformat() if chunk.published else "",
        quote=chunk.text[lo:hi],
        start=chunk.start + lo,
        end=chunk.start + hi,
    )


def as_of(citations: Sequence[Citation]) -> str:
    """The newest publication date among the cited articles."""
    return max((c.published for c in citations if c.published), default="")


def normalise_markers(text: str) -> str:
    return _TRAILING_MARKERS.sub(lambda m: m.group(2).rstrip() + m.group(1), text)


def markers(sentence: str) -> list[int]:
    return [int(n) for n in MARKER.findall(sentence)]


def strip_markers(text: str) -> str:
    return re.sub(r"\s*\[\d{1,3}\]", "", text).strip()


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def support(claim: str, source: str) -> float:
    """How well ``source`` supports ``claim``: the share of the claim's content words found in the source,
    zero when the claim states a number the source does not contain."""
    claim = strip_markers(claim)
    if not _numbers(claim) <= _numbers(source):
        return 0.0
    claim_terms = set(terms(claim))
    if not claim_terms:
        return 1.0
    return len(claim_terms & set(terms(source))) / len(claim_terms)


def best_span(claim: str, chunk: Chunk) -> tuple[int, int]:
    """The sentence of ``chunk`` that best supports ``claim`` (offsets within the chunk text)."""
    spans = split_spans(chunk.text) or [(0, len(chunk.text))]
    return max(spans, key=lambda s: (support(claim, chunk.text[s[0] : s[1]]), -(s[1] - s[0])))


def keyed(hits: Sequence[Hit]) -> dict[int, Hit]:
    """Source keys as shown to the model: 1-based positions in the retrieved list."""
    return {i: h for i, h in enumerate(hits, start=1)}
