"""Fitting the reader's parts: the ranking forests (LightGBM, needed only here: `pip install '.[train]'`), the
pair heads and the answerability logistic regression (NumPy, full-batch Adam). Deterministic for a seed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.errors import ConfigError
from rag.pairhead import TOKEN_DIM, VECTOR_DIM, HeadWeights
from rag.reader import Logistic
from rag.trees import Forest

FOREST_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "use_missing": False,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbose": -1,
}


def fit_forest(
    x: np.ndarray, y: np.ndarray, groups: Sequence[int], rounds: int, seed: int, objective: str = "lambdarank"
) -> Forest:
    """Learning to rank within each question's candidates (``groups`` = candidates per question)."""
    try:
        import lightgbm as lgb
    except ImportError:
        raise ConfigError("training the reader needs LightGBM: pip install -e '.[train]'") from None
    params = {**FOREST_PARAMS, "objective": objective, "seed": seed}
    if objective == "lambdarank":
        params |= {"lambdarank_truncation_level": 10, "eval_at": [1, 3]}
    data = lgb.Dataset(x, (y > 0).astype(int), group=list(groups) if objective == "lambdarank" else None)
    booster = lgb.train(params, data, num_boost_round=rounds)
    return Forest.from_lightgbm(booster.dump_model())


@dataclass
class HeadData:
    """Training examples for the pair heads: pooled vectors, token rows and, for positives, the answer tokens."""

    vectors: np.ndarray  #: (n, VECTOR_DIM)
    tokens: list[np.ndarray]  #: per example: (sentence tokens, TOKEN_DIM)
    labels: np.ndarray  #: 1 when the sentence holds the answer
    spans: list[tuple[int, int] | None]  #: answer's first and last token (positives with a locatable answer)


class _Adam:
    def __init__(self, params: list[np.ndarray], lr: float) -> None:
        self.params, self.lr, self.t = params, lr, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            p -= self.lr * (m / (1 - 0.9**self.t)) / (np.sqrt(v / (1 - 0.999**self.t)) + 1e-8)


def _standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean.astype(np.float32), np.where(scale > 1e-6, scale, 1.0).astype(np.float32)


def fit_head(
    data: HeadData, *, hidden: int = 64, epochs: int = 60, lr: float = 1e-3, l2: float = 1e-3, seed: int = 0
) -> HeadWeights:
    """Relevance MLP (binary cross-entropy, positives re-weighted) and span head (start/end softmax)."""
    rng = np.random.default_rng(seed)
    x = data.vectors.astype(np.float32)
    mean, scale = _standardiser(x)
    xs = (x - mean) / scale
    y = data.labels.astype(np.float32)
    pos_weight = float((len(y) - y.sum()) / max(y.sum(), 1.0))
    w1 = (rng.standard_normal((VECTOR_DIM, hidden)) * np.sqrt(2.0 / VECTOR_DIM)).astype(np.float32)
    b1 = np.zeros(hidden, dtype=np.float32)
    w2 = (rng.standard_normal(hidden) * np.sqrt(1.0 / hidden)).astype(np.float32)
    b2 = np.zeros(1, dtype=np.float32)
    opt = _Adam([w1, b1, w2, b2], lr)
    sample_w = np.where(y > 0, pos_weight, 1.0).astype(np.float32)
    sample_w /= sample_w.mean()
    batch = 256
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            xb, yb, wb = xs[idx], y[idx], sample_w[idx]
            z1 = xb @ w1 + b1
            a1 = np.maximum(z1, 0.0)
            logit = a1 @ w2 + b2[0]
            p = 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))
            g = (p - yb) * wb / len(idx)
            gw2 = a1.T @ g + l2 * w2
            gb2 = np.array([g.sum()], dtype=np.float32)
            ga1 = np.outer(g, w2) * (z1 > 0)
            gw1 = xb.T @ ga1 + l2 * w1
            gb1 = ga1.sum(axis=0)
            opt.step([gw1, gb1, gw2, gb2])

    # The span head: a linear start/end scorer over the tokens of positive sentences.
    located = [(t, s) for t, s in zip(data.tokens, data.spans, strict=True) if s is not None and len(t)]
    all_tokens = np.vstack([t for t, _ in located]) if located else np.zeros((1, TOKEN_DIM), dtype=np.float32)
    t_mean, t_scale = _standardiser(all_tokens)
    ws = np.zeros((TOKEN_DIM, 2), dtype=np.float32)
    bs = np.zeros(2, dtype=np.float32)
    sopt = _Adam([ws, bs], lr)
    for _ in range(epochs):
        for k in rng.permutation(len(located)):
            rows, (first, last) = located[k]
            r = (rows - t_mean) / t_scale
            logits = r @ ws + bs
            grad = np.zeros_like(logits)
            for col, target in ((0, first), (1, last)):
                e = np.exp(logits[:, col] - logits[:, col].max())
                grad[:, col] = e / e.sum()
                grad[target, col] -= 1.0
            sopt.step([r.T @ grad / 8 + l2 * ws, grad.sum(axis=0) / 8])
    return HeadWeights(mean, scale, w1, b1, w2, float(b2[0]), t_mean, t_scale, ws, bs)


def head_arrays(w: HeadWeights) -> dict[str, np.ndarray]:
    """The weights as float32 arrays for ``np.savez`` (``HeadWeights.from_npz`` reads them back)."""
    return {
        "mean": w.mean,
        "scale": w.scale,
        "w1": w.w1,
        "b1": w.b1,
        "w2": w.w2,
        "b2": np.asarray(w.b2, dtype=np.float32),
        "t_mean": w.t_mean,
        "t_scale": w.t_scale,
        "ws": w.ws,
        "bs": w.bs,
    }


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, steps: int = 3000, lr: float = 0.05) -> Logistic:
    """L2-regularised logistic regression on standardised features (full-batch Adam): calibrated by design."""
    mean, scale = _standardiser(x.astype(np.float64))
    xs = (x - mean) / scale
    coef = np.zeros(x.shape[1])
    intercept = np.zeros(1)
    opt = _Adam([coef, intercept], lr)
    n = len(y)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xs @ coef + intercept[0])))
        g = p - y
        opt.step([xs.T @ g / n + l2 * coef / n, np.array([g.mean()])])
    return Logistic(mean.astype(np.float64), scale.astype(np.float64), coef, float(intercept[0]))
