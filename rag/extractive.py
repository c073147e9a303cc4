"""The extractive answerer (the default, no LLM): the best-supported sentences of the retrieved chunks,
quoted verbatim with citations, chosen with the question's kind in mind; a refusal when none is good enough.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.cite import as_of, citation
from rag.embed import Embedder
from rag.lexical import terms
from rag.question import Kind, has_answer_shape, kind_of
from rag.sentences import split_spans
from rag.types import CANNOT_ANSWER, Answer, Chunk, Citation, Hit

OnText = Callable[[str], None]


@dataclass
class Candidate:
    rank: int  #: position of its chunk in the retrieved list (0-based)
    chunk: Chunk
    lo: int  #: offsets in the chunk text
    hi: int
    coverage: float = 0.0  #: idf-weighted share of the question's terms in the sentence
    context: float = 0.0  #: the same over the sentence's title + chunk
    dense: float = 0.0  #: cosine similarity of sentence and question embeddings
    shaped: bool = True  #: holds something of the kind the question asks for
    score: float = 0.0

    @property
    def text(self) -> str:
        return self.chunk.text[self.lo : self.hi]


class ExtractiveGenerator:
    """Picks up to ``max_sentences`` verbatim sentences; refuses below ``min_support``."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        *,
        idf: Callable[[str], float] | None = None,
        min_support: float = 0.35,
        max_sentences: int = 2,
        shortlist: int = 24,
    ) -> None:
        self.embedder = embedder
        self.idf = idf or (lambda _t: 1.0)
        self.min_support = min_support
        self.max_sentences = max_sentences
        self.shortlist = shortlist

    def candidates(self, question: str, hits: Sequence[Hit]) -> list[Candidate]:
        """Every distinct sentence of the hits, scored; best first."""
        kind = kind_of(question)
        q_terms = set(terms(question))
        # Clipped: on a tiny corpus idf is degenerate, and one unseen word must not outweigh the rest.
        weights = {t: min(max(self.idf(t), 1.0), 6.0) for t in q_terms}
        total = sum(weights.values()) or 1.0
        seen: set[tuple[str, int]] = set()
        cands: list[Candidate] = []
        for rank, hit in enumerate(hits):
            chunk = hit.chunk
            ctx_terms = set(terms(chunk.title + " " + chunk.text))
            ctx = sum(w for t, w in weights.items() if t in ctx_terms) / total
            for lo, hi in split_spans(chunk.text):
                key = (chunk.article_id, chunk.start + lo)
                if key in seen or hi - lo < 20:
                    continue
                seen.add(key)
                s_terms = set(terms(chunk.text[lo:hi]))
                cov = sum(w for t, w in weights.items() if t in s_terms) / total
                shaped = has_answer_shape(chunk.text[lo:hi], kind, question)
                cands.append(Candidate(rank, chunk, lo, hi, coverage=cov, context=ctx, shaped=shaped))
        if not cands:
            return []
        # Embedding every sentence costs too much for interactive use: embed a lexical shortlist.
        cands.sort(key=lambda c: -(c.coverage + 0.5 * c.context - 0.02 * c.rank))
        short = cands[: self.shortlist]
        vecs = self.embedder.embed([question] + [c.text for c in short])
        sims = vecs[1:] @ vecs[0]
        for c, sim in zip(short, sims, strict=True):
            c.dense = float(np.clip(sim, 0.0, 1.0))
            c.score = self._score(c, kind)
        short.sort(key=lambda c: -c.score)
        return short

    @staticmethod
    def _score(c: Candidate, kind: Kind) -> float:
        score = 0.5 * c.dense + 0.3 * c.coverage + 0.15 * c.context + 0.05 / (1 + c.rank)
        if not c.shaped and kind is not Kind.OTHER:
            score *= 0.8
        return score

    def generate(self, question: str, hits: Sequence[Hit], on_text: OnText | None = None) -> Answer:
        ranked = self.candidates(question, hits)
        if not ranked or ranked[0].score < self.min_support:
            if on_text:
                on_text(CANNOT_ANSWER)
            return Answer(
                question=question, text=CANNOT_ANSWER, refused=True, engine=self.name, hits=list(hits)
            )
        chosen = [ranked[0]]
        for c in ranked[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if c.score >= max(self.min_support, 0.85 * ranked[0].score) and not _redundant(c, chosen):
                chosen.append(c)
        citations: list[Citation] = []
        parts: list[str] = []
        for c in chosen:
            cit = citation(len(citations) + 1, c.chunk, c.lo, c.hi)
            citations.append(cit)
            part = f"{c.text} [{cit.key}]"
            parts.append(part)
            if on_text:
                on_text(part + " ")
        return Answer(
            question=question,
            text=" ".join(parts),
            citations=citations,
            as_of=as_of(citations),
            engine=self.name,
            hits=list(hits),
        )


def _redundant(c: Candidate, chosen: list[Candidate]) -> bool:
    mine = set(terms(c.text))
    for other in chosen:
        theirs = set(terms(other.text))
        if mine and len(mine & theirs) / len(mine) > 0.6:
            return True
    return False
