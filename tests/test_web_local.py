"""The chat page with the local engine, in a real browser (Debian's Chromium driven by Playwright) against a real
llama.cpp server: the tiny GGUF of ``tests/tinygguf.py`` answers every prompt with a reply the test chose.

The reader's verbatim quote comes first (its answer phrase marked, its citation working) and streams in at once;
the model's checked answer follows in its own block, badged as the model's. When the model's answer fails its
checks, the quote is the answer and the model's text waits behind a toggle with the reasons it failed.
Screenshots go to /tmp/rag-web-local/."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rag.local import client
from rag.pipeline import Pipeline
from rag.provider import chat_model
from rag.search.embed import LocalMiniLM
from rag.settings import Settings
from rag.web.server import create_app
from tests.appserver import serving
from tests.conftest import SAMPLE_QUESTION, make_settings
from tests.tinygguf import write_tiny_gguf

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path("/tmp/rag-web-local")
QUOTE = "Recent Pentagon estimates indicate that approximately 10,000 North Korean soldiers"
HOLDS = "Approximately 10,000 North Korean soldiers have been deployed to eastern Russia."
FAILS = "Approximately 20,000 North Korean soldiers have been deployed to eastern Russia [1]."
MARKUP = 'About 20,000 soldiers <img src=x onerror="window.__pwned=1"> and <b>more</b> were sent [1].'
#: A prompt of this project tokenizes to about a token a byte with the tiny model (see tests/tinygguf.py).
CTX = 16384

if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("xllamacpp", reason="needs llama.cpp (pip install -e '.[local]')")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e '.[dev]')")
expect = sync_api.expect


def _daemons(settings: Settings) -> list[str]:
    """The ``rag.local.daemon`` processes serving this test's data folder (others' servers are left alone)."""
    found = subprocess.run(["pgrep", "-af", "rag.local.daemon"], capture_output=True, text=True, check=False)
    home = str(client.folder(settings))
    return [line for line in found.stdout.splitlines() if home in line]


@contextmanager
def local_desk(tmp: Path, embedder: LocalMiniLM, reply: str) -> Iterator[str]:
    """``rag serve --engine local`` in this process, its model the tiny GGUF answering ``reply``; the model's
    server is stopped afterwards, whatever happened."""
    model = write_tiny_gguf(tmp / "tiny.gguf", reply, context_length=CTX)
    settings = make_settings(tmp, generator="local", local_model=str(model), local_ctx=CTX)
    try:
        local = chat_model(settings)
        pipeline = Pipeline.from_settings(settings, embedder=embedder, chat_model=local)
        pipeline.ensure_corpus()
        with serving(create_app(settings, pipeline=pipeline, chat_model=local)) as base:
            yield base
    finally:
        client.stop(settings)
        assert not _daemons(settings), "the local model's server was left running"


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 900},
        )
        yield ctx
        ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    """A fresh tab that fails the test on a script error, a console error or a page file that does not load."""
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    tab.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    yield tab
    tab.close()
    assert not problems, problems


def _ask(page: Any, question: str) -> Any:
    # Snapshot the answer at every change while it streams (before the final render replaces it).
    page.evaluate(
        """() => { window.__frames = []; new MutationObserver(() => {
             const a = document.querySelector('#log .turn:last-child .answer');
             if (a && a.hasAttribute('aria-busy')) window.__frames.push({
               text: a.textContent, quote: !!a.querySelector('.reader-quote'),
               model: !!a.querySelector('.model-answer .streaming') });
           }).observe(document.getElementById('log'), {childList: true, subtree: true, characterData: true}); }"""
    )
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    answer = page.locator(".turn .answer").last
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=120_000)
    return answer


def _streamed(page: Any) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = page.evaluate("window.__frames")
    return frames


def test_the_quote_first_then_the_models_checked_answer(page: Any, tmp_path: Path, embedder: LocalMiniLM) -> None:
    SHOTS.mkdir(exist_ok=True)
    with local_desk(tmp_path, embedder, HOLDS) as base:
        page.goto(base)
        expect(page.locator("#status")).to_contain_text("verbatim quotes, then local tiny.gguf (checked)")
        answer = _ask(page, SAMPLE_QUESTION)

        # While it streamed: the quote alone first (shown at once), then the model's part in its own block.
        frames = _streamed(page)
        assert any(QUOTE in f["text"] and "Model" not in f["text"] for f in frames), frames
        assert any(f["quote"] and f["model"] for f in frames), frames

        quote = answer.locator("section.reader-quote")
        expect(quote.locator(".part-badge")).to_have_text("Reader's quote · verbatim from the article")
        expect(quote.locator("p.text")).to_contain_text(QUOTE)
        expect(quote.locator("mark.answer-phrase")).to_have_text("10,000")
        expect(quote.locator("button.cite")).to_have_count(1)  # the quote's marker resolves

        model = answer.locator("section.model-answer")
        expect(model.locator(".model-badge")).to_have_text("Model · local tiny.gguf · checked")
        expect(model.locator("p.text")).to_have_text(HOLDS.removesuffix(".") + " [1].")
        expect(model.locator(".unverified")).to_have_count(0)
        expect(answer.locator(".unverified-text")).to_have_count(0)
        expect(answer.locator(".sources li")).to_have_count(1)  # one citation, shared by the quote and the model
        assert quote.bounding_box()["y"] < model.bounding_box()["y"]
        page.screenshot(path=str(SHOTS / "model-answer.png"))
        page.emulate_media(color_scheme="dark")
        page.screenshot(path=str(SHOTS / "model-answer-dark.png"))
        page.emulate_media(color_scheme="light")

        model.locator("button.cite").click()
        mark = page.locator("#source-text mark")
        expect(mark).to_be_in_viewport()
        expect(mark).to_contain_text("approximately 10,000 North Korean soldiers")
        expect(page.locator("#source-title")).to_have_text(
            "Trudeau and Yoon condemn North Korea's troop deployment to Russia"
        )
        page.screenshot(path=str(SHOTS / "model-answer-source.png"))
        page.keyboard.press("Escape")
        expect(model.locator("button.cite")).to_be_focused()

        # The stream as it stands before the answer event (here it stops there): the two parts, labelled.
        pieces = [f"{QUOTE} <i>x</i>. [1] ", "\n\nModel (local tiny.gguf, checked): ", "About 10,000 [1]. "]
        body = "".join(f"event: text\ndata: {json.dumps({'text': t})}\n\n" for t in pieces)
        page.route("**/stream", lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body))
        box = page.get_by_label("Your question")
        box.fill(SAMPLE_QUESTION)
        box.press("Enter")
        streamed = page.locator(".turn .answer").last
        expect(streamed.locator(".reader-quote p.text")).to_have_text(f"{QUOTE} <i>x</i>. [1]")
        expect(streamed.locator(".model-answer .model-badge")).to_have_text("Model · local tiny.gguf · checked")
        expect(streamed.locator(".model-answer p.text")).to_have_text("About 10,000 [1].")
        assert streamed.locator("i").count() == 0
        page.screenshot(path=str(SHOTS / "streamed.png"))


def test_a_model_answer_that_fails_its_checks_stays_behind_a_toggle(
    page: Any, tmp_path: Path, embedder: LocalMiniLM
) -> None:
    SHOTS.mkdir(exist_ok=True)
    with local_desk(tmp_path, embedder, FAILS) as base:
        page.goto(base)
        answer = _ask(page, SAMPLE_QUESTION)
        assert any(QUOTE in f["text"] and "Model" not in f["text"] for f in _streamed(page))

        quote = answer.locator("section.reader-quote")
        expect(quote.locator("p.text")).to_contain_text(QUOTE)
        expect(quote.locator("mark.answer-phrase")).to_have_text("10,000")
        expect(answer.locator("section.model-answer")).to_have_count(0)
        expect(answer.locator(".note")).to_contain_text(
            "the local model's answer did not pass the checks; the reader's quote stands"
        )
        toggle = answer.locator("details.unverified-text")
        expect(toggle.locator("summary")).to_have_text(
            "Show the local model's unverified answer (it failed its checks)"
        )
        unverified = toggle.locator("p.unverified")
        expect(unverified).to_be_hidden()  # 20,000 is nowhere to be seen until asked for
        page.screenshot(path=str(SHOTS / "model-failed.png"))

        toggle.locator("summary").click()
        expect(unverified).to_be_visible()
        expect(unverified).to_contain_text("Approximately 20,000 North Korean soldiers")
        expect(toggle.locator("ul.why li")).to_have_text([re.compile(r"^Why: \w")])  # why it failed its checks
        page.screenshot(path=str(SHOTS / "model-failed-open.png"))

        quote.locator("button.cite").click()
        expect(page.locator("#source-text mark")).to_contain_text("approximately 10,000 North Korean soldiers")


def test_the_models_markup_renders_as_text_and_never_runs(page: Any, tmp_path: Path, embedder: LocalMiniLM) -> None:
    with local_desk(tmp_path, embedder, MARKUP) as base:
        page.goto(base)
        answer = _ask(page, SAMPLE_QUESTION)
        toggle = answer.locator("details.unverified-text")
        toggle.locator("summary").click()
        expect(toggle.locator("p.unverified")).to_contain_text('<img src=x onerror="window.__pwned=1"> and <b>more</b>')
        assert answer.locator("img, b").count() == 0
        assert page.evaluate("window.__pwned") is None
