"""The learned reader: which retrieved sentence answers the question, which words of it are the answer, and how
likely it is that the articles answer the question at all.

Three stages, all trained on the RealTime QA training weeks by ``rag train-reader`` and shipped as a small
artifact (``rag/models/reader.json`` + ``reader-head.npz``, pinned by sha256):

1. a ranker (gradient-boosted trees over ``sentence_features``) scores every candidate sentence and keeps a
   shortlist;
2. the shortlist is read together with the question by the local MiniLM (the retrieval model, no second model
   file) and two small heads score relevance and mark the answer span (``pairhead``); a second forest combines
   all of it into the final ranking;
3. an answerability model turns the best candidate's evidence into a calibrated probability that it answers the
   question; below the threshold the answerers refuse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.candidates import Candidate, Form, candidates
from rag.embed import LocalMiniLM, pair_states
from rag.errors import ModelFileError
from rag.metrics import normalise
from rag.pairhead import HeadWeights
from rag.pairhead import run as run_head
from rag.question import _DATE, _NUMBER, Kind
from rag.sentence_features import FEATURES, QuestionInfo, Retrieved, featurize
from rag.trees import Forest
from rag.types import Hit

MODEL_DIR = Path(__file__).parent / "models"
READER_PATH = MODEL_DIR / "reader.json"
#: sha256 of the shipped reader.json (which pins the head file's own sha256 inside it).
READER_SHA256 = ""

#: Columns the combiner sees after the ranker's features.
COMBINER_EXTRA = [
    "ranker", "ranker_rel", "ranker_rank", "head", "head_rel", "head_rank", "span_score", "span_novel",
    "span_shape", "span_recur", "span_words",
]  # fmt: skip
COMBINER = FEATURES + COMBINER_EXTRA
#: Question-level evidence for the answerability model, from the best candidate and the field behind it.
ANSWERABLE = [
    "top", "margin", "top_ranker", "top_head", "max_head", "head_margin", "top_span_score", "top_span_recur",
    "top_span_shape", "top_cov", "top_rare_cov", "top_names_cov", "top_focus", "top_article_cov", "top_title_cov",
    "n_strong", "question_terms", "kind_number", "kind_date", "kind_person", "kind_place", "kind_entity",
    "kind_other",
]  # fmt: skip
ANSWERABLE_FORMS = frozenset({Form.PROSE})


@dataclass
class Scored:
    """A shortlisted candidate with everything the reader found out about it."""

    cand: Candidate
    features: np.ndarray  #: its ``COMBINER`` row
    score: float  #: final ranking score (combiner, raw)
    span: tuple[int, int]  #: the answer's character offsets in the sentence

    @property
    def text(self) -> str:
        return self.cand.text

    @property
    def answer_phrase(self) -> str:
        lo, hi = self.span
        return self.cand.text[lo:hi]


@dataclass
class Reading:
    """What the reader made of one question and its retrieved context."""

    question: QuestionInfo
    ranked: list[Scored]  #: the shortlist, best first
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
        return 1.0 / (1.0 + np.exp(-z))

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
    combiner: Forest
    answerable: Logistic
    head: HeadWeights
    shortlist: int
    threshold: float  #: refuse below this answerability probability
    support_ratio: float  #: a second sentence needs this share of the first one's probability …
    support_below: float  #: … and is only added while the first one's probability is below this
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: Path = READER_PATH, expected_sha256: str | None = None) -> ReaderModel:
        expected = READER_SHA256 if expected_sha256 is None else expected_sha256
        raw = _read_pinned(path, expected)
        data = json.loads(raw)
        if data.get("format") != 1 or data.get("features") != FEATURES:
            raise ModelFileError(f"{path} was trained for other sentence features; retrain it with `rag train-reader`")
        head_path = path.parent / data["head"]["file"]
        with np.load(_pinned_file(head_path, data["head"]["sha256"]), allow_pickle=False) as npz:
            head = HeadWeights.from_npz({k: npz[k] for k in npz.files})
        return cls(
            ranker=Forest.from_dict(data["ranker"]),
            combiner=Forest.from_dict(data["combiner"]),
            answerable=Logistic.from_dict(data["answerable"]),
            head=head,
            shortlist=int(data["shortlist"]),
            threshold=float(data["threshold"]),
            support_ratio=float(data["support"]["ratio"]),
            support_below=float(data["support"]["below"]),
            meta={**data.get("meta", {}), "sha256": hashlib.sha256(raw).hexdigest()},
        )


def _read_pinned(path: Path, expected: str) -> bytes:
    if not path.is_file():
        raise ModelFileError(f"reader model {path} is missing; reinstall, or rebuild it with `rag train-reader`")
    raw = path.read_bytes()
    actual = hashlib.sha256(raw).hexdigest()
    if expected and actual != expected:
        raise ModelFileError(
            f"reader model {path} has sha256 {actual[:12]}…, expected {expected[:12]}…; reinstall the package "
            "(or, after `rag train-reader`, pin the new hash in rag/reader.py)"
        )
    return raw


def _pinned_file(path: Path, expected: str) -> Path:
    _read_pinned(path, expected)
    return path


class Reader:
    """Reads retrieved hits for a question with a ``ReaderModel``."""

    def __init__(
        self,
        model: ReaderModel | None = None,
        *,
        encoder: LocalMiniLM | None = None,
        idf: Callable[[str], float] | None = None,
    ) -> None:
        self._model = model
        self.encoder = encoder or LocalMiniLM()
        self.idf = idf or (lambda _t: 3.0)

    @cached_property
    def model(self) -> ReaderModel:
        return self._model or ReaderModel.load()

    @property
    def threshold(self) -> float:
        return self.model.threshold

    def read(self, question: str, hits: Sequence[Hit], as_of: dt.date | None = None) -> Reading:
        m = self.model
        q = QuestionInfo.of(question, self.idf)
        cands = candidates(hits)
        if as_of is None:
            as_of = max((h.chunk.published for h in hits if h.chunk.published), default=None)
        retrieved = _retrieved(cands, hits)
        feats = featurize(q, cands, retrieved, as_of)
        if not cands:
            return Reading(q, [], 0.0, np.zeros(len(ANSWERABLE)), cands)
        ranker = m.ranker.predict(feats)
        eligible = [i for i, c in enumerate(cands) if c.form in ANSWERABLE_FORMS]
        short = sorted(eligible, key=lambda i: -ranker[i])[: m.shortlist]
        if not short:
            return Reading(q, [], 0.0, np.zeros(len(ANSWERABLE)), cands)
        texts = [cands[i].text for i in short]
        heads = run_head(m.head, pair_states(self.encoder, [(question, t) for t in texts]), texts)
        rows = combiner_rows(q, cands, feats, ranker, short, heads)
        scores = m.combiner.predict(rows)
        order = np.argsort(-scores, kind="stable")
        ranked = [Scored(cands[short[j]], rows[j], float(scores[j]), heads[j].span) for j in order]
        evidence = answerable_row(q, ranked)
        p = float(m.answerable.probability(evidence)[0])
        return Reading(q, ranked, p, evidence, cands)


def _retrieved(cands: Sequence[Candidate], hits: Sequence[Hit]) -> list[Retrieved]:
    info: dict[str, Retrieved] = {}
    for h in hits:
        info.setdefault(h.chunk.id, Retrieved(h.score, h.dense_rank, h.lexical_rank))
    return [info[c.chunk.id] for c in cands]


def combiner_rows(
    q: QuestionInfo,
    cands: Sequence[Candidate],
    feats: np.ndarray,
    ranker: np.ndarray,
    short: Sequence[int],
    heads: Sequence[Any],
) -> np.ndarray:
    """The ``COMBINER`` rows of the shortlisted candidates: their features plus the ranker's and heads' outputs."""
    n = len(short)
    extra = np.zeros((n, len(COMBINER_EXTRA)), dtype=np.float32)
    r = ranker[list(short)]
    h = np.asarray([x.logit for x in heads], dtype=np.float32)
    r_rank = np.empty(n)
    r_rank[np.argsort(-r, kind="stable")] = np.arange(n)
    h_rank = np.empty(n)
    h_rank[np.argsort(-h, kind="stable")] = np.arange(n)
    texts = [normalise(c.text) for c in cands]
    q_terms = set(normalise(q.text).split())
    col = {name: i for i, name in enumerate(COMBINER_EXTRA)}
    for j, i in enumerate(short):
        head = heads[j]
        phrase = cands[i].text[head.span[0] : head.span[1]]
        norm = normalise(phrase)
        words = norm.split()
        extra[j, col["ranker"]] = r[j]
        extra[j, col["ranker_rel"]] = r[j] - r.max()
        extra[j, col["ranker_rank"]] = r_rank[j]
        extra[j, col["head"]] = h[j]
        extra[j, col["head_rel"]] = h[j] - h.max()
        extra[j, col["head_rank"]] = h_rank[j]
        extra[j, col["span_score"]] = head.span_score
        extra[j, col["span_novel"]] = sum(w not in q_terms for w in words) / len(words) if words else 0.0
        extra[j, col["span_shape"]] = span_shape(phrase, q.kind)
        extra[j, col["span_recur"]] = _recurrence(norm, cands, texts) if words else 0
        extra[j, col["span_words"]] = len(words)
    return np.hstack([feats[list(short)], extra])


def _recurrence(phrase: str, cands: Sequence[Candidate], texts: Sequence[str]) -> int:
    """In how many articles of the context the phrase appears (agreement between sources)."""
    pattern = re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)")
    return len({c.article_id for c, t in zip(cands, texts, strict=True) if pattern.search(t)})


def span_shape(phrase: str, kind: Kind) -> float:
    """Whether a phrase is the kind of thing the question asks for (1), plausibly (0.5), or not (0)."""
    if not phrase.strip():
        return 0.0
    if kind is Kind.NUMBER:
        return float(bool(_NUMBER.search(phrase)))
    if kind is Kind.DATE:
        return float(bool(_DATE.search(phrase)))
    if kind in {Kind.PERSON, Kind.PLACE}:
        return 1.0 if phrase[:1].isupper() else 0.0
    if kind is Kind.ENTITY:
        return 1.0 if phrase[:1].isupper() or _NUMBER.search(phrase) else 0.5
    return 0.5


def answerable_row(q: QuestionInfo, ranked: Sequence[Scored]) -> np.ndarray:
    """The ``ANSWERABLE`` evidence row for the best candidate of a reading."""
    row = np.zeros(len(ANSWERABLE), dtype=np.float32)
    col = {name: i for i, name in enumerate(ANSWERABLE)}
    row[col[f"kind_{q.kind.value}"]] = 1.0
    row[col["question_terms"]] = len(q.weights)
    if not ranked:
        row[col["top"]] = -10.0
        return row
    f = {name: i for i, name in enumerate(COMBINER)}
    top = ranked[0].features
    heads = np.asarray([s.features[f["head"]] for s in ranked])
    row[col["top"]] = ranked[0].score
    row[col["margin"]] = ranked[0].score - (ranked[1].score if len(ranked) > 1 else ranked[0].score - 5.0)
    row[col["top_ranker"]] = top[f["ranker"]]
    row[col["top_head"]] = top[f["head"]]
    row[col["max_head"]] = heads.max()
    row[col["head_margin"]] = heads.max() - (np.sort(heads)[-2] if len(heads) > 1 else heads.max() - 5.0)
    row[col["top_span_score"]] = top[f["span_score"]]
    row[col["top_span_recur"]] = top[f["span_recur"]]
    row[col["top_span_shape"]] = top[f["span_shape"]]
    for name in ("cov", "rare_cov", "names_cov", "focus", "article_cov", "title_cov"):
        row[col[f"top_{name}"]] = top[f[name]]
    row[col["n_strong"]] = float(sum(s.score > ranked[0].score - 1.0 for s in ranked))
    return row
