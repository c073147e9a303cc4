"""`rag train-reader` end to end on a tiny synthetic dataset: it ingests, fits every stage, writes an artifact
that loads with the hash it prints, and the model card; no network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.read.reader import Reader, ReaderModel
from tests.conftest import run_cli
from tests.quiz_dataset import quiz_dataset

pytest.importorskip("lightgbm")


@pytest.mark.slow
def test_train_reader_command_on_a_tiny_dataset(tmp_path: Path) -> None:
    dataset = quiz_dataset(tmp_path)
    out = tmp_path / "models"
    proc = run_cli(tmp_path, "train-reader", "--dataset", str(dataset), "--out", str(out), "--folds", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    for name in ("reader.json", "READER.md"):
        assert (out / name).is_file()
    model = ReaderModel.load(out / "reader.json", expected_sha256=result["sha256"])
    assert 0.0 <= model.threshold <= 1.0
    assert result["train"]["questions"] == 16
    card = (out / "READER.md").read_text(encoding="utf-8")
    assert "Licence" in card and "tiny" in card
    # The trained reader reads: on this easy set the winner's sentence comes first.
    from rag.read.reader_contexts import Context, collect  # noqa: F401  (the cache is what the command wrote)

    cached = sorted((tmp_path / "data" / "reader-cache").glob("contexts-*.json"))
    assert cached, "contexts are cached for a re-run"
    ctx = json.loads(cached[0].read_text(encoding="utf-8"))[0]
    from rag.read.reader_contexts import _context_from

    c = _context_from(ctx)
    reading = Reader(model).read(c.question, c.normal, c.date)
    assert reading.best is not None and c.answer in reading.best.text


def test_train_reader_refuses_a_folder_that_is_not_a_dataset(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "train-reader", "--dataset", str(tmp_path))
    assert proc.returncode == 2
    assert "not a dataset folder" in proc.stderr and "Traceback" not in proc.stderr
