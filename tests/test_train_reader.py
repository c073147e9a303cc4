"""`rag train-reader` end to end on a tiny synthetic dataset: it ingests, fits every stage, writes an artifact
that loads with the hash it prints, and the model card; no network."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from rag.read.reader import Reader, ReaderModel
from tests.conftest import run_cli

pytest.importorskip("lightgbm")

_PEOPLE = ["Maria Lopez", "Ahmed Khan", "Julia Novak", "Peter Osei", "Lena Berg", "Tom Reyes", "Ana Silva", "Ken Ito"]
_EVENTS = ["chess open", "marathon", "spelling bee", "film festival", "robotics cup", "baking contest"]
_CITIES = ["Denver", "Austin", "Boston", "Tampa", "Fresno", "Omaha", "Dayton", "Salem"]


def _dataset(root: Path, n: int = 16) -> Path:
    rng = random.Random(7)
    articles, questions = [], []
    for i in range(n):
        person, event, city = rng.choice(_PEOPLE), rng.choice(_EVENTS), rng.choice(_CITIES)
        day = f"2024/0{1 + i % 8}/1{i % 9}"
        answer_id, other_id = f"rtqa-{i:04d}a", f"rtqa-{i:04d}b"
        prize = 1000 * (i + 2)
        articles.append(
            {
                "id": answer_id,
                "url": f"https://news.example.com/{i}/winner",
                "title": f"{city} {event} crowns a winner",
                "published": day,
                "authors": [],
                "text": f"The {city} {event} ended on Sunday after three days. {person} won the {city} {event} and "
                f"took home ${prize:,}. Organisers said {rng.randint(200, 900)} people entered this year.\n\n"
                f"The next {event} will be held in the spring.",
            }
        )
        articles.append(
            {
                "id": other_id,
                "url": f"https://news.example.com/{i}/weather",
                "title": f"Storms expected in {city}",
                "published": day,
                "authors": [],
                "text": f"Forecasters expect heavy storms in {city} this week. Residents of {city} were told to "
                f"prepare for flooding near the river.",
            }
        )
        questions.append(
            {
                "id": f"q{i}",
                "date": day,
                "source": "test",
                "question": f"Who won the {city} {event}?",
                "answer": person,
                "choices": [],
                "evidence_ids": [answer_id],
                "retrieved_ids": [answer_id, other_id],
            }
        )
    out = root / "tiny"
    out.mkdir(parents=True)
    (out / "articles.jsonl").write_text("\n".join(json.dumps(a) for a in articles) + "\n", encoding="utf-8")
    (out / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions) + "\n", encoding="utf-8")
    return out


@pytest.mark.slow
def test_train_reader_command_on_a_tiny_dataset(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
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
