"""The command line, driven as a user drives it: a subprocess, real store, loopback-only network."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import article_md, cli_env, run_cli, write
from tests.openai_server import FakeOpenAI

Q = "How many North Korean soldiers does the Pentagon estimate have been sent to eastern Russia?"


def test_quickstart_ask_on_an_empty_store_ingests_the_corpus_and_answers(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "ask", Q)
    assert proc.returncode == 0, proc.stderr
    [answer, _] = proc.stdout.split("\n\nSources:", 1)
    assert "approximately 10,000 North Korean soldiers have been deployed to eastern Russia" in answer
    assert answer.rstrip().endswith("[1]")
    assert "Sources:" in proc.stdout and "[1] Trudeau and Yoon" in proc.stdout and "2024-10-29" in proc.stdout
    assert "the store was empty" in proc.stderr
    again = run_cli(tmp_path, "ask", Q)
    assert "the store was empty" not in again.stderr and "10,000" in again.stdout


def test_ask_json(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "ask", "--json", Q)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["refused"] is False and data["as_of"] == "2024-10-29"
    assert "10,000" in data["citations"][0]["quote"]


def test_refusal_and_filters(tmp_path: Path) -> None:
    refused = run_cli(tmp_path, "ask", "--json", "Who won the 2024 World Series?")
    assert json.loads(refused.stdout)["refused"] is True
    future = run_cli(tmp_path, "ask", "--json", "--since", "2025-01-01", Q)
    assert json.loads(future.stdout)["refused"] is True
    bad = run_cli(tmp_path, "ask", "--since", "2024-13-01", Q)
    assert bad.returncode == 2 and "impossible date" in bad.stderr


def test_ingest_reports_skips_with_exit_3_and_reingest_is_a_noop(tmp_path: Path) -> None:
    write(
        tmp_path / "in" / "good.md",
        article_md("Good", "The ferry terminal opens in March, the port said. " * 3),
    )
    write(tmp_path / "in" / "bad.md", "---\ntitle: [\n---\nbody text that is long enough to count as text.")
    write(tmp_path / "in" / "blob.txt", b"\x00\x01\x02\x03")
    first = run_cli(tmp_path, "ingest", str(tmp_path / "in"))
    assert first.returncode == 3
    assert "1 added" in first.stdout and "2 input(s) skipped" in first.stdout
    skip_lines = [line for line in first.stderr.splitlines() if line.startswith("skipped ")]
    assert len(skip_lines) == 2 and any("bad.md: broken front matter" in s for s in skip_lines)
    (tmp_path / "in" / "bad.md").unlink()
    (tmp_path / "in" / "blob.txt").unlink()
    again = run_cli(tmp_path, "ingest", "--json", str(tmp_path / "in"))
    assert again.returncode == 0
    report = json.loads(again.stdout)
    assert report["added"] == 0 and report["unchanged"] == 1 and report["chunks"] == 0


def test_user_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    missing = run_cli(tmp_path, "ingest", str(tmp_path / "nope"))
    assert missing.returncode == 2 and missing.stderr.strip().startswith("rag: error: no such file")
    assert "Traceback" not in missing.stderr
    env = cli_env(tmp_path, RAG_CHUNK_TOKENS="banana")
    bad_env = run_cli(tmp_path, "ask", Q, env=env)
    assert bad_env.returncode == 2 and "RAG_CHUNK_TOKENS must be a number" in bad_env.stderr
    dead = run_cli(tmp_path, "ask", Q, env=cli_env(tmp_path, RAG_CHROMA_URL="http://127.0.0.1:9"))
    assert dead.returncode == 1 and "is `chroma run` up" in dead.stderr and "Traceback" not in dead.stderr
    usage = run_cli(tmp_path)
    assert usage.returncode == 2 and "ingest" in usage.stdout


def test_changed_chunking_is_a_stale_index_error_naming_the_rebuild(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "ask", Q).returncode == 0
    env = cli_env(tmp_path, RAG_CHUNK_TOKENS="120")
    stale = run_cli(tmp_path, "ask", Q, env=env)
    assert stale.returncode == 1 and "rag ingest --rebuild" in stale.stderr
    rebuilt = run_cli(tmp_path, "ingest", "--rebuild", str(Path(__file__).parent.parent / "corpus"), env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "10,000" in run_cli(tmp_path, "ask", Q, env=env).stdout


def test_config_masks_the_key_and_help_explains(tmp_path: Path) -> None:
    key = "sk-live-abcdefghijklmnop1234"
    proc = run_cli(tmp_path, "config", "--json", env=cli_env(tmp_path, OPENAI_API_KEY=key))
    data = json.loads(proc.stdout)
    assert key not in proc.stdout and data["OPENAI_API_KEY"] == "****1234"
    assert data["RAG_CHUNK_TOKENS"] == "200"
    helptext = run_cli(tmp_path, "ask", "--help").stdout
    assert "--since" in helptext and "--json" in helptext and "refusal" in helptext


def test_ask_with_an_llm_over_loopback(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(
        "About 10,000 North Korean soldiers have been deployed to eastern Russia [1].",
        "About 10,000 North Korean soldiers have been deployed to eastern Russia [1].",
    )
    env = cli_env(tmp_path, OPENAI_BASE_URL=fake_openai.base_url, RAG_MODEL="local-llama")
    proc = run_cli(tmp_path, "ask", Q, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("About 10,000 North Korean soldiers have been deployed to eastern Russia [1].")
    assert fake_openai.chat_requests()[0].body["model"] == "local-llama"
    forced = run_cli(tmp_path, "ask", "--engine", "extractive", Q, env=env)
    assert "Recent Pentagon estimates" in forced.stdout and len(fake_openai.chat_requests()) == 1


def test_llm_token_counts_are_the_apis_own(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    reply = "About 10,000 North Korean soldiers have been deployed to eastern Russia [1]."
    fake_openai.queue(reply)
    env = cli_env(tmp_path, OPENAI_BASE_URL=fake_openai.base_url)
    proc = run_cli(tmp_path, "ask", "--json", Q, env=env)
    assert proc.returncode == 0, proc.stderr
    request = fake_openai.chat_requests()[0].body
    assert request["stream_options"] == {"include_usage": True}
    sent = sum(len(str(m["content"]).split()) for m in request["messages"])  # what the server counts
    assert json.loads(proc.stdout)["usage"] == {"prompt_tokens": sent, "completion_tokens": -(-len(reply) // 7)}
    offline = json.loads(run_cli(tmp_path, "ask", "--json", "--engine", "extractive", Q, env=env).stdout)
    assert offline["usage"] == {}  # no model call, no counts


def test_llm_failure_is_one_line_and_never_shows_the_key(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    from tests.openai_server import Reply

    fake_openai.default = Reply(status=503)
    key = "sk-live-SHOULD-NOT-APPEAR-9876"
    env = cli_env(tmp_path, OPENAI_BASE_URL=fake_openai.base_url, OPENAI_API_KEY=key, RAG_MAX_RETRIES="1")
    proc = run_cli(tmp_path, "ask", Q, env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("rag: error: the LLM at")
    assert "HTTP 503 after 2 attempt(s)" in proc.stderr
    assert key not in proc.stderr + proc.stdout and "9876" not in proc.stderr
