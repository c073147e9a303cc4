"""The learned reader: which retrieved sentence answers the question, which words of it are the answer, and how
likely it is that the articles answer the question at all.

Three models, trained on the RealTime QA training weeks by ``rag train-reader`` and shipped as one small file
(``rag/models/reader.json``, pinned by sha256), evaluated with NumPy:

1. a sentence ranker (gradient-boosted trees over ``sentence_features``) scores every candidate sentence and
   keeps a shortlist of prose sentences;
2. a span model (trees over ``spans.span_features``) scores every candidate answer phrase of the shortlist —
   names, numbers, dates, titles, words the question lacks — with how often the articles repeat it; the answer
   is the best phrase, quoted in the sentence that holds its best mention;
3. an answerability model (logistic regression over the evidence behind that answer and how well the retrieved
   articles match the question at all) gives a calibrated probability; below the threshold the answerers refuse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ModelFileError
from rag.read.candidates import Candidate, Form, candidates
from rag.read.cross_encoder import CrossEncoder, rescored, shipped
from rag.read.pinned import pinned_json
from rag.read.sentence_features import FEATURES, QuestionInfo, Retrieved, featurize, fold
from rag.read.spans import SPAN_FEATURES, Span, span_features
from rag.read.trees import Forest
from rag.text import jaccard, terms
from rag.types import Hit

MODEL_DIR = Path(__file__).parent.parent / "models"
READER_PATH = MODEL_DIR / "reader.json"
#: sha256 of the shipped reader.json: a retrained model ships only by changing this line.
READER_SHA256 = "bf090ef236f616df50e2da195bb7902e6c63f9c0e96fcb7a3d0e5b79b3fa9dc5"
#: Question-level evidence for the answerability model.
ANSWERABLE = [
    "span", "span_margin", "span_articles", "span_mentions", "span_fits", "sentence", "sentence_margin",
    "sentence_cov", "sentence_rare_cov", "sentence_names_cov", "sentence_focus", "context_rare_cov",
    "context_names_cov", "context_cov", "dense_max", "dense_second", "lexical_max", "lexical_per_term",
    "lexical_share", "best_rare_cov", "best_names_cov", "best_window_cov", "rare_articles", "question_terms",
    "kind_number", "kind_date", "kind_person", "kind_place", "kind_entity", "kind_other",
]  # fmt: skip
ANSWERABLE_FORMS = frozenset({Form.PROSE})


@dataclass
class Scored:
    """A candidate sentence as the reader ranks it, with the answer phrase it holds (if any)."""

    cand: Candidate
    score: float  #: the ranker's score
    span: tuple[int, int] = (0, 0)  #: the answer's character offsets in the sentence
    span_score: float = float("-inf")

    @property
    def text(self) -> str:
        return self.cand.text

    @property
    def answer_phrase(self) -> str:
        return self.cand.text[self.span[0] : self.span[1]]


@dataclass
class Reading:
    """What the reader made of one question and its retrieved context."""

    question: QuestionInfo
    ranked: list[Scored]  #: the answer's sentence first, then the rest of the shortlist by ranker score
    answerable: float  #: calibrated probability that ``ranked[0]`` answers the question
    evidence: np.ndarray = field(repr=False)  #: its ``ANSWERABLE`` row
    all_candidates: list[Candidate] = field(default_factory=list, repr=False)

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None


@dataclass(frozen=True)
class Logistic:
    """Standardised logistic regression: the calibrated answerability probability."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Logistic:
        return cls(np.asarray(d["mean"]), np.asarray(d["scale"]), np.asarray(d["coef"]), float(d["intercept"]))


