"""Gradient-boosted trees as flat arrays: evaluated with NumPy at run time (no LightGBM needed), converted from
LightGBM's JSON dump by ``rag train-reader``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Forest:
    """All trees' nodes in one array set; a leaf has ``feature == -1`` and its output in ``value``."""

    feature: np.ndarray  #: int32, split feature per node (-1 for a leaf)
    threshold: np.ndarray  #: float64, go left when ``x[feature] <= threshold``
    left: np.ndarray  #: int32, global node index
    right: np.ndarray
    value: np.ndarray  #: float64, leaf output (0 for inner nodes)
    roots: np.ndarray  #: int32, the root node of each tree
    depth: int  #: the deepest path, so evaluation knows when every row has reached a leaf
    n_features: int

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The summed leaf outputs (raw scores) for each row of ``x``."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        if not len(x):
            return np.zeros(0)
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        for _ in range(self.depth):
            feat = self.feature[node]
            inner = feat >= 0
            if not inner.any():
                break
            go_left = x[rows, np.where(inner, feat, 0)] <= self.threshold[node]
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
        return self.value[node].sum(axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature.tolist(),
            "threshold": [float(t) for t in self.threshold],
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "value": [float(v) for v in self.value],
            "roots": self.roots.tolist(),
            "depth": self.depth,
            "n_features": self.n_features,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Forest:
        return cls(
            np.asarray(data["feature"], dtype=np.int32),
            np.asarray(data["threshold"], dtype=np.float64),
            np.asarray(data["left"], dtype=np.int32),
            np.asarray(data["right"], dtype=np.int32),
            np.asarray(data["value"], dtype=np.float64),
            np.asarray(data["roots"], dtype=np.int32),
            int(data["depth"]),
            int(data["n_features"]),
        )

    @classmethod
    def from_lightgbm(cls, dump: dict[str, Any]) -> Forest:
        """From ``Booster.dump_model()`` (numerical splits, trained with ``use_missing=False``)."""
        feature: list[int] = []
        threshold: list[float] = []
        left: list[int] = []
        right: list[int] = []
        value: list[float] = []
        roots: list[int] = []
        deepest = 0

        def add(node: dict[str, Any], depth: int) -> int:
            nonlocal deepest
            deepest = max(deepest, depth)
            i = len(feature)
            feature.append(-1)
            threshold.append(0.0)
            left.append(i)
            right.append(i)
            value.append(0.0)
            if "leaf_value" in node:
                value[i] = float(node["leaf_value"])
                return i
            if node.get("decision_type", "<=") != "<=":
                raise ValueError(f"unsupported split {node.get('decision_type')!r}: only numerical <= splits")
            feature[i] = int(node["split_feature"])
            threshold[i] = float(node["threshold"])
            left[i] = add(node["left_child"], depth + 1)
            right[i] = add(node["right_child"], depth + 1)
            return i

        for tree in dump["tree_info"]:
            roots.append(add(tree["tree_structure"], 0))
        return cls(
            np.asarray(feature, dtype=np.int32),
            np.asarray(threshold, dtype=np.float64),
            np.asarray(left, dtype=np.int32),
            np.asarray(right, dtype=np.int32),
            np.asarray(value, dtype=np.float64),
            np.asarray(roots, dtype=np.int32),
            deepest,
            int(dump["max_feature_idx"]) + 1,
        )
