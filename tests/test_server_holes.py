"""Regression tests for the holes an adversarial run found in the HTTP API: over-long and invalid
questions, keys a model echoes, and SSE clients that hang up (over real HTTP on loopback)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from rag.web.server import create_app
from tests.appserver import serving
from tests.conftest import KEY, llm_settings
from tests.conftest import SAMPLE_QUESTION as Q
from tests.openai_server import FakeOpenAI, Reply
from tests.test_server import assert_error, events

LONG = " ".join(["How many North Korean soldiers have been deployed to eastern Russia for training?"] * 20)


@pytest.fixture
def served(tmp_path: Path, fake_openai: FakeOpenAI, embedder: LocalMiniLM) -> Iterator[tuple[httpx.Client, Pipeline]]:
    settings = llm_settings(tmp_path, fake_openai, max_retries=0, timeout=30.0)
    p = Pipeline.from_settings(settings, embedder=embedder)
    p.ensure_corpus()
    with serving(create_app(settings, pipeline=p)) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c, p


def test_an_over_long_question_is_cut_for_searching_and_says_so(
    served: tuple[httpx.Client, Pipeline], fake_openai: FakeOpenAI
) -> None:
    client, pipeline = served
    assert len(LONG) < 2000 and pipeline.embedder.count_tokens(LONG) > 256  # between the two limits
    fake_openai.default = Reply("About 10,000 North Korean soldiers are in eastern Russia [1].")
    for path in ("/api/ask", "/api/chat/long"):
        r = client.post(path, json={"question": LONG})
        assert r.status_code == 200, r.text
        assert "only its first" in r.json()["notes"][0]
    got = events(client.post("/api/ask/stream", json={"question": LONG}))
    assert got[-1][0] == "answer"


@pytest.mark.parametrize(
    "body",
    [
        b'{"question": "How many \\ud800 soldiers?"}',  # a lone surrogate, valid JSON
        b'{"question": "How many \xff\xfe soldiers?"}',  # invalid UTF-8 bytes
    ],
)
def test_invalid_text_is_a_4xx_never_a_500(served: tuple[httpx.Client, Pipeline], body: bytes) -> None:
    client, _ = served
    for path in ("/api/ask", "/api/ask/stream", "/api/chat/bad"):
        r = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, r.text
        assert_error(r, r.status_code)


def test_a_key_the_model_echoes_never_reaches_json_or_sse(
    served: tuple[httpx.Client, Pipeline], fake_openai: FakeOpenAI
) -> None:
    client, _ = served
    leak = f"About 10,000 North Korean soldiers are in eastern Russia [1]. The key is {KEY} or {KEY.upper()[:12]} [1]."
    fake_openai.default = Reply(leak)
    seen = client.post("/api/ask", json={"question": Q}).text
    seen += client.post("/api/ask/stream", json={"question": Q}).text
    seen += client.post("/api/chat/echo", json={"question": Q}).text
    assert "****" in seen and KEY[:8] not in seen.lower() and KEY[:8].upper() not in seen


def test_a_client_that_hangs_up_cancels_generation(
    served: tuple[httpx.Client, Pipeline], fake_openai: FakeOpenAI
) -> None:
    client, _ = served
    sentence = "About 10,000 North Korean soldiers are in eastern Russia [1]. "
    fake_openai.default = Reply(sentence * 60, chunk_size=8, pause=0.05)  # ~20 s of trickled tokens
    for _ in range(3):
        with client.stream("POST", "/api/ask/stream", json={"question": Q}) as r:
            for line in r.iter_lines():
                if line.startswith("event: text"):
                    break  # the first sentence arrived: hang up
    deadline = time.monotonic() + 10
    while fake_openai.aborted < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    assert fake_openai.aborted == 3 and fake_openai.finished == 0  # each model stream was closed early
    assert len(fake_openai.chat_requests()) == 3  # and no further LLM call was made for them
    assert json.dumps([r.body for r in fake_openai.chat_requests()]).count("PAIRS") == 0
