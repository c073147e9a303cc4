"""The reader's cross-encoder: the shipped files load under their pinned hashes, the real model reads a question
and its sentences, and the reader lets its scores choose the answer's sentence among the trees' best."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.errors import ModelFileError
from rag.read.cross_encoder import CROSS_PATH, CROSS_SHA256, CrossConfig, CrossEncoder, rescored, shipped
from rag.read.reader import Reader
from tests.test_reader import _hits


def test_shipped_cross_encoder_loads_and_matches_its_pinned_hashes() -> None:
    assert hashlib.sha256(CROSS_PATH.read_bytes()).hexdigest() == CROSS_SHA256
    config = CrossConfig.load()
    assert config.onnx.is_file()
    assert hashlib.sha256(config.onnx.read_bytes()).hexdigest() == config.onnx_sha256
    assert config.top >= 1 and config.weight > 0 and 16 <= config.max_length <= 256
    assert config.meta["sha256"] == CROSS_SHA256


def test_changed_cross_encoder_files_are_refused(tmp_path: Path) -> None:
    settings = json.loads(CROSS_PATH.read_bytes())
    changed = tmp_path / "reader-ce.json"
    changed.write_text(json.dumps({**settings, "weight": 9.0}))
    with pytest.raises(ModelFileError, match="sha256"):
        CrossConfig.load(changed)
    # Settings that pin a model file which is not the one beside them: refused at first use.
    shutil.copy(CROSS_PATH, tmp_path / "reader-ce.json")
    (tmp_path / settings["onnx"]).write_bytes(b"not the model")
    config = CrossConfig.load(tmp_path / "reader-ce.json")
    with pytest.raises(ModelFileError, match="sha256"):
        CrossEncoder(config).scores("Who won?", ["Ronald Kiger won."])


@pytest.mark.parametrize(
    ("question", "sentences"),
    [
        (
            "Who won the 2024 Florida Python Challenge?",
            [
                "Ronald Kiger won the 2024 Florida Python Challenge after removing 20 pythons from the Everglades.",
                "The Florida Python Challenge is held every summer in the Everglades, officials said.",
                "Burmese pythons were first seen in Florida in the 1980s.",
            ],
        ),
        (
            "Which ingredient is suspected in the McDonald's E. coli outbreak?",
            [
                "Federal officials said slivered onions served on Quarter Pounders are the likely source of the "
                "outbreak.",
                "McDonald's said it was working quickly to determine the contaminated ingredient.",
                "The company operates more than 13,000 restaurants in the United States.",
            ],
        ),
    ],
)
def test_the_shipped_model_prefers_the_sentence_that_answers(question: str, sentences: list[str]) -> None:
    scores = shipped().scores(question, sentences)
    assert scores.shape == (len(sentences),) and np.isfinite(scores).all()
    assert int(np.argmax(scores)) == 0
    assert shipped().scores(question, []).shape == (0,)


def test_long_sentences_are_cut_to_the_configured_length() -> None:
    config = dataclasses.replace(CrossConfig.load(), max_length=24)
    long = "Ronald Kiger won the challenge. " + "The pythons were long and heavy. " * 40
    scores = CrossEncoder(config).scores("Who won the Python Challenge?", [long, "Nobody won."])
    assert np.isfinite(scores).all()
    # A question longer than the whole budget is cut as well, not an error.
    question = "Who won the Python Challenge " + "in the Florida Everglades " * 20 + "?"
    assert np.isfinite(CrossEncoder(config).scores(question, [long, "Nobody won."])).all()


def test_rescored_adds_weighted_z_scores_to_the_first_sentences_and_the_floor_to_the_rest() -> None:
    ranker = np.array([0.0, 5.0, 4.0, 3.0, -1.0])
    short = [1, 2, 3]
    out = rescored(ranker, short, np.array([1.0, 3.0]), weight=2.0)
    # z of (1, 3) is (-1, +1): sentence 2 overtakes sentence 1; sentence 3 gets the lowest adjustment.
    assert out[1] == pytest.approx(5.0 - 2.0, abs=1e-4)
    assert out[2] == pytest.approx(4.0 + 2.0, abs=1e-4)
    assert out[3] == pytest.approx(3.0 - 2.0, abs=1e-4)
    assert out[0] == 0.0 and out[4] == -1.0  # not shortlisted: untouched
    assert rescored(ranker, short, np.zeros(0), 2.0).tolist() == ranker.tolist()
    # Near-identical scores stay near-identical: their spread is not blown up to one.
    close = rescored(ranker, short, np.array([0.10, 0.12]), weight=2.0)
    assert close[1] == pytest.approx(5.0 - 0.02, abs=1e-6) and close[2] == pytest.approx(4.0 + 0.02, abs=1e-6)


class _Prefers(CrossEncoder):
    """A cross-encoder that rates sentences holding one word highest, and records what it was asked."""

    def __init__(self, word: str) -> None:
        super().__init__(CrossConfig.load())
        self.word = word
        self.asked: list[list[str]] = []

    def scores(self, question: str, texts: Sequence[str]) -> np.ndarray:
        self.asked.append(list(texts))
        return np.array([5.0 if self.word in t else 0.0 for t in texts], dtype=np.float32)


def test_the_reader_lets_the_cross_encoder_choose_among_the_trees_best() -> None:
    text = (
        "Florida wildlife officials announced the results of the 2024 Florida Python Challenge on Monday. "
        "Ronald Kiger of Fort Myers won the grand prize of $10,000 after removing 20 Burmese pythons. "
        "Amy Siewe of Naples won the professional category of the 2024 Florida Python Challenge with 19 pythons. "
        "The competition ran for ten days in July across the Everglades."
    )
    question = "Who won the 2024 Florida Python Challenge?"
    trees = Reader(rerank=False).read(question, _hits(text))
    assert trees.best is not None and "Siewe" in trees.best.text  # it repeats the question's words
    cross = _Prefers("Kiger")
    reread = Reader(cross=cross).read(question, _hits(text))
    assert reread.best is not None and "Kiger" in reread.best.text
    assert len(cross.asked) == 1 and 1 <= len(cross.asked[0]) <= cross.config.top
    # The answerability model reads the trees' own scores: the cross-encoder does not move the probability.
    assert reread.answerable == pytest.approx(trees.answerable)


def test_a_single_shortlisted_sentence_is_not_sent_to_the_cross_encoder() -> None:
    cross = _Prefers("Kiger")
    text = "Ronald Kiger of Fort Myers won the 2024 Florida Python Challenge after removing 20 Burmese pythons."
    reading = Reader(cross=cross).read("Who won the 2024 Florida Python Challenge?", _hits(text))
    assert reading.best is not None and "Kiger" in reading.best.text
    assert cross.asked == []