@dataclass(frozen=True)
class ReaderModel:
    """The trained parts, as loaded from the artifact."""

    ranker: Forest
    spans: Forest
    answerable: Logistic
    shortlist: int
    span_weight: float  #: how much the best phrase's score counts when choosing the answer's sentence
    threshold: float  #: refuse below this answerability probability
    support_gap: float  #: a second sentence must score within this of the first (ranker units) …
    support_below: float  #: … and is only added while the answer's probability is below this
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: Path = READER_PATH, expected_sha256: str | None = None) -> ReaderModel:
        expected = READER_SHA256 if expected_sha256 is None else expected_sha256
        data, actual = pinned_json(
            path, expected, what="reader model", command="rag train-reader", pin_in="rag/read/reader.py"
        )
        if data.get("format") != 2 or data.get("features") != FEATURES or data.get("span_features") != SPAN_FEATURES:
            raise ModelFileError(f"{path} was trained for other features; retrain it with `rag train-reader`")
        return cls(
            ranker=Forest.from_dict(data["ranker"]),
            spans=Forest.from_dict(data["spans"]),
            answerable=Logistic.from_dict(data["answerable"]),
            shortlist=int(data["shortlist"]),
            span_weight=float(data["span_weight"]),
            threshold=float(data["threshold"]),
            support_gap=float(data["support"]["gap"]),
            support_below=float(data["support"]["below"]),
            meta={**data.get("meta", {}), "sha256": actual},
        )


@lru_cache(maxsize=1)
def shipped_model() -> ReaderModel:
    """The shipped reader model, loaded once per process."""
    return ReaderModel.load()


class Reader:
    """Reads retrieved hits for a question with a ``ReaderModel``."""

    def __init__(
        self,
        model: ReaderModel | None = None,
        *,
        idf: Callable[[str], float] | None = None,
        cross: CrossEncoder | None = None,
        rerank: bool = True,
    ) -> None:
        self._model = model
        self.idf = idf or (lambda _t: 3.0)
        self._cross = cross
        self.rerank = rerank  #: False reads with the trees alone (the cross-encoder's ablation)

    @cached_property
    def model(self) -> ReaderModel:
        return self._model or shipped_model()

    @cached_property
    def cross(self) -> CrossEncoder:
        return self._cross or shipped()

    @property
    def threshold(self) -> float:
        return self.model.threshold

    @property
    def support(self) -> tuple[float, float]:
        """The rule for a second sentence, (gap, below): the cross-encoder's when it reads, else the trees'."""
        if self.rerank:
            c = self.cross.config
            return c.support_gap, c.support_below
        return self.model.support_gap, self.model.support_below

    def _choice_scores(
        self, question: str, cands: Sequence[Candidate], ranker: np.ndarray, short: list[int]
    ) -> np.ndarray:
        """The scores that choose the answer's sentence: the trees', with the cross-encoder's reading of the
        best few shortlisted sentences added."""
        if not self.rerank or len(short) < 2:  # one sentence: nothing to reorder, and its adjustment would be 0
            return ranker
        c = self.cross.config
        top = short[: c.top]
        return rescored(ranker, short, self.cross.scores(question, [cands[i].text for i in top]), c.weight)

    def read(
        self, question: str, hits: Sequence[Hit], as_of: dt.date | None = None, *, seen: Collection[str] = ()
    ) -> Reading:
        """Rank the sentences of ``hits`` for ``question``, mark the answer phrase and judge answerability.
        A sentence in ``seen`` (quoted by the previous answer of a conversation) is not the answer again while
        another is left; it still counts as evidence for answerability."""
        m = self.model
        q = QuestionInfo.of(question, self.idf)
        cands = candidates(hits)
        if as_of is None:
            as_of = max((h.chunk.published for h in hits if h.chunk.published), default=None)
        feats = featurize(q, cands, retrieved(cands, hits), as_of)
        ranker = m.ranker.predict(feats) if cands else np.zeros(0)
        short = shortlist(cands, ranker, m.shortlist)
        spans, rows = span_features(q, cands, short, ranker, self.idf)
        span_scores = m.spans.predict(rows) if spans else np.zeros(0)
        repeated = {i for i in short if seen and restates(cands[i].text, seen)}
        choice = self._choice_scores(question, cands, ranker, short)
        ranked = rank(cands, ranker, short, spans, span_scores, m.span_weight, repeated, choice=choice)
        evidence = answerable_row(q, cands, feats, ranker, short, spans, rows, span_scores, hits)
        p = float(m.answerable.probability(evidence)[0]) if ranked else 0.0
        if ranked and p < m.threshold and verbatim_match(q, feats, cands, ranked[0]):
            p = m.threshold  # the sentence says everything the question says, plus the phrase asked for
        return Reading(q, ranked, p, evidence, cands)


