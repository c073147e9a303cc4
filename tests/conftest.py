"""Shared fixtures: real components in temp dirs, a loopback OpenAI server, and the CLI as a subprocess."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from rag.settings import Settings
from tests.openai_server import FakeOpenAI

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_ID = "trudeau-yoon-north-korea-troops"
DATASET = PROJECT.parent / "shared" / "data" / "realtimeqa-2024"
KEY = "sk-test-SECRET-0123456789abcdef"
#: A question the bundled sample article answers.
SAMPLE_QUESTION = "How many North Korean soldiers does the Pentagon estimate have been sent to eastern Russia?"


@pytest.fixture(scope="session")
def embedder() -> LocalMiniLM:
    """The real local model, loaded once per test session."""
    return LocalMiniLM()


def make_settings(tmp: Path, **overrides: Any) -> Settings:
    """Settings for a test: nothing from the developer's environment, everything under ``tmp``."""
    base: dict[str, Any] = {
        "data_dir": tmp / "data",
        "corpus_dir": PROJECT / "corpus",
        "prompts_dir": PROJECT / "prompts",
    }
    base.update(overrides)
    return Settings.from_env(env={}, **base)


def llm_settings(tmp: Path, fake: FakeOpenAI, **kw: object) -> Settings:
    """Settings whose LLM is the scripted OpenAI server ``fake`` on loopback."""
    base: dict[str, object] = {
        "openai_api_key": KEY,
        "openai_base_url": fake.base_url,
        "generator": "llm",
        "model": "test-model",
        "max_retries": 2,
        "timeout": 3.0,
    }
    base.update(kw)
    return make_settings(tmp, **base)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def sample_pipeline(settings: Settings, embedder: LocalMiniLM) -> Pipeline:
    """The default (extractive) pipeline with the shipped sample article ingested into a temp store."""
    pipeline = Pipeline.from_settings(settings, embedder=embedder)
    pipeline.ensure_corpus()
    return pipeline


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp / "home"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(PROJECT / "tests" / "netblock"),
        "RAG_DATA_DIR": str(tmp / "data"),
        "RAG_CORPUS": str(PROJECT / "corpus"),
        "RAG_PROMPTS": str(PROJECT / "prompts"),
        "NO_COLOR": "1",
    }
    env.update(extra)
    return env


def run_cli(
    tmp: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rag ARGS`` the way a user would, with network access limited to loopback."""
    tmp.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        env=env or cli_env(tmp),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp,
    )


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def article_md(title: str, body: str, published: str = "2024-10-30", outlet: str = "Test Wire", **extra: str) -> str:
    lines = ["---", f"title: {title!r}", f"outlet: {outlet}", f"published: {published}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return "\n".join([*lines, "---", body, ""])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """A real ``chroma run`` on loopback with its data under ``tmp``; restartable on the same port and data."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        with (self.tmp / "chroma.log").open("a") as log:
            self._proc = subprocess.Popen(
                [exe, "run", "--path", str(self.tmp / "server-data"), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        pytest.fail("chroma run did not start: " + (self.tmp / "chroma.log").read_text()[-2000:])

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=30)
            self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def chroma_server(tmp: Path) -> Iterator[ChromaServer]:
    """A real ``chroma run`` on loopback for the duration of the block."""
    server = ChromaServer(tmp)
    try:
        server.start()
        yield server
    finally:
        server.stop()
