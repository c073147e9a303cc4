"""Server mode: the same behaviour against a real `chroma run` on loopback, started here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import chroma_server, cli_env, run_cli

Q = "How many North Korean soldiers does the Pentagon estimate have been sent to eastern Russia?"


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    with chroma_server(tmp_path) as server:
        yield server.url


@pytest.mark.slow
def test_server_mode_behaves_like_the_embedded_store(tmp_path: Path, chroma_url: str) -> None:
    local = run_cli(tmp_path / "local", "ask", "--json", Q)
    env = cli_env(tmp_path / "remote", RAG_CHROMA_URL=chroma_url)
    remote = run_cli(tmp_path / "remote", "ask", "--json", Q, env=env)
    assert remote.returncode == 0, remote.stderr
    a, b = json.loads(local.stdout), json.loads(remote.stdout)
    assert a["text"] == b["text"] and a["citations"] == b["citations"]
    status = json.loads(run_cli(tmp_path / "remote", "status", "--json", env=env).stdout)
    assert status["location"] == chroma_url and status["articles"] == 1
    # Nothing was written to the local disk store in server mode.
    assert not (tmp_path / "remote" / "data" / "chroma").exists()
    again = run_cli(tmp_path / "remote", "ingest", str(Path(__file__).parent.parent / "corpus"), env=env)
    assert "nothing to embed" in again.stdout
