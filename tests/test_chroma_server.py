"""Server mode: the same behaviour against a real `chroma run` on loopback, started here."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import cli_env, run_cli

Q = "How many North Korean soldiers does the Pentagon estimate have been sent to eastern Russia?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    proc = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma run did not start: " + (tmp_path / "chroma.log").read_text()[-2000:])
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


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
