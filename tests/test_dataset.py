"""The development set (read from ../shared at run time, never copied): skipped cleanly when absent."""

from __future__ import annotations

import pytest

from rag.evals.bench import run_bench
from rag.settings import Settings
from tests.conftest import DATASET, make_settings

pytestmark = [
    pytest.mark.dataset,
    pytest.mark.skipif(not (DATASET / "articles.jsonl").exists(), reason="development set not present"),
]


@pytest.mark.slow  # over a minute: it builds a store from 50 development articles and runs the bench
def test_bench_on_a_slice_of_the_development_set(tmp_path: object) -> None:
    settings: Settings = make_settings(tmp_path)  # type: ignore[arg-type]
    result = run_bench(DATASET, settings, limit=50, log=lambda _m: None)
    assert result["articles"] == 50 and result["questions"] > 5
    assert result["ingest"]["chunks"] > 300
    hybrid = result["retrieval_quality"]["hybrid"]
    assert hybrid["hit@5"] >= 0.8
    assert result["embedding_vs_naive"]["ratio"] > 0
    assert "retrieval: p50" in result["table"]


@pytest.mark.slow  # it builds a store from 30 development articles, then loads a (tiny) local model
def test_bench_times_the_local_engine_beside_the_extractive_one(tmp_path: object) -> None:
    pytest.importorskip("xllamacpp")
    from pathlib import Path

    from rag.local import client
    from tests.tinygguf import write_tiny_gguf

    base = Path(str(tmp_path))
    model = write_tiny_gguf(base / "tiny.gguf", "An answer [1].", context_length=16384)
    settings = make_settings(base).replace(local_model=str(model), local_ctx=16384, local_threads=1, local_idle=60.0)
    try:
        result = run_bench(DATASET, settings, limit=30, local=3, log=lambda _m: None)
    finally:
        client.stop(settings)
    local = result["local"]
    assert local["questions"] == 3 and sum(local["answered_by"].values()) == 3
    assert local["cold_load_s"] > 0 and not local["was_running"]
    assert local["ms"]["total"]["p95"] >= local["ms"]["total"]["p50"] > 0
    assert local["extractive_ms"]["p50"] > 0
    assert "local engine (" in result["table"] and "extractive on the same questions" in result["table"]
