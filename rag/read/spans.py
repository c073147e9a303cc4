"""Candidate answer phrases inside a sentence — names, numbers with their units, dates, quoted titles and the
content words the question lacks — and their features for the reader's span model: what kind of thing each
is, how close it sits to the words the question shares with the sentence, and how often the retrieved articles
repeat it (answers recur across independent reports).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.question import _DATE, Kind
from rag.evals.metrics import normalise
from rag.read.candidates import Candidate
from rag.read.sentence_features import QuestionInfo, fold
from rag.text import STOPWORDS, terms

_CAP_WORD = r"[A-Z][\w’'.&-]*"
_NAME = re.compile(rf"{_CAP_WORD}(?:\s+(?:of|de|la|del|van|von|al|bin|the|and|&)\s+{_CAP_WORD}|\s+{_CAP_WORD})*")
_NUMBER = re.compile(
    r"(?:[$€£]\s?)?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|percent|million|billion|trillion|thousand|hundred))?"
    r"(?:\s(?:years?|months?|weeks?|days?|hours?|people|points?|votes?|feet|miles|degrees))?"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?|"
    r"millions?|billions?)\b(?:\s(?:million|billion|thousand|hundred))?",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[“\"]([^”\"]{2,60})[”\"]")
_WORD = re.compile(r"[A-Za-z][\w’'-]*")
_LEADING = re.compile(r"^(?:The|A|An|In|On|At|By|For|But|And|As|After|Before|When|While|If|Its|His|Her|Their)\s+")
MAX_WORDS = 8


@dataclass(frozen=True)
class Span:
    """A phrase of a candidate sentence that could be the answer."""

    cand: int  #: index of its sentence in the reader's candidate list
    lo: int  #: character offsets in the sentence
    hi: int
    text: str
    kind: str  #: name | number | date | quoted | word

    @property
    def key(self) -> str:
        """What makes two mentions the same answer."""
        return normalise(self.text)


def spans_of(sentence: str, index: int, question: QuestionInfo) -> list[Span]:
    """The phrases of a sentence that could answer the question (never ones the question already contains)."""
    out: dict[tuple[int, int], Span] = {}
    q_terms = set(question.weights)

    def add(lo: int, hi: int, kind: str) -> None:
        text = sentence[lo:hi].strip(" ,;:.’'\"“”")
        if not text:
            return
        lo = sentence.index(text, lo)
        hi = lo + len(text)
        words = text.split()
        ts = {fold(t) for t in terms(text)}
        if not ts or len(words) > MAX_WORDS or ts <= q_terms:
            return
        out.setdefault((lo, hi), Span(index, lo, hi, text, kind))

    for m in _NAME.finditer(sentence):
        lo, text = m.start(), m.group()
        lead = _LEADING.match(text)
        if lead:  # a sentence-initial capital is grammar, not a name
            lo, text = lo + lead.end(), text[lead.end() :]
        if text:
            add(lo, lo + len(text), "date" if _DATE.fullmatch(text) else "name")
    for m in _NUMBER.finditer(sentence):
        add(m.start(), m.end(), "number")
    for m in _DATE.finditer(sentence):
        add(m.start(), m.end(), "date")
    for m in _QUOTED.finditer(sentence):
        add(m.start(1), m.end(1), "quoted")
    for m in _WORD.finditer(sentence):
        w = m.group()
        if w.lower() not in STOPWORDS and len(w) > 2 and not w[:1].isupper():
            add(m.start(), m.end(), "word")
    return sorted(out.values(), key=lambda s: (s.lo, s.hi))


#: Span features, in the column order of ``span_features``.
SPAN_FEATURES = [
    "sentence_score", "sentence_rank", "best_sentence_score", "mentions", "mention_sentences", "articles",
    "articles_share", "in_title", "novel", "words", "idf", "distance", "position", "after_match",
    "kind_name", "kind_number", "kind_date", "kind_quoted", "kind_word", "fits", "near_focus", "capitalised",
    "q_number", "q_date", "q_person", "q_place", "q_entity", "q_other",
]  # fmt: skip

_FITS = {
    Kind.NUMBER: {"number": 1.0},
    Kind.DATE: {"date": 1.0, "number": 0.5},
    Kind.PERSON: {"name": 1.0},
    Kind.PLACE: {"name": 1.0},
    Kind.ENTITY: {"name": 1.0, "quoted": 1.0, "word": 0.5, "number": 0.3},
    Kind.OTHER: {"name": 0.5, "quoted": 0.5, "word": 0.5, "number": 0.5, "date": 0.5},
}


def span_features(
    q: QuestionInfo,
    cands: Sequence[Candidate],
    short: Sequence[int],
    sentence_scores: np.ndarray,
    idf: Callable[[str], float],
) -> tuple[list[Span], np.ndarray]:
    """Every candidate phrase of the shortlisted sentences, with one ``SPAN_FEATURES`` row each.

    ``sentence_scores`` are the ranker's scores of all candidates; ``short`` the shortlisted indices, best first.
    Mentions are counted over every candidate sentence, so agreement between articles counts."""
    spans = [s for i in short for s in spans_of(cands[i].text, i, q)]
    rows = np.zeros((len(spans), len(SPAN_FEATURES)), dtype=np.float32)
    if not spans:
        return spans, rows
    col = {n: i for i, n in enumerate(SPAN_FEATURES)}
    texts = [normalise(c.text) for c in cands]
    titles = {c.article_id: normalise(c.chunk.title) for c in cands}
    n_articles = max(len(titles), 1)
    rank_of = {i: r for r, i in enumerate(short)}
    by_key: dict[str, list[int]] = defaultdict(list)
    for j, s in enumerate(spans):
        by_key[s.key].append(j)
    mentions: dict[str, tuple[int, set[str]]] = {}
    in_title: dict[str, bool] = {}
    for key in by_key:
        pattern = re.compile(rf"(?<!\w){re.escape(key)}(?!\w)")
        hit = [i for i, t in enumerate(texts) if key and key in t and pattern.search(t)]
        mentions[key] = (len(hit), {cands[i].article_id for i in hit})
        in_title[key] = any(key in t and pattern.search(t) for t in titles.values())
    q_terms = set(q.weights)
    kind_fit = _FITS[q.kind]
    matched_at: dict[int, list[int]] = {}
    for i in short:
        sentence = cands[i].text
        matched_at[i] = [
            m.start() for m in _WORD.finditer(sentence) if any(fold(t) in q_terms for t in terms(m.group()))
        ]
    for j, s in enumerate(spans):
        row = rows[j]
        sentence = cands[s.cand].text
        words = terms(s.text)
        n_hit, arts = mentions[s.key]
        row[col["sentence_score"]] = sentence_scores[s.cand]
        row[col["sentence_rank"]] = rank_of[s.cand]
        row[col["best_sentence_score"]] = max(sentence_scores[spans[k].cand] for k in by_key[s.key])
        row[col["mentions"]] = min(n_hit, 20)
        row[col["mention_sentences"]] = len({spans[k].cand for k in by_key[s.key]})
        row[col["articles"]] = len(arts)
        row[col["articles_share"]] = len(arts) / n_articles
        row[col["in_title"]] = in_title[s.key]
        row[col["novel"]] = sum(fold(t) not in q_terms for t in words) / max(len(words), 1)
        row[col["words"]] = len(s.text.split())
        row[col["idf"]] = max((min(idf(t), 12.0) for t in words), default=0.0)
        # Where the question's words sit in the sentence: answers sit beside them.
        matched = matched_at[s.cand]
        if matched:
            row[col["distance"]] = min(min(abs(p - s.lo), abs(p - s.hi)) for p in matched) / max(len(sentence), 1)
            row[col["after_match"]] = s.lo > min(matched)
        else:
            row[col["distance"]] = 1.0
        row[col["position"]] = s.lo / max(len(sentence), 1)
        row[col[f"kind_{s.kind}"]] = 1.0
        row[col["fits"]] = kind_fit.get(s.kind, 0.0)
        if q.focus:
            near = sentence[max(0, s.lo - 40) : s.hi + 40]
            row[col["near_focus"]] = q.focus in {fold(t) for t in terms(near)}
        else:
            row[col["near_focus"]] = -1.0
        row[col["capitalised"]] = s.text[:1].isupper()
        row[col[f"q_{q.kind.value}"]] = 1.0
    return spans, rows
