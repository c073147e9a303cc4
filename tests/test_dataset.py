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
