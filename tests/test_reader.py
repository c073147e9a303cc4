"""The learned reader: the shipped artifact, its parts (trees, forms, heads), and training on a tiny set."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rag.errors import ModelFileError
from rag.read.candidates import Form, candidates, form_of
from rag.read.reader import READER_PATH, READER_SHA256, Reader, ReaderModel, restates
from rag.read.sentence_features import QuestionInfo
from rag.read.spans import spans_of
from rag.read.trees import Forest
from rag.types import Chunk, Hit


def test_shipped_reader_loads_and_matches_its_pinned_hash() -> None:
    raw = READER_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == READER_SHA256
    model = ReaderModel.load()
    assert model.meta["sha256"] == READER_SHA256
    assert 0.0 < model.threshold < 1.0 and model.shortlist > 0
    assert json.loads(raw)["meta"]["dataset"] == "realtimeqa-train"  # trained on the training weeks only


def test_a_changed_reader_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "reader.json"
    copy.write_bytes(READER_PATH.read_bytes())
    ReaderModel.load(copy)  # an exact copy loads
    copy.write_bytes(copy.read_bytes().replace(b'"threshold":', b'"threshold": ', 1))
    with pytest.raises(ModelFileError, match="sha256"):
        ReaderModel.load(copy)
    with pytest.raises(ModelFileError, match="missing"):
        ReaderModel.load(tmp_path / "absent.json")


def test_forest_matches_lightgbm() -> None:
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] > 0).astype(int)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 7, "use_missing": False, "verbose": -1, "seed": 1},
        lgb.Dataset(x, y),
        num_boost_round=25,
    )
    forest = Forest.from_lightgbm(booster.dump_model())
    test = rng.normal(size=(50, 6))
    assert np.allclose(forest.predict(test), booster.predict(test, raw_score=True), atol=1e-9)
    again = Forest.from_dict(json.loads(json.dumps(forest.to_dict())))
    assert np.array_equal(again.predict(test), forest.predict(test))
    with pytest.raises(ValueError, match="features"):
        forest.predict(np.zeros((2, 5)))


@pytest.mark.parametrize(
    ("sentence", "form"),
    [
        ("Ronald Kiger of Fort Myers won the $10,000 grand prize for capturing 20 pythons.", Form.PROSE),
        ("2024 Python Challenge Winner: Ronald Kiger", Form.HEADING),
        ("Will the Fed raise rates again?", Form.QUESTION),
        ("By Jane Doe, USA TODAY", Form.BYLINE),
        ("Seth Herald/AFP/Getty Images A street is blanketed by snow.", Form.CAPTION),
        ("• 2 cups of flour, sifted.", Form.FRAGMENT),
        (": This new drink combines cranberry and merry flavours.", Form.FRAGMENT),
        ("Read more: the best deals this week.", Form.BOILERPLATE),
        ("She told USA TODAY that her post was based on a few stories she found.", Form.PROSE),
        ("“We will not back down,” the governor said.", Form.PROSE),
    ],
)
def test_sentence_forms(sentence: str, form: Form) -> None:
    assert form_of(sentence) is form


def test_candidates_are_distinct_sentences_with_ledes_ranked_by_their_article() -> None:
    text = "Officials confirmed the outbreak on Tuesday. Slivered onions are the suspected source. More later."
    lede = Chunk("a:0", "a", 0, text, 0, len(text), "Outbreak")
    later = Chunk("a:1", "a", 1, text[45:], 45, len(text), "Outbreak")
    other = Chunk("b:0", "b", 0, "A different story about the weather in Ohio.", 0, 44, "Weather")
    hits = [Hit(other, 0.9, 1, 1), Hit(lede, 0.5), Hit(later, 0.5, 2, None)]
    cands = candidates(hits)
    texts = [c.text for c in cands]
    assert texts.count("Slivered onions are the suspected source.") == 1
    lede_cands = [c for c in cands if c.lede_added]
    assert lede_cands and all(c.rank == 1 for c in lede_cands)  # the rank of its article's best hit


def test_answer_phrases_are_names_numbers_dates_and_new_words() -> None:
    q = QuestionInfo.of("Who won the 2024 Florida Python Challenge?", lambda _t: 3.0)
    sentence = "Ronald Kiger of Fort Myers won $10,000 on Monday after removing 20 Burmese pythons."
    found = {(s.text, s.kind) for s in spans_of(sentence, 0, q)}
    assert ("Ronald Kiger of Fort Myers", "name") in found
    assert ("$10,000", "number") in found and ("Monday", "date") in found
    assert ("removing", "word") in found
    assert not any(text in {"won", "Python"} for text, _ in found)  # the question's own words are not answers


def _hits(text: str) -> list[Hit]:
    """One retrieved chunk of a dated test article holding ``text``."""
    chunk = Chunk("py:0", "py", 0, text, 0, len(text), "Python Challenge winner announced", "Test Wire")
    return [Hit(Chunk(**{**chunk.__dict__, "published": dt.date(2024, 8, 5)}), 1.0, 1, 1)]


def test_the_shipped_reader_finds_and_marks_an_answer() -> None:
    text = (
        "Florida wildlife officials announced the results of the 2024 Florida Python Challenge on Monday. "
        "Ronald Kiger of Fort Myers won the grand prize of $10,000 after removing 20 Burmese pythons. "
        "The competition ran for ten days in July across the Everglades."
    )
    question = "Who won the 2024 Florida Python Challenge?"
    trees = Reader(rerank=False).read(question, _hits(text))
    assert trees.best is not None and "Ronald Kiger" in trees.best.text
    assert "Kiger" in trees.best.answer_phrase
    # The int8 cross-encoder's scores differ between CPUs (ONNX Runtime's int8 kernels with and without VNNI): on
    # an AVX-512 VNNI machine it ranks the announcement above the winner here. It must keep the winner in its
    # two best, with the phrase marked, on any of them.
    shipped = Reader().read(question, _hits(text))
    kiger = next(s for s in shipped.ranked[:2] if "Ronald Kiger" in s.text)
    assert "Kiger" in kiger.answer_phrase


def test_a_follow_up_is_not_answered_with_the_previous_answers_sentence() -> None:
    text = (
        "Ronald Kiger of Fort Myers won the 2024 Florida Python Challenge after removing 20 Burmese pythons. "
        "Kiger took home the grand prize of $10,000 for the most pythons removed. "
        "The competition ran for ten days in July across the Everglades."
    )
    hits = _hits(text)
    question = "How much prize money did Ronald Kiger win in the Python Challenge?"
    first = "Ronald Kiger of Fort Myers won the 2024 Florida Python Challenge after removing 20 Burmese pythons."
    alone = Reader().read(question, hits)
    assert alone.best is not None
    follow = Reader().read(question, hits, seen={first})
    assert follow.best is not None and follow.best.text != first
    assert follow.answerable == pytest.approx(alone.answerable)  # it still counts as evidence
    # With nothing else to say, the same sentence may answer again.
    assert Reader().read(question, _hits(first), seen={first}).best is not None


def test_another_outlets_copy_of_the_previous_quote_counts_as_seen() -> None:
    first = (
        "The Centers for Disease Control and Prevention announced Tuesday that multiple agencies are investigating "
        "an E. coli outbreak linked to Quarter Pounder burgers at McDonald's."
    )
    copy = (
        "The Centers for Disease Control and Prevention and the Food and Drug Administration announced Tuesday that "
        "multiple public health agencies are investigating an E. coli outbreak linked to Quarter Pounder burgers "
        "sold at McDonald's across 10 states."
    )
    assert restates(first, {first}) and restates(copy, {first})
    assert not restates("Investigators suspect slivered onions served on the Quarter Pounders.", {first})
    assert not restates(copy, set())
