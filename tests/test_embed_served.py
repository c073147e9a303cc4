"""A served embedder: `RAG_EMBEDDER=openai` against an OpenAI-compatible embeddings server on loopback (no key,
no LLM): batched requests, retries, and an ingest that fails part-way and resumes where it stopped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import article_md, cli_env, run_cli, write
from tests.openai_server import FakeOpenAI, Reply


def _corpus(folder: Path, n: int) -> Path:
    for i in range(n):
        body = f"The harbour of town {i} reopened on Monday after {i + 2} weeks of repairs to the quay."
        write(folder / f"a{i:02d}.md", article_md(f"Harbour {i} reopens", body))
    return folder


def _env(tmp: Path, fake: FakeOpenAI, **extra: str) -> dict[str, str]:
    return cli_env(
        tmp, RAG_EMBEDDER="openai", RAG_EMBEDDINGS_URL=fake.base_url, RAG_MAX_RETRIES="1", RAG_TIMEOUT="5", **extra
    )


def _inputs(fake: FakeOpenAI) -> list[int]:
    return [len(r.body["input"]) for r in fake.requests if r.path.endswith("/embeddings")]


def test_ingest_and_ask_through_an_embeddings_server_in_batches(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    folder = _corpus(tmp_path / "in", 30)
    env = _env(tmp_path, fake_openai, RAG_EMBED_BATCH="8")
    done = run_cli(tmp_path, "ingest", "--json", str(folder), env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["store"] == {"articles": 30, "chunks": 30}
    # Two ingest groups (24 + 6 articles), each cut into requests of at most RAG_EMBED_BATCH texts.
    assert _inputs(fake_openai) == [8, 8, 8, 6]
    assert all(r.path == "/v1/embeddings" for r in fake_openai.requests)  # no chat: no LLM is configured
    asked = run_cli(tmp_path, "ask", "--json", "Which harbour reopened after 9 weeks?", env=env)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["engine"] == "extractive" and answer["citations"][0]["article_id"] == "a07"
    assert len(_inputs(fake_openai)) > 4  # the question (and the answerer's sentences) embedded there too


def test_a_failed_batch_is_retried(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(status=503))  # the first request fails once, its retry succeeds
    env = _env(tmp_path, fake_openai)
    done = run_cli(tmp_path, "ingest", str(_corpus(tmp_path / "in", 3)), env=env)
    assert done.returncode == 0, done.stderr
    assert _inputs(fake_openai) == [3, 3]


@pytest.mark.slow
def test_an_ingest_that_fails_part_way_resumes_where_it_stopped(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    folder = _corpus(tmp_path / "in", 30)
    env = _env(tmp_path, fake_openai, RAG_EMBED_BATCH="16")
    # The first group (24 articles: requests of 16 and 8) goes through; the second fails, retry included.
    fake_openai.queue(Reply(), Reply(), Reply(status=500), Reply(status=500))
    failed = run_cli(tmp_path, "ingest", str(folder), env=env)
    assert failed.returncode == 1
    [message] = [line for line in failed.stderr.splitlines() if line.startswith("rag: error:")]
    assert "embeddings server" in message and "HTTP 500" in message and "run it again to resume" in message
    assert _inputs(fake_openai) == [16, 8, 6, 6]

    resumed = run_cli(tmp_path, "ingest", "--json", str(folder), env=env)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert (report["unchanged"], report["added"], report["store"]["articles"]) == (24, 6, 30)
    assert _inputs(fake_openai)[4:] == [6]  # only the six articles that were not committed
