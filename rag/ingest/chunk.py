"""Chunking: token-aware (tiktoken), sentence- and paragraph-aligned slices of an article, with overlap.

Each chunk is an exact slice ``article.text[start:end]``. Budgets are counted per sentence, in tiktoken
tokens and, when an embedder is given, in the embedder's own tokens, so no chunk can exceed what the
embedding model reads: a sentence longer than either budget is split at word boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rag.ingest import sentences, tokens
from rag.types import Article, Chunk

if TYPE_CHECKING:
    from rag.search.embed import Embedder

#: Bump when the algorithm changes: it is part of the index fingerprint.
CHUNKER_VERSION = 2


class Splitter(Protocol):
    """Anything that turns an article into chunks (ours, or the textbook one in ``rag.evals.vanilla``)."""

    @property
    def fingerprint(self) -> str: ...
    def split(self, article: Article) -> list[Chunk]: ...
    def embed_input(self, chunk: Chunk) -> str: ...


@dataclass(frozen=True)
class Budget:
    """A token limit and the counter that measures against it."""

    count: Callable[[str], int]
    limit: int
    #: Batch form of ``count`` (much faster for a tokenizer with per-call overhead).
    count_many: Callable[[list[str]], list[int]] | None = None

    def counts(self, texts: list[str]) -> list[int]:
        return self.count_many(texts) if self.count_many else [self.count(t) for t in texts]


@dataclass(frozen=True)
class Chunker:
    max_tokens: int = 200
    overlap_tokens: int = 30
    #: Extra limit from the embedding model (its own tokenizer and input size), if any.
    embed_budget: Budget | None = None

    @property
    def fingerprint(self) -> str:
        return f"sent-v{CHUNKER_VERSION}/cl100k/{self.max_tokens}/{self.overlap_tokens}"

    def embed_input(self, chunk: Chunk) -> str:
        """What the embedder reads for a chunk: the title header and the text."""
        return embed_text(chunk)

    def split(self, article: Article) -> list[Chunk]:
        text = article.text
        room = self._emb_room(article.title)
        units = self._units(text, sentences.split_spans(text), room)
        chunks: list[Chunk] = []
        i = 0
        while i < len(units):
            j, used_tok, used_emb = i, 0, 0
            while j < len(units):
                u = units[j]
                if j > i and (used_tok + u.n_tok > self.max_tokens or used_emb + u.n_emb > room):
                    break
                # Prefer ending at a paragraph break once the chunk is reasonably full.
                if j > i and u.para_start and used_tok >= 0.6 * self.max_tokens:
                    break
                used_tok += u.n_tok
                used_emb += u.n_emb
                j += 1
            start, end = units[i].start, units[j - 1].end
            chunks.append(self._chunk(article, len(chunks), start, end))
            if j >= len(units):
                break
            # Step back over trailing sentences that fit in the overlap, never back to where we began.
            k, back = j, 0
            while k - 1 > i and back + units[k - 1].n_tok <= self.overlap_tokens:
                back += units[k - 1].n_tok
                k -= 1
            i = k
        return chunks

    def _emb_room(self, title: str) -> int:
        """Embedder tokens left for the chunk once the title header is prepended."""
        if self.embed_budget is None:
            return 1 << 30
        return self.embed_budget.limit - self.embed_budget.count(embed_header(title))

    def _units(self, text: str, spans: list[tuple[int, int]], room: int) -> list[_Unit]:
        pieces = [text[a:b] for a, b in spans]
        n_tok = [n + 1 for n in tokens.count_many(pieces)]
        n_emb = self.embed_budget.counts(pieces) if self.embed_budget else [0] * len(pieces)
        units: list[_Unit] = []
        for (a, b), t, e in zip(spans, n_tok, n_emb, strict=True):
            para_start = a == 0 or "\n" in text[max(0, a - 2) : a]
            if t <= self.max_tokens and e <= room:
                units.append(_Unit(a, b, t, e, para_start=para_start))
                continue
            for lo, hi in self._fit(text, a, b, room):
                units.append(_Unit(lo, hi, *self._cost(text[lo:hi]), para_start=para_start and lo == a))
        return units

    def _cost(self, s: str) -> tuple[int, int]:
        return tokens.count(s) + 1, (self.embed_budget.count(s) if self.embed_budget else 0)

    def _fit(self, text: str, a: int, b: int, room: int) -> list[tuple[int, int]]:
        """Split one over-long sentence at word boundaries so each piece fits every budget."""
        words = [(m.start() + a, m.end() + a) for m in re.finditer(r"\S+", text[a:b])]
        pieces, lo = [], 0
        while lo < len(words):
            hi = lo + 1
            while hi < len(words):
                t, e = self._cost(text[words[lo][0] : words[hi][1]])
                if t > self.max_tokens or e > room:
                    break
                hi += 1
            if hi == lo + 1 and self._too_big(text[words[lo][0] : words[lo][1]], room):
                pieces.extend(self._hard_split(words[lo][0], words[lo][1], text, room))
            else:
                pieces.append((words[lo][0], words[hi - 1][1]))
            lo = hi
        return pieces

    def _too_big(self, s: str, room: int) -> bool:
        t, e = self._cost(s)
        return t > self.max_tokens or e > room

    def _hard_split(self, a: int, b: int, text: str, room: int) -> list[tuple[int, int]]:
        """A single "word" over budget (a pasted URL, a hash): cut it into character runs that fit."""
        out, lo, step = [], a, 64
        while lo < b:
            hi = min(b, lo + step)
            while hi - lo > 1 and self._too_big(text[lo:hi], room):
                hi = lo + (hi - lo) // 2
            out.append((lo, hi))
            lo = hi
        return out

    @staticmethod
    def _chunk(article: Article, index: int, start: int, end: int) -> Chunk:
        body = article.text[start:end]
        return Chunk(
            id=f"{article.id}:{index}",
            article_id=article.id,
            index=index,
            text=body,
            start=start,
            end=end,
            title=article.title,
            outlet=article.outlet,
            url=article.url,
            published=article.published,
            n_tokens=tokens.count(body),
        )


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    n_tok: int
    n_emb: int
    para_start: bool = False


def embed_header(title: str) -> str:
    """What is prepended to a chunk before embedding, so a chunk keeps its article's topic."""
    return f"{title}\n" if title else ""


def embed_text(chunk: Chunk) -> str:
    return embed_header(chunk.title) + chunk.text


def make_chunker(chunk_tokens: int, overlap: int, embedder: Embedder) -> Chunker:
    return Chunker(
        chunk_tokens, overlap, Budget(embedder.count_tokens, embedder.max_tokens, embedder.count_tokens_many)
    )


def index_fingerprint(embedder: Embedder, chunker: Splitter) -> dict[str, str]:
    """What a store's vectors and chunks were made with: a store built otherwise cannot be searched by this one."""
    return {"embedder": embedder.fingerprint, "chunking": chunker.fingerprint}
