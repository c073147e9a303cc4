"""Fitting the reader's parts: the ranking forests (LightGBM, needed only here: `pip install '.[train]'`) and the
answerability logistic regression (NumPy, full-batch Adam). Deterministic for a seed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.errors import ConfigError
from rag.read.reader import Logistic
from rag.read.trees import Forest

FOREST_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 7,
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
    ranking = objective in {"lambdarank", "rank_xendcg"}
    if objective == "lambdarank":
        params |= {"lambdarank_truncation_level": 10, "eval_at": [1, 3]}
    data = lgb.Dataset(x, (y > 0).astype(int), group=list(groups) if ranking else None)
    booster = lgb.train(params, data, num_boost_round=rounds)
    return Forest.from_lightgbm(booster.dump_model())


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
