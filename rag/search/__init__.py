"""The index and retrieval: embeddings, the Chroma store and its commit protocol, lexical index, hybrid search."""