def restates(sentence: str, seen: Collection[str], overlap: float = 0.6) -> bool:
    """Whether ``sentence`` is one of the ``seen`` quotes or says nearly the same (another outlet's copy of it:
    at least ``overlap`` of the two sentences' words, by Jaccard, in common)."""
    if " ".join(sentence.split()) in seen:
        return True
    mine = set(terms(sentence))
    return any(jaccard(mine, set(terms(other))) >= overlap for other in seen)


def verbatim_match(q: QuestionInfo, feats: np.ndarray, cands: Sequence[Candidate], top: Scored) -> bool:
    """Whether the chosen sentence holds every content word of a question of two or more, and an answer phrase
    the question does not: evidence the answerability model, fitted on many-article searches, can underrate on a
    small store (its rarity and cross-article features then look weak)."""
    i = next(k for k, c in enumerate(cands) if c is top.cand)
    lo, hi = top.span
    phrase = {fold(t) for t in terms(top.text[lo:hi])}
    cov = float(feats[i, FEATURES.index("cov")])
    return len(q.weights) >= 2 and cov >= 0.999 and hi > lo and bool(phrase - set(q.weights))


def retrieved(cands: Sequence[Candidate], hits: Sequence[Hit]) -> list[Retrieved]:
    info: dict[str, Retrieved] = {}
    for h in hits:
        info.setdefault(h.chunk.id, Retrieved(h.score, h.dense_rank, h.lexical_rank))
    return [info[c.chunk.id] for c in cands]


def shortlist(cands: Sequence[Candidate], ranker: np.ndarray, n: int) -> list[int]:
    """The ``n`` best prose sentences by ranker score (headings, questions, bylines … are never answers)."""
    eligible = [i for i, c in enumerate(cands) if c.form in ANSWERABLE_FORMS]
    return sorted(eligible, key=lambda i: -ranker[i])[:n]


def rank(
    cands: Sequence[Candidate],
    ranker: np.ndarray,
    short: Sequence[int],
    spans: Sequence[Span],
    span_scores: np.ndarray,
    span_weight: float,
    repeated: Collection[int] = (),
    *,
    choice: np.ndarray | None = None,
) -> list[Scored]:
    """The answer's sentence first (its best phrase marked), then the rest of the shortlist by ranker score.
    The answer's sentence is chosen by ``choice`` (the ranker's scores unless given, e.g. with the cross-encoder's
    added) plus its best phrase's score. A ``repeated`` sentence (the previous answer's quote) is not the answer
    again while the shortlist holds another: it answered the earlier question."""
    if not short:
        return []
    best_span: dict[int, tuple[float, Span]] = {}
    for s, score in zip(spans, span_scores, strict=True):
        if s.cand not in best_span or score > best_span[s.cand][0]:
            best_span[s.cand] = (float(score), s)
    # The answer's sentence: the ranker's score plus the weighted score of the best phrase it holds.
    floor = float(np.min(span_scores)) if len(span_scores) else 0.0
    choose = ranker if choice is None else choice
    joint = {i: float(choose[i]) + span_weight * (best_span[i][0] if i in best_span else floor) for i in short}
    fresh = [i for i in short if i not in repeated] or list(short)
    top = max(fresh, key=lambda i: joint[i])
    order = [top, *(i for i in short if i != top)]
    out = []
    for i in order:
        if i in best_span:
            score, s = best_span[i]
            out.append(Scored(cands[i], float(ranker[i]), (s.lo, s.hi), score))
        else:
            out.append(Scored(cands[i], float(ranker[i]), (0, 0), float("-inf")))
    return out


