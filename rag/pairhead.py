"""The reader's heads over MiniLM pair states: does this sentence answer the question (a small MLP on fixed
poolings of the (question, sentence) token states), and which words of it are the answer (start/end logits per
token). Fixed poolings keep training cheap and inference pure NumPy."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.embed import PairStates

MAX_SPAN_TOKENS = 12
_EPS = 1e-6


@dataclass(frozen=True)
class Pooled:
    """Per pair: a fixed-size vector for the relevance head, and per-token rows for the span head."""

    vectors: np.ndarray  #: (pairs, VECTOR_DIM)
    tokens: list[np.ndarray]  #: per pair: (sentence tokens, TOKEN_DIM)


HIDDEN = 384
VECTOR_DIM = 6 * HIDDEN + 5
TOKEN_DIM = 2 * HIDDEN + 2


def pool(states: PairStates) -> Pooled:
    """Question-aware poolings of each pair's token states: the [CLS] state, the sentence's mean, the mean of its
    tokens least like any question token (what the sentence adds), their products with the question's mean, the
    sentence's max, and how well the question is covered token by token."""
    vectors = np.zeros((len(states.states), VECTOR_DIM), dtype=np.float32)
    tokens: list[np.ndarray] = []
    for i, (h, seg) in enumerate(zip(states.states, states.segments, strict=True)):
        h = h.astype(np.float32)
        a, b = h[1 : seg - 1], h[seg:-1]
        if not len(b):
            tokens.append(np.zeros((0, TOKEN_DIM), dtype=np.float32))
            continue
        if not len(a):
            a = h[:1]
        an = a / (np.linalg.norm(a, axis=1, keepdims=True) + _EPS)
        bn = b / (np.linalg.norm(b, axis=1, keepdims=True) + _EPS)
        sim = an @ bn.T
        q_cover, s_match = sim.max(axis=1), sim.max(axis=0)
        novelty = np.clip(1.0 - s_match, 0.0, None)
        weights = novelty / (novelty.sum() + _EPS)
        qm, sm, nm = a.mean(axis=0), b.mean(axis=0), weights @ b
        scalars = [q_cover.mean(), q_cover.min(), np.percentile(q_cover, 25), s_match.mean(), len(b) / 64]
        vectors[i] = np.concatenate([h[0], sm, nm, qm * sm, qm * nm, b.max(axis=0), np.asarray(scalars)])
        tokens.append(np.concatenate([b, b * qm, novelty[:, None], s_match[:, None]], axis=1).astype(np.float32))
    return Pooled(vectors, tokens)


@dataclass(frozen=True)
class HeadWeights:
    """The trained parameters (see ``rag train-reader``)."""

    mean: np.ndarray  #: input standardisation of the vectors
    scale: np.ndarray
    w1: np.ndarray  #: (VECTOR_DIM, hidden)
    b1: np.ndarray
    w2: np.ndarray  #: (hidden,)
    b2: float
    t_mean: np.ndarray  #: standardisation of the token rows
    t_scale: np.ndarray
    ws: np.ndarray  #: (TOKEN_DIM, 2): start and end logits
    bs: np.ndarray

    @classmethod
    def from_npz(cls, data: dict[str, np.ndarray]) -> HeadWeights:
        f = {k: np.asarray(data[k], dtype=np.float32) for k in data}
        return cls(
            f["mean"],
            f["scale"],
            f["w1"],
            f["b1"],
            f["w2"],
            float(f["b2"]),
            f["t_mean"],
            f["t_scale"],
            f["ws"],
            f["bs"],
        )


@dataclass(frozen=True)
class HeadOutput:
    logit: float  #: relevance: does the sentence answer the question
    span: tuple[int, int]  #: the answer's character offsets in the sentence ((0, 0) if none)
    span_score: float  #: start + end logit of that span


def relevance(weights: HeadWeights, vectors: np.ndarray) -> np.ndarray:
    x = (vectors - weights.mean) / weights.scale
    return np.maximum(x @ weights.w1 + weights.b1, 0.0) @ weights.w2 + weights.b2


def span_logits(weights: HeadWeights, rows: np.ndarray) -> np.ndarray:
    """(tokens, 2): start and end logits."""
    return ((rows - weights.t_mean) / weights.t_scale) @ weights.ws + weights.bs


def best_span(logits: np.ndarray) -> tuple[int, int, float]:
    """The highest-scoring (start, end) token pair with start <= end < start + MAX_SPAN_TOKENS."""
    if not len(logits):
        return 0, -1, float("-inf")
    start, end = logits[:, 0], logits[:, 1]
    n = len(start)
    total = start[:, None] + end[None, :]
    i, j = np.indices((n, n))
    total = np.where((j >= i) & (j < i + MAX_SPAN_TOKENS), total, -np.inf)
    flat = int(np.argmax(total))
    return flat // n, flat % n, float(total.flat[flat])


def char_span(sentence: str, offsets: list[tuple[int, int]], first: int, last: int) -> tuple[int, int]:
    """Token span → character span in the sentence, widened to whole words."""
    if last < first or last >= len(offsets):
        return 0, 0
    lo, hi = offsets[first][0], offsets[last][1]
    while lo > 0 and re.match(r"[\w’'-]", sentence[lo - 1]):
        lo -= 1
    while hi < len(sentence) and re.match(r"[\w’'-]", sentence[hi]):
        hi += 1
    return lo, hi


def run(weights: HeadWeights, states: PairStates, sentences: list[str]) -> list[HeadOutput]:
    """Relevance logit and answer span for each (question, sentence) pair."""
    pooled = pool(states)
    logits = relevance(weights, pooled.vectors) if len(sentences) else np.zeros(0)
    out = []
    for i, sentence in enumerate(sentences):
        first, last, score = best_span(span_logits(weights, pooled.tokens[i]))
        q_len = states.segments[i] - 2
        offsets = states.offsets[i][q_len:]
        out.append(HeadOutput(float(logits[i]), char_span(sentence, offsets, first, last), score))
    return out
