"""Features of candidate sentences for the reader: how a sentence meets the question (overlap, focus, names),
what it holds that the question lacks (numbers, dates, names, places), where it sits, what form it has and
whether other articles agree. Shared by inference and ``rag train-reader``, so both see the same numbers.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.answer.question import _DATE, _NUMBER, Kind, has_answer_shape, kind_of, names_a_place, new_names
from rag.read.candidates import Candidate, Form
from rag.text import terms

_FOLD = 6
_CAPS = re.compile(r"\b[A-Z][\w’'-]*(?:\s+(?:of|de|la|the|and|&|[A-Z][\w’'-]*))*")
_QUOTED = re.compile(r"[\"“”]")
# The noun a which/what/how-many question asks about: "which ingredient", "how many soldiers".
_FOCUS = re.compile(
    r"\b(?:which|what|whose|how many|how much)\s+(?:(?:of the|kind of|type of|sort of)\s+)?"
    r"(?:[a-z]+\s+){0,2}?([a-z]{3,})\b"
)
_FOCUS_SKIP = frozenset("is are was were did does do has have had will would can could the a an".split())


def _bigrams(text: str) -> set[tuple[str, str]]:
    """Adjacent folded content terms: a phrase of the question found whole in a sentence."""
    ts = [fold(t) for t in terms(text)]
    return set(itertools.pairwise(ts))


def fold(term: str) -> str:
    """A crude second stemmer: a term cut to six letters, so "robotaxies" meets "robotaxi"."""
    return term if term.isdigit() else term[:_FOLD]


def folded(text: str) -> dict[str, str]:
    """The text's folded terms, each mapped to a full term (for its idf)."""
    return {fold(t): t for t in terms(text)}


@dataclass
class QuestionInfo:
    """What the reader needs to know about a question, computed once per question."""

    text: str
    kind: Kind
    weights: dict[str, float]  #: folded term → clipped idf weight
    total: float
    names: list[set[str]]  #: the folded terms of each capitalised name in the question
    focus: str  #: folded head noun of a which/what/how-many question, "" if none
    rare: list[str]  #: the (up to) three rarest folded terms
    numbers: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, question: str, idf: Callable[[str], float]) -> QuestionInfo:
        words = folded(question)
        weights = {t: min(max(idf(w), 1.0), 6.0) for t, w in words.items()}
        names = []
        for m in _CAPS.finditer(question):
            if m.start() == 0 and " " not in m.group():
                continue  # the question's first word is capitalised by grammar, not as a name
            ts = {fold(t) for t in terms(m.group())}
            if ts:
                names.append(ts)
        focus = ""
        fm = _FOCUS.search(question.lower())
        if fm and fm.group(1) not in _FOCUS_SKIP:
            ft = terms(fm.group(1))
            focus = fold(ft[0]) if ft else ""
        rare = sorted(weights, key=lambda t: -weights[t])[:3]
        numbers = {m.group().lower() for m in _NUMBER.finditer(question)}
        return cls(question, kind_of(question), weights, sum(weights.values()) or 1.0, names, focus, rare, numbers)


#: Feature names, in the order of the columns ``featurize`` returns. The trained model records this list.
FEATURES = [
    "cov", "cov_rel", "cov_gap", "cov_count", "ctx", "title_cov", "article_cov", "rare_cov", "names_cov", "focus",
    "rank", "inv_rank", "score_rel", "dense_inv", "lexical_inv", "lede_added", "first_sentence", "chunk_index",
    "order", "offset_log", "words", "shape", "new_names", "new_numbers", "has_date", "place", "titled", "recur",
    "recur_articles", "quoted", "starts_quote", "age_days", "age_rank", "proximity", "first_match", "novel_share",
    "article_best_cov", "best_in_article", "prev_cov", "next_cov", "window_cov", "bigram_cov",
    "form_prose", "form_heading", "form_question", "form_byline",
    "form_caption", "form_fragment", "form_boilerplate", "kind_number", "kind_date", "kind_person", "kind_place",
    "kind_entity", "kind_other",
]  # fmt: skip


@dataclass(frozen=True)
class Retrieved:
    """How a candidate's chunk was retrieved: fused score and 1-based ranks in the dense and lexical lists."""

    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None