def answerable_row(
    q: QuestionInfo,
    cands: Sequence[Candidate],
    feats: np.ndarray,
    ranker: np.ndarray,
    short: Sequence[int],
    spans: Sequence[Span],
    span_rows: np.ndarray,
    span_scores: np.ndarray,
    hits: Sequence[Hit],
) -> np.ndarray:
    """The ``ANSWERABLE`` evidence: the best answer phrase and its sentence, and how well the retrieved articles
    match the question's rare words and names at all (with the answer hidden, the right story is missing)."""
    row = np.zeros(len(ANSWERABLE), dtype=np.float32)
    col = {name: i for i, name in enumerate(ANSWERABLE)}
    f = {name: i for i, name in enumerate(FEATURES)}
    sf = {name: i for i, name in enumerate(SPAN_FEATURES)}
    row[col[f"kind_{q.kind.value}"]] = 1.0
    row[col["question_terms"]] = len(q.weights)
    context_terms = {fold(t) for c in cands for t in terms(c.chunk.title + " " + c.text)}
    row[col["context_cov"]] = sum(w for t, w in q.weights.items() if t in context_terms) / q.total
    row[col["context_rare_cov"]] = sum(t in context_terms for t in q.rare) / max(len(q.rare), 1)
    row[col["context_names_cov"]] = sum(bool(n & context_terms) for n in q.names) / len(q.names) if q.names else 1.0
    sims = [h.dense_similarity for h in hits if h.dense_similarity is not None]
    bm25 = [h.lexical_score for h in hits if h.lexical_score is not None]
    row[col["dense_max"]] = max(sims, default=0.0)
    by_article: dict[str, float] = {}
    for h in hits:
        if h.dense_similarity is not None:
            by_article[h.chunk.article_id] = max(by_article.get(h.chunk.article_id, 0.0), h.dense_similarity)
    row[col["dense_second"]] = sorted(by_article.values())[-2] if len(by_article) > 1 else 0.0
    row[col["lexical_max"]] = max(bm25, default=0.0)
    row[col["lexical_per_term"]] = row[col["lexical_max"]] / max(len(q.weights), 1)
    row[col["lexical_share"]] = row[col["lexical_max"]] / q.total
    if len(cands):
        row[col["best_rare_cov"]] = feats[:, f["rare_cov"]].max()
        row[col["best_names_cov"]] = feats[:, f["names_cov"]].max()
        row[col["best_window_cov"]] = feats[:, f["window_cov"]].max()
    rare = {t for t in q.rare if q.weights[t] >= 3.0}
    if rare:
        holding: dict[str, set[str]] = {}
        for c in cands:
            holding.setdefault(c.article_id, set()).update(fold(t) for t in terms(c.chunk.title + " " + c.text))
        row[col["rare_articles"]] = sum(rare <= ts for ts in holding.values())
    if not short:
        row[col["span"]] = row[col["sentence"]] = -10.0
        return row
    top_sentence = short[0]
    scores = sorted((float(ranker[i]) for i in short), reverse=True)
    row[col["sentence"]] = scores[0]
    row[col["sentence_margin"]] = scores[0] - scores[1] if len(scores) > 1 else 5.0
    for name in ("cov", "rare_cov", "names_cov", "focus"):
        row[col[f"sentence_{name}"]] = feats[top_sentence, f[name]]
    if len(span_scores):
        best: dict[str, float] = {}
        for s, score in zip(spans, span_scores, strict=True):
            best[s.key] = max(best.get(s.key, float("-inf")), float(score))
        ordered = sorted(best.values(), reverse=True)
        j = int(np.argmax(span_scores))
        row[col["span"]] = ordered[0]
        row[col["span_margin"]] = ordered[0] - ordered[1] if len(ordered) > 1 else 5.0
        for name in ("articles", "mentions", "fits"):
            row[col[f"span_{name}"]] = span_rows[j, sf[name]]
    else:
        row[col["span"]] = -10.0
    return row
