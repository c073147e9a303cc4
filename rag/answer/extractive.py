"""The extractive answerer (the default, no LLM): the learned reader picks the sentence that answers the question
and marks the answer phrase in it; the answer quotes that sentence verbatim, then at most one supporting
sentence, each cited; an answer that is a relative day ("on Tuesday") says which day it was by the article's
date. When the reader judges the question unanswerable from these articles, the answer is the
fixed refusal plus, clearly labelled, the closest passages and what they do and do not cover.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.cite.cite import as_of, citation
from rag.dates import relative_day
from rag.read.reader import Reader, Reading, Scored
from rag.read.sentence_features import fold
from rag.text import OnText, terms
from rag.types import CANNOT_ANSWER, Answer, Citation, FollowUp, Hit

#: How many passages a refusal shows as "closest".
CLOSEST = 2
#: Words that ask rather than say what the question is about ("how many", "which one"): never "missing".
_ASKING = frozenset("many much often long far old one ones kind type sort".split())


class ExtractiveGenerator:
    """Answers with the reader's best sentence (and at most one more); refuses below its threshold."""

    name = "extractive"

    def __init__(self, reader: Reader, *, threshold: float | None = None) -> None:
        self.reader = reader
        self._threshold = threshold

    @property
    def threshold(self) -> float:
        return self.reader.threshold if self._threshold is None else self._threshold

    def gate(
        self,
        question: str,
        hits: Sequence[Hit],
        on_text: OnText | None = None,
        *,
        engine: str,
        follow_up: FollowUp | None = None,
    ) -> Answer | None:
        """The refusal when the reader judges these articles cannot answer the question, else None: the LLM
        engine asks this before calling its model, so an unanswerable question costs no call."""
        return self.read(question, hits, on_text, engine, follow_up)[1]

    def read(
        self, question: str, hits: Sequence[Hit], on_text: OnText | None, engine: str, follow_up: FollowUp | None
    ) -> tuple[Reading, Answer | None]:
        """The reader's reading, and the refusal when it falls below the threshold. A follow-up is read as its
        own standalone question, not answered with a sentence the previous answer already quoted."""
        reading = self.reader.read(question, hits, seen=follow_up.seen if follow_up else ())
        if reading.best is None or reading.answerable < self.threshold:
            return reading, refusal(question, reading, hits, on_text, engine=engine)
        return reading, None

    def generate(
        self,
        question: str,
        hits: Sequence[Hit],
        on_text: OnText | None = None,
        *,
        follow_up: FollowUp | None = None,
    ) -> Answer:
        reading, refused = self.read(question, hits, on_text, self.name, follow_up)
        if refused is not None:
            return refused
        return self.quote(question, reading, hits, on_text)

    def quote(self, question: str, reading: Reading, hits: Sequence[Hit], on_text: OnText | None = None) -> Answer:
        """The answer quoting the reader's best sentence (and at most one more), its answer phrase marked."""
        chosen = [reading.ranked[0]]
        second = supporting(reading, *self.reader.support)
        if second is not None:
            chosen.append(second)
        citations: list[Citation] = []
        parts: list[str] = []
        dated = len({s.cand.chunk.published for s in chosen}) > 1  # mixed periods: say when each was said
        lo, hi = chosen[0].span
        day = relative_day(chosen[0].text, (lo, hi), chosen[0].cand.chunk.published) if hi > lo else None
        for s in chosen:
            cit = citation(len(citations) + 1, s.cand.chunk, s.cand.lo, s.cand.hi)
            notes = [cit.published] if dated and cit.published else []
            if day is not None and not citations:  # the answer is a relative day: say which day, by the article
                notes.append(f"{day[0]} = {day[1].isoformat()}")
            citations.append(cit)
            part = f"{s.text} [{cit.key}]" + (f" ({'; '.join(notes)})" if notes else "")
            parts.append(part)
            if on_text:
                on_text(part + " ")
        return Answer(
            question=question,
            text=" ".join(parts),
            citations=citations,
            as_of=as_of(citations),
            engine=self.name,
            answer_span=(lo, hi) if hi > lo else None,
            answerable=reading.answerable,
            answered_by="reader",
            hits=list(hits),
        )


def supporting(reading: Reading, gap: float, below: float) -> Scored | None:
    """A second sentence, only while the answer is not convincing alone and another sentence scores within
    ``gap`` of the best one (never one that repeats the first)."""
    if len(reading.ranked) < 2 or reading.answerable >= below:
        return None
    top = reading.ranked[0]
    best = max(s.score for s in reading.ranked)
    for s in reading.ranked[1:3]:
        if redundant(s.text, top.text):
            continue
        return s if s.score >= best - gap else None
    return None


def redundant(a: str, b: str) -> bool:
    """Whether ``a`` mostly repeats ``b`` (a wire rewrite of the same sentence)."""
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta) and len(ta & tb) / len(ta) > 0.6


def refusal(question: str, reading: Reading, hits: Sequence[Hit], on_text: OnText | None, *, engine: str) -> Answer:
    """The fixed refusal, with the closest passages and a note on what they cover and what they lack."""
    if on_text:
        on_text(CANNOT_ANSWER)
    closest = [citation(i, s.cand.chunk, s.cand.lo, s.cand.hi) for i, s in enumerate(reading.ranked[:CLOSEST], 1)]
    return Answer(
        question=question,
        text=CANNOT_ANSWER,
        refused=True,
        engine=engine,
        answerable=reading.answerable,
        closest=closest,
        coverage_note=coverage_note(question, [c.quote for c in closest]),
        hits=list(hits),
    )


def coverage_note(question: str, passages: Sequence[str]) -> str:
    """What the closest passages share with the question and what they lack, in the question's own words."""
    if not passages:
        return ""
    have = {fold(t) for p in passages for t in terms(p)}
    shared: list[str] = []
    missing: list[str] = []
    for word in dict.fromkeys(w.strip("?.,;:!\"'“”‘’()") for w in question.split()):
        t = terms(word)
        if not t or len(word) < 3 or word.lower() in _ASKING:
            continue
        (shared if fold(t[0]) in have else missing).append(word)
    if not shared:
        return "The closest passages share nothing specific with the question."
    if not missing:
        return f"The closest passages mention {_listing(shared)}, but none of them answers the question."
    return f"The closest passages mention {_listing(shared)}, but not {_listing(missing)}."


def _listing(words: list[str]) -> str:
    quoted = [f"“{w}”" for w in words[:5]]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
