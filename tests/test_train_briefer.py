"""The briefer's salience model: the shipped artifact loads with its pinned hash and is used; sentence choice
after the opener follows it without repeats; `rag train-briefer` trains end to end on a tiny synthetic dataset."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rag.brief import salience
from rag.brief.brief_extractive import Candidate, StoryCandidates, arrange, opener, pick
from rag.errors import ModelFileError
from rag.text import terms
from rag.types import Article
from tests.conftest import run_cli
from tests.quiz_dataset import quiz_dataset


def test_the_shipped_salience_model_loads_with_its_pinned_hash() -> None:
    raw = salience.BRIEFER_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == salience.BRIEFER_SHA256
    model = salience.shipped()
    assert json.loads(raw)["features"] == salience.FEATURES
    assert model.model.coef.shape == (len(salience.FEATURES),)
    p = model.probability(np.zeros((3, len(salience.FEATURES))))
    assert p.shape == (3,) and ((p > 0) & (p < 1)).all()


def test_a_changed_model_file_is_refused(tmp_path: Path) -> None:
    changed = tmp_path / "briefer.json"
    changed.write_bytes(salience.BRIEFER_PATH.read_bytes().replace(b'"format":1', b'"format":1 '))
    with pytest.raises(ModelFileError, match="rag train-briefer"):
        salience.Salience.load(changed)
    with pytest.raises(ModelFileError, match="missing"):
        salience.Salience.load(tmp_path / "absent.json")


def _story(texts: list[str], vecs: list[list[float]], news: list[float] | None = None) -> StoryCandidates:
    text = " ".join(texts)
    article = Article(id="a1", title="t", text=text, outlet="AP", published=dt.date(2024, 10, 2))
    cands, pos = [], 0
    for i, t in enumerate(texts):
        start = text.index(t, pos)
        cands.append(Candidate(0, article, start, start + len(t), i))
        pos = start + len(t)
    v = np.asarray(vecs, dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    words = [set(terms(c.text)) for c in cands]
    weight = {t: 1.0 for w in words for t in w}
    rows = np.zeros((len(cands), len(salience.FEATURES)))
    news = news or [1.0] + [0.05] * (len(cands) - 1)  # the first is the fresh lede
    return StoryCandidates(cands, v, news, 0, "t", rows, words, weight, np.zeros(len(cands)))


def test_after_the_opener_come_salient_sentences_that_add_words_never_a_near_repeat_or_a_restatement() -> None:
    sc = _story(
        [
            "Dockworkers strike at ports.",
            "Weather stayed mild downtown.",
            "Union demands wages rise.",
            "Union demands wages increase.",
            "Economists warn shortages loom.",
            "Dockworkers strike ports.",
        ],
        [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 1, 0.1, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1]],
    )
    p = np.array([0.1, 0.2, 0.9, 0.8, 0.5, 1.0])
    # The lede opens (its news score outweighs the others' salience); "increase" repeats the wage demand
    # (cosine ≥ 0.8); the last sentence, however salient, adds no word the opener lacks.
    assert pick(sc, p, n=3) == [0, 2, 4]
    assert pick(sc, p, n=1) == [0]
    assert pick(sc, p, n=9) == [0, 2, 4, 1]
    # Salience weighs what a sentence adds: made the least salient, the wage demand is told in its other words.
    assert pick(sc, np.array([0.1, 0.2, 0.05, 0.8, 0.5, 1.0]), n=3) == [0, 3, 4]


def test_the_opener_is_the_fresh_lede_a_reader_is_most_likely_asked_about() -> None:
    texts = [
        "Officials met on Tuesday about the port dispute.",
        "Dockworkers at 36 ports walked out on Tuesday, union leader Harold Daggett said.",
        "The union last struck in 1977, decades before the current contract.",
    ]
    vecs = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    # Two fresh ledes, the second a little less fresh but far more salient; the background sentence is the most
    # salient of all but no development (news score a fifth).
    sc = _story(texts, vecs, news=[1.0, 0.8, 0.2])
    p = np.array([0.2, 0.6, 0.9])
    assert opener(sc, p) == 1 and pick(sc, p, n=1) == [1]
    assert sc.opener == 0  # the news score's own choice, which the salience model sees as a feature
    # Equally salient, the fresher lede opens.
    assert opener(sc, np.array([0.5, 0.5, 0.5])) == 0
    # However salient, background never opens while the story has news ("in the history of" reads as background).
    sc.rows[2, salience.FEATURES.index("background")] = 1.0
    sc.news[2] = 1.0
    assert opener(sc, np.array([0.2, 0.6, 0.9])) == 1
    sc.rows[:, salience.FEATURES.index("background")] = 1.0  # all background: the best of it
    assert opener(sc, np.array([0.2, 0.6, 0.9])) == 2


def test_kept_sentences_are_read_opener_first_then_in_article_order() -> None:
    order = {"a [1]": (0, 0), "d [2]": (1, 3), "b [3]": (0, 5), "c [4]": (1, 0)}
    assert arrange(["a [1]", "d [2]", "b [3]", "c [4]"], order) == ["a [1]", "b [3]", "c [4]", "d [2]"]
    assert arrange(["d [2]", "a [1]"], order) == ["d [2]", "a [1]"]  # the opener stays first wherever it sits


@pytest.mark.slow
def test_train_briefer_command_on_a_tiny_dataset(tmp_path: Path) -> None:
    dataset = quiz_dataset(tmp_path)
    out = tmp_path / "models"
    proc = run_cli(tmp_path, "train-briefer", "--dataset", str(dataset), "--out", str(out), "--folds", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    model = salience.Salience.load(out / "briefer.json", expected_sha256=result["sha256"])
    assert result["train"]["weeks"] == 16 and result["train"]["questions"] == 16
    assert 0.0 <= result["train"]["coverage"] <= 1.0 and result["train"]["words"] > 0
    card = (out / "BRIEFER.md").read_text(encoding="utf-8")
    assert "Licence" in card and "tiny" in card and "out of fold" in card
    # On this set the winner's sentence (names, a figure) is the salient one in every week's story.
    assert result["train"]["auc"] > 0.5
    assert model.meta["positives"] > 0


def test_train_briefer_refuses_a_folder_that_is_not_a_dataset(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "train-briefer", "--dataset", str(tmp_path))
    assert proc.returncode == 2
    assert "not a dataset folder" in proc.stderr and "Traceback" not in proc.stderr
