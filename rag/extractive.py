"""The extractive answerer (the default, no LLM): the best-supported sentences of the retrieved chunks,
quoted verbatim with citations, chosen with the question's kind in mind; a refusal when none is good enough.

Up to three sentences are quoted: the answer is often in a sentence that restates less of the question than
the best-matching one, and a short answer that misses it helps nobody.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.cite import as_of, citation
from rag.embed import Embedder
from rag.lexical import terms
from rag.question import Kind, has_answer_shape, kind_of, names_a_place
from rag.sentences import split_spans
from rag.types import CANNOT_ANSWER, Answer, Chunk, Citation, Hit

OnText = Callable[[str], None]
_FOLD = 6


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
    titled: float = 0.0  #: its best new word (one the question lacks) recurs in the retrieved titles, by idf
    lede: bool = False  #: the first sentence of its article
    located: bool = False  #: for "where"/"which city" questions: names a place of the kind asked for
    support: float = 0.0  #: how well it addresses the question; the refusal threshold applies to this
    score: float = 0.0  #: support plus how likely it holds the answer; the ranking

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
        max_sentences: int = 3,
        shortlist: int = 12,
        keep_ratio: float = 0.6,
    ) -> None:
        self.embedder = embedder
        self.idf = idf or (lambda _t: 1.0)
        self.min_support = min_support
        self.max_sentences = max_sentences
        self.shortlist = shortlist
        self.keep_ratio = keep_ratio  #: further sentences need this share of the best one's score

    def candidates(self, question: str, hits: Sequence[Hit]) -> list[Candidate]:
        """Every distinct sentence of the hits, scored; best first."""
        kind = kind_of(question)
        q_words = _folded(question)
        q_terms = set(q_words)
        weights = {t: self._weight(w) for t, w in q_words.items()}
        total = sum(weights.values()) or 1.0
        # Answers recur in headlines: how many retrieved chunks carry each word in their title.
        in_titles = Counter(t for hit in hits for t in _folded(hit.chunk.title))
        seen: set[tuple[str, int]] = set()
        cands: list[Candidate] = []
        for rank, hit in enumerate(hits):
            chunk = hit.chunk
            ctx_terms = _folded(chunk.title + " " + chunk.text)
            ctx = sum(w for t, w in weights.items() if t in ctx_terms) / total
            for lo, hi in split_spans(chunk.text):
                key = (chunk.article_id, chunk.start + lo)
                if key in seen or hi - lo < 20:
                    continue
                seen.add(key)
                sentence = chunk.text[lo:hi]
                s_words = _folded(sentence)
                cov = sum(w for t, w in weights.items() if t in s_words) / total
                titled = max(
                    (min(in_titles[t], 2) / 2 * self._weight(w) / 6 for t, w in s_words.items() if t not in q_terms),
                    default=0.0,
                )
                cands.append(
                    Candidate(
                        rank,
                        chunk,
                        lo,
                        hi,
                        coverage=cov,
                        context=ctx,
                        shaped=has_answer_shape(sentence, kind, question),
                        titled=titled,
                        lede=chunk.start + lo == 0,
                        located=kind is Kind.PLACE and names_a_place(sentence, question),
                    )
                )
        if not cands:
            return []
        # Embedding every sentence costs too much for interactive use: embed a lexical shortlist.
        cands.sort(key=lambda c: -(c.coverage + 0.5 * c.context - 0.02 * c.rank + 0.3 * c.titled + 0.1 * c.located))
        short = cands[: self.shortlist]
        vecs = self.embedder.embed([question] + [c.text for c in short])
        sims = vecs[1:] @ vecs[0]
        for c, sim in zip(short, sims, strict=True):
            c.dense = float(np.clip(sim, 0.0, 1.0))
            self._score(c, kind)
        short.sort(key=lambda c: -c.score)
        return short

    def _weight(self, term: str) -> float:
        # Clipped: on a tiny corpus idf is degenerate, and one unseen word must not outweigh the rest.
        return min(max(self.idf(term), 1.0), 6.0)

    @staticmethod
    def _score(c: Candidate, kind: Kind) -> None:
        # Support (does the sentence address the question?) decides refusals; the answer signals (a new word
        # the headlines repeat, the lede, a place of the asked-for kind) only reorder the supported sentences,
        # so they can change which sentences are quoted but never turn a refusal into an answer.
        penalty = 0.8 if not c.shaped and kind is not Kind.OTHER else 1.0
        support = 0.5 * c.dense + 0.3 * c.coverage + 0.15 * c.context + 0.05 / (1 + c.rank)
        answer = 0.2 * c.titled + 0.03 * c.lede + 0.1 * c.located
        c.support = penalty * support
        c.score = penalty * (support + answer)

    def generate(self, question: str, hits: Sequence[Hit], on_text: OnText | None = None) -> Answer:
        ranked = self.candidates(question, hits)
        if not ranked or max(c.support for c in ranked) < self.min_support:
            if on_text:
                on_text(CANNOT_ANSWER)
            return Answer(question=question, text=CANNOT_ANSWER, refused=True, engine=self.name, hits=list(hits))
        chosen = [ranked[0]]
        for c in ranked[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if c.score >= self.keep_ratio * ranked[0].score and not _redundant(c, chosen):
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


def _folded(text: str) -> dict[str, str]:
    """The text's terms cut to their first six letters (a crude second stemmer, so that "robotaxies" meets
    "robotaxi" and "Ukrainian" meets "Ukraine"), each mapped to a full term for its idf."""
    return {t if t.isdigit() else t[:_FOLD]: t for t in terms(text)}


def _redundant(c: Candidate, chosen: list[Candidate]) -> bool:
    mine = set(terms(c.text))
    for other in chosen:
        theirs = set(terms(other.text))
        if mine and len(mine & theirs) / len(mine) > 0.6:
            return True
    return False
