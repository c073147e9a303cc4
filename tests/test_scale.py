"""`rag bench --scale` at a tiny size: it grows a store from a dataset's real chunks and vectors and reports
retrieval latency with and without filters, adding an article, a cold ask, memory and disk."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest

from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from rag.types import Filters
from tests.conftest import make_settings, run_cli, write

WORDS = (
    "council budget election storm ferry court ruling vote senator market shares rally protest drought "
    "harvest flood bridge school teacher hospital nurse airline strike union contract tariff port"
).split()


def _dataset(folder: Path) -> Path:
    rng = random.Random(3)
    articles, questions = [], []
    for i in range(6):
        paras = [
            " ".join(
                f"The {rng.choice(WORDS)} {rng.choice(WORDS)} in district {rng.randint(1, 99)} affected "
                f"{rng.randint(100, 9999)} people, officials said on day {i}."
                for _ in range(5)
            )
            for _ in range(4)
        ]
        outlet = ("cnn.com", "apnews.com")[i % 2]
        articles.append(
            {
                "id": f"t{i}",
                "url": f"https://{outlet}/story/{i}",
                "title": f"Report {i} on the {WORDS[i]}",
                "published": f"2024-10-{10 + i:02d}",
                "text": "\n\n".join(paras),
            }
        )
    for i in range(3):
        questions.append({"question": f"What happened with the {WORDS[i]}?", "date": f"2024/10/{20 + i}"})
    write(folder / "articles.jsonl", "\n".join(json.dumps(a) for a in articles) + "\n")
    write(folder / "questions.jsonl", "\n".join(json.dumps(q) for q in questions) + "\n")
    return folder


@pytest.mark.slow
def test_bench_scale_grows_a_store_from_real_chunks_and_measures_it(tmp_path: Path, embedder: LocalMiniLM) -> None:
    dataset = _dataset(tmp_path / "tiny")
    done = run_cli(
        tmp_path,
        "bench",
        "--scale",
        "--sizes",
        "50",
        "--dataset",
        str(dataset),
        "--keep",
        "stores",
        "--json",
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    base, grown = result["sizes"]
    assert base["label"] == "baseline" and base["chunks"] == result["source"]["chunks"] < 50 <= grown["chunks"]
    assert grown["build"]["chunks_added"] == grown["chunks"]  # copies, nothing re-ingested
    for row in (base, grown):
        assert len(row["latency"]) == 4 and all(m["p50_ms"] > 0 for m in row["latency"].values())
        add = row["add"]["runs"][0]
        assert add["chunks"] == add["lexical_docs_written"] > 0 and add["lexical_files_rewritten"] == 0
        assert row["cold_ask"]["peak_rss_mb"] > 0 and "index load" in row["cold_ask"]["phases"]
        assert row["disk"]["bytes_per_chunk"] > 0
    # The copies are searchable on both sides, with new ids and dates a week earlier per copy.
    grown_settings = make_settings(tmp_path, data_dir=tmp_path / "stores", collection="scale")
    pipeline = Pipeline.from_settings(grown_settings, embedder=embedder)
    until = Filters(until=dt.date(2024, 10, 1))  # leaves out the first copies (a week before the originals)
    for mode in ("dense", "lexical"):
        hits = pipeline.retriever.search("What happened with the council budget?", 5, until, mode=mode)
        assert hits and all("~" in h.chunk.article_id for h in hits), mode
        assert all(h.chunk.published and h.chunk.published <= until.until for h in hits), mode
    assert "retrieval p50 / p95" in result["table"] and "adding one article" in result["table"]
