"""Which of a story's sentences a reader most needs: a learned salience model for the extractive briefer.

A logistic regression over shallow features of each candidate sentence (its position and article, the names,
figures and rare words it holds, how central it is to the story, how much of the story's vocabulary it covers,
how newsworthy it reads, and the story's own signals) gives the probability that the sentence states a fact a
weekly news quiz asks about. ``rag train-briefer`` fits it on the RealTime QA training weeks (a sentence is
positive when it holds the gold answer of one of its week's questions) and writes ``rag/models/briefer.json``,
pinned here by sha256; at run time it is NumPy only. The briefer opens each story with the fresh lede of best
news score times salience (``rag.brief.brief_extractive.opener``) and chooses the rest by what a sentence adds
to it times its salience (``rag.brief.brief_extractive.pick``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.brief import sentence_quality
from rag.errors import ModelFileError
from rag.read.pinned import pinned_json
from rag.read.reader import Logistic
from rag.text import terms

if TYPE_CHECKING:
    from rag.brief.brief_extractive import Candidate
    from rag.brief.stories import Story

BRIEFER_PATH = Path(__file__).parent.parent / "models" / "briefer.json"
#: sha256 of the shipped briefer.json: a retrained model ships only by changing this line.
BRIEFER_SHA256 = "6ecf5015df348d38bbb50c658d7f9868ab8c6bcf6d5d79f50553af1f1f9aa025"
#: What the model sees of a candidate sentence (order matters: it is the artifact's column order).
FEATURES = [
    "pos", "pos0", "logpos", "art", "si", "logsi", "words", "logwords", "names", "digit", "numtok", "dated",
    "background", "leans", "quote", "central", "gain", "gain_ratio", "news", "news_ratio", "opener", "age",
    "idf_mean", "idf_max", "recur", "headline_overlap", "outlets", "articles", "recency", "prominence",
    "story_names", "story_score", "candidates", "capitalised",
]  # fmt: skip
NAME = re.compile(r"(?<=[a-z,;:] )[A-Z][\w’'-]+")


def term_weights(
    story: Story, idf: Callable[[str], float], max_articles: int
) -> tuple[dict[str, float], dict[str, int]]:
    """The story's important words: how many of its articles use each (``tf``), times how rare it is in the
    store, doubled for figures and half as much again for names."""
    tf: dict[str, int] = {}
    for a in story.articles[:max_articles]:
        for t in set(terms(a.title + " " + a.text)):
            tf[t] = tf.get(t, 0) + 1
    names = {t for a in story.articles[:max_articles] for t in terms(" ".join(NAME.findall(a.text)))}
    weight = {
        t: tf[t] * min(max(idf(t), 0.5), 8.0) * (2.0 if t[:1].isdigit() else 1.5 if t in names else 1.0) for t in tf
    }
    return weight, tf


def rows(
    story: Story,
    rank: int,
    cands: Sequence[Candidate],
    words: Sequence[set[str]],
    central: np.ndarray,
    news: Sequence[float],
    opener: int,
    headline: str,
    until: dt.date,
    idf: Callable[[str], float],
    max_articles: int,
    weights: tuple[dict[str, float], dict[str, int]],
) -> np.ndarray:
    """One row of ``FEATURES`` per candidate of ``story`` (the ``rank``-th of the brief): ``words`` are the
    candidates' terms, ``central`` their cosine to the story's centroid, ``news`` their ``news_score``,
    ``opener`` the index of the chosen opener and ``weights`` the story's ``term_weights``."""
    weight, tf = weights
    n_articles = min(len(story.articles), max_articles)
    head_terms = set(terms(headline))
    gains = [sum(weight.get(t, 0.0) for t in w) / max(1.0, len(w)) ** 0.5 for w in words]
    top_gain, top_news = max(gains, default=1.0) or 1.0, max(news, default=1.0) or 1.0
    sig = story.signals
    out = []
    for k, c in enumerate(cands):
        s, w = c.text, words[k]
        n_words = max(1, len(s.split()))
        idfs = [idf(t) for t in w] or [0.0]
        recur = float(np.mean([(tf.get(t, 1) - 1) / (n_articles - 1) for t in w])) if w and n_articles > 1 else 0.0
        age = (until - c.article.published).days if c.article.published else 7
        out.append(
            [
                c.position, float(c.position == 0), math.log1p(c.position), story.articles.index(c.article), rank,
                math.log1p(rank), n_words, math.log(n_words), len(set(NAME.findall(s))),
                float(any(ch.isdigit() for ch in s)), sum(any(ch.isdigit() for ch in t) for t in s.split()),
                float(sentence_quality.dated_now(s)), float(sentence_quality.background(s, until.year)),
                float(sentence_quality.leans_on_context(s)), float(bool(sentence_quality.quotations(s))),
                float(central[k]), gains[k], gains[k] / top_gain, news[k],
                news[k] / top_news, float(k == opener), age, float(np.mean(idfs)), float(np.max(idfs)), recur,
                len(w & head_terms) / max(1, len(head_terms)), sig.outlets if sig else 1, sig.articles if sig else 1,
                sig.recency if sig else 0.0, sig.prominence if sig else 0.0, sig.names if sig else 0,
                sig.score if sig else 0.0, len(cands),
                sum(t[:1].isupper() for t in s.split()[1:]) / max(1, n_words - 1),
            ]
        )  # fmt: skip
    return np.asarray(out, dtype=np.float64).reshape(len(cands), len(FEATURES))


class Salience:
    """The fitted model: ``probability(rows)`` for rows of ``FEATURES``."""

    def __init__(self, model: Logistic, meta: dict[str, Any] | None = None) -> None:
        self.model = model
        self.meta = meta or {}

    def probability(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros(0)
        return self.model.probability(x)

    def to_dict(self, meta: dict[str, Any]) -> dict[str, Any]:
        return {"format": 1, "features": FEATURES, "model": self.model.to_dict(), "meta": meta}

    @classmethod
    def load(cls, path: Path = BRIEFER_PATH, expected_sha256: str = BRIEFER_SHA256) -> Salience:
        data, _ = pinned_json(
            path, expected_sha256, what="briefer model", command="rag train-briefer", pin_in="rag/brief/salience.py"
        )
        if data.get("features") != FEATURES:
            raise ModelFileError(
                f"briefer model {path} was trained on other features; rebuild it with `rag train-briefer`"
            )
        return cls(Logistic.from_dict(data["model"]), data.get("meta", {}))


@lru_cache(maxsize=1)
def shipped() -> Salience:
    """The shipped model (read once per process; a missing or changed file is a ``ModelFileError``)."""
    return Salience.load()
