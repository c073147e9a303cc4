"""The textbook pipeline, for comparison: LangChain's RecursiveCharacterTextSplitter (1000/200 characters),
the same embedder (inputs silently truncated to the model's limit, as sentence-transformers does), dense
top-4 with no fusion, no diversity and no date prior, and the same generator.

It exists so every evaluation shows what our chunking and retrieval add over the standard recipe.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.ingest import tokens
from rag.pipeline import Generator, Pipeline
from rag.search.embed import Embedder
from rag.search.retrieve import FusionConfig
from rag.settings import Settings
from rag.types import Article, Chunk

VANILLA_FUSION = FusionConfig(mode="dense", candidates=4, per_article=1 << 30, recency_weight=0.0)
VANILLA_TOP_K = 4


class RecursiveChunker:
    """RecursiveCharacterTextSplitter(1000, 200) producing our ``Chunk`` (offsets from ``start_index``)."""

    def __init__(self, size: int = 1000, overlap: int = 200) -> None:
        self.size, self.overlap = size, overlap
        self._splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap, add_start_index=True)

    @property
    def fingerprint(self) -> str:
        return f"langchain-recursive-chars/{self.size}/{self.overlap}"

    def embed_input(self, chunk: Chunk) -> str:
        return chunk.text

    def split(self, article: Article) -> list[Chunk]:
        chunks = []
        for i, doc in enumerate(self._splitter.create_documents([article.text])):
            start = int(doc.metadata["start_index"])
            text = doc.page_content
            chunks.append(
                Chunk(
                    id=f"{article.id}:{i}",
                    article_id=article.id,
                    index=i,
                    text=text,
                    start=start,
                    end=start + len(text),
                    title=article.title,
                    outlet=article.outlet,
                    url=article.url,
                    published=article.published,
                    n_tokens=tokens.count(text),
                )
            )
        return chunks


class TruncatingEmbedder:
    """Wraps an embedder and cuts each input at the model's limit, as the textbook setup silently does."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def fingerprint(self) -> str:
        return f"{self.inner.fingerprint}+truncate"

    @property
    def max_tokens(self) -> int:
        return int(self.inner.max_tokens)

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        return list(self.inner.count_tokens_many(texts))

    def _cut(self, text: str) -> str:
        tok = getattr(self.inner, "_tokenizer", None)
        if tok is None:
            return text
        enc = tok.encode(text, add_special_tokens=False)
        if len(enc.ids) <= self.max_tokens:
            return text
        return text[: enc.offsets[self.max_tokens - 1][1]]

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors: np.ndarray = self.inner.embed([self._cut(t) for t in texts])
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def vanilla_pipeline(settings: Settings, embedder: Embedder, generator: Generator) -> Pipeline:
    """The textbook configuration over its own collection (``<collection>-vanilla``)."""
    vsettings = settings.replace(collection=f"{settings.collection}-vanilla", top_k=VANILLA_TOP_K)
    return Pipeline.from_settings(
        vsettings,
        embedder=TruncatingEmbedder(embedder),
        generator=generator,
        chunker=RecursiveChunker(),
        fusion=VANILLA_FUSION,
    )
