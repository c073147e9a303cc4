"""Server mode: the same behaviour against a real `chroma run` on loopback, started here, and one corpus
shared by several processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from tests.conftest import article_md, chroma_server, cli_env, make_settings, run_cli, write

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


def _articles(folder: Path, stories: dict[str, str]) -> Path:
    for key, body in stories.items():
        write(folder / f"{key}.md", article_md(key.replace("-", " ").title(), body, published="2024-10-29"))
    return folder


@pytest.mark.slow
def test_two_writers_and_a_reader_share_one_corpus_on_both_sides(
    tmp_path: Path, chroma_url: str, embedder: LocalMiniLM
) -> None:
    """Two processes ingest at the same time into one `chroma run`, each with its own data dir (as on two
    machines); a third, with a data dir of its own, sees both ingests on the dense and the lexical side."""
    a = _articles(tmp_path / "a", {"spice-island": "Zanzibar exports cloves to many countries, officials said."})
    b = _articles(tmp_path / "b", {"coastal-quake": "An earthquake shook Portmere, cracking walls in the harbour."})
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "rag", "ingest", str(folder)],
            env=cli_env(tmp_path / name, RAG_CHROMA_URL=chroma_url),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, folder in (("writer-a", a), ("writer-b", b))
    ]
    for w in writers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err

    reader = Pipeline.from_settings(make_settings(tmp_path / "reader", chroma_url=chroma_url), embedder=embedder)

    def found(query: str, mode: str) -> list[str]:
        return [h.chunk.article_id for h in reader.retriever.search(query, 2, mode=mode)]

    for side in ("dense", "lexical"):
        assert found("Zanzibar cloves", side)[0] == "spice-island", side
        assert found("Portmere earthquake", side)[0] == "coastal-quake", side

    # A later ingest by writer A: the reader catches up with that one article, not a rebuild.
    _articles(a, {"ferry-strike": "Ferry crews in Dunmore walked out over pay on Tuesday."})
    assert (
        run_cli(
            tmp_path / "writer-a", "ingest", str(a), env=cli_env(tmp_path / "writer-a", RAG_CHROMA_URL=chroma_url)
        ).returncode
        == 0
    )
    report = reader.retriever.lexical.sync(reader.store)
    assert (report.indexed, report.full) == (1, False)
    assert found("Dunmore ferry crews", "lexical")[0] == "ferry-strike"
    asked = run_cli(
        tmp_path / "reader-cli",
        "ask",
        "--json",
        "Where did ferry crews walk out?",
        env=cli_env(tmp_path / "reader-cli", RAG_CHROMA_URL=chroma_url),
    )
    assert json.loads(asked.stdout)["citations"][0]["article_id"] == "ferry-strike"