def featurize(
    q: QuestionInfo, cands: Sequence[Candidate], retrieved: Sequence[Retrieved], as_of: dt.date | None
) -> np.ndarray:
    """One row of ``FEATURES`` per candidate; ``retrieved[i]`` describes candidate i's chunk."""
    n = len(cands)
    out = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if not n:
        return out
    col = {name: i for i, name in enumerate(FEATURES)}
    sent_terms = [folded(c.text) for c in cands]
    chunk_terms: dict[str, set[str]] = {}
    article_terms: dict[str, set[str]] = defaultdict(set)
    titles: dict[str, set[str]] = {}
    for c in cands:
        if c.chunk.id not in chunk_terms:
            chunk_terms[c.chunk.id] = set(folded(c.chunk.title + " " + c.chunk.text))
        article_terms[c.article_id] |= chunk_terms[c.chunk.id]
        titles.setdefault(c.article_id, set(folded(c.chunk.title)))
    q_terms = set(q.weights)

    def coverage(have: set[str] | dict[str, str]) -> float:
        return sum(w for t, w in q.weights.items() if t in have) / q.total

    cov = np.array([coverage(s) for s in sent_terms], dtype=np.float32)
    best = float(cov.max()) or 1.0
    order_desc = np.argsort(-cov, kind="stable")
    cov_rank = np.empty(n, dtype=np.float32)
    cov_rank[order_desc] = np.arange(n)
    article_best: dict[str, float] = defaultdict(float)
    for c, v in zip(cands, cov, strict=True):
        article_best[c.article_id] = max(article_best[c.article_id], float(v))

    # Agreement: the new names and numbers of each sentence, and in how many articles each recurs.
    novel: list[set[str]] = []
    in_articles: dict[str, set[str]] = defaultdict(set)
    in_titles: Counter[str] = Counter()
    for ts in titles.values():
        in_titles.update(ts)
    for c in cands:
        toks = {fold(t) for name in new_names(c.text, q.text) for t in terms(name)}
        toks |= {m.group().lower().replace(",", "") for m in _NUMBER.finditer(c.text)} - q.numbers
        toks -= q_terms
        novel.append(toks)
        for t in toks:
            in_articles[t].add(c.article_id)
    n_articles = max(len(titles), 1)

    days = [(as_of - c.chunk.published).days if as_of and c.chunk.published else 30 for c in cands]
    day_rank = {d: i for i, d in enumerate(sorted(set(days)))}
    top_score = max(r.score for r in retrieved) or 1.0
    kind_col = col[f"kind_{q.kind.value}"]

    # Neighbours within a chunk: the answer often sits beside the sentence that restates the question.
    position = {(c.chunk.id, c.order): i for i, c in enumerate(cands)}
    bigrams = _bigrams(q.text)
    for i, c in enumerate(cands):
        row = out[i]
        s = sent_terms[i]
        prev, nxt = position.get((c.chunk.id, c.order - 1)), position.get((c.chunk.id, c.order + 1))
        row[col["prev_cov"]] = cov[prev] if prev is not None else 0.0
        row[col["next_cov"]] = cov[nxt] if nxt is not None else 0.0
        window = (
            set(s)
            | (set(sent_terms[prev]) if prev is not None else set())
            | (set(sent_terms[nxt]) if nxt is not None else set())
        )
        row[col["window_cov"]] = coverage(window)
        row[col["bigram_cov"]] = len(bigrams & _bigrams(c.text)) / len(bigrams) if bigrams else 0.0
        text = c.text
        row[col["cov"]] = cov[i]
        row[col["cov_rel"]] = cov[i] / best
        row[col["cov_gap"]] = best - cov[i]
        row[col["cov_count"]] = len(q_terms & set(s)) / max(len(q_terms), 1)
        row[col["ctx"]] = coverage(chunk_terms[c.chunk.id])
        row[col["title_cov"]] = coverage(titles[c.article_id])
        row[col["article_cov"]] = coverage(article_terms[c.article_id])
        row[col["rare_cov"]] = sum(t in s for t in q.rare) / max(len(q.rare), 1)
        row[col["names_cov"]] = sum(bool(nm & set(s)) for nm in q.names) / len(q.names) if q.names else 1.0
        row[col["focus"]] = (q.focus in s) if q.focus else -1.0
        row[col["rank"]] = c.rank
        row[col["inv_rank"]] = 1.0 / (1 + c.rank)
        row[col["score_rel"]] = retrieved[i].score / top_score
        dense_rank, lexical_rank = retrieved[i].dense_rank, retrieved[i].lexical_rank
        row[col["dense_inv"]] = 1.0 / dense_rank if dense_rank else 0.0
        row[col["lexical_inv"]] = 1.0 / lexical_rank if lexical_rank else 0.0
        row[col["lede_added"]] = c.lede_added
        row[col["first_sentence"]] = c.offset == 0
        row[col["chunk_index"]] = min(c.chunk.index, 30)
        row[col["order"]] = c.order
        row[col["offset_log"]] = math.log1p(c.offset)
        words = len(text.split())
        row[col["words"]] = words
        row[col["shape"]] = has_answer_shape(text, q.kind, q.text)
        row[col["new_names"]] = len(new_names(text, q.text))
        row[col["new_numbers"]] = sum(m.group().lower() not in q.numbers for m in _NUMBER.finditer(text))
        row[col["has_date"]] = bool(_DATE.search(text))
        row[col["place"]] = names_a_place(text, q.text)
        row[col["titled"]] = max((min(in_titles[t], 3) for t in s if t not in q_terms), default=0)
        row[col["recur"]] = max((len(in_articles[t]) for t in novel[i]), default=0)
        row[col["recur_articles"]] = row[col["recur"]] / n_articles
        row[col["quoted"]] = bool(_QUOTED.search(text))
        row[col["starts_quote"]] = text[:1] in "\"“'‘"
        row[col["age_days"]] = min(days[i], 365)
        row[col["age_rank"]] = day_rank[days[i]]
        positions = [j for j, t in enumerate(terms(text)) if fold(t) in q_terms]
        n_terms = max(len(s), 1)
        row[col["proximity"]] = (positions[-1] - positions[0] + 1) / n_terms if positions else 1.0
        row[col["first_match"]] = positions[0] / n_terms if positions else 1.0
        row[col["novel_share"]] = len(set(s) - q_terms) / n_terms
        row[col["article_best_cov"]] = article_best[c.article_id]
        row[col["best_in_article"]] = cov[i] >= article_best[c.article_id]
        row[col[f"form_{c.form.value}"]] = 1.0
        row[kind_col] = 1.0
    return out


FORMS_NEVER_ANSWER = frozenset(
    {Form.HEADING, Form.QUESTION, Form.BYLINE, Form.CAPTION, Form.FRAGMENT, Form.BOILERPLATE}
)
