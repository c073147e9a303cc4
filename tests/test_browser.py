"""The chat page in a real browser: Debian's headless Chromium driven by Playwright (``executable_path``; no
browser is downloaded). Ask, watch the answer stream, click a citation, see the quote highlighted; read the
briefing; article text containing markup renders as text; the token prompt; the empty page's summary,
example questions and upload."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from rag.types import Article
from rag.web.server import create_app
from tests.appserver import serving
from tests.conftest import article_md, make_settings, write

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
Q = "How many North Korean soldiers does the Pentagon estimate have been sent to eastern Russia?"
TOKEN = "browser-test-token-0123456789abcdef"
XSS_TITLE = 'Harbour <img src=x onerror="window.__pwned=2"> council'
XSS_SENTENCE = (
    "The harbour council approved 40 million dollars for the Pier Street ferry terminal, and its notice "
    "printed <script>window.__pwned=1</script> and <b>x</b> by mistake."
)
XSS_TEXT = (
    f"{XSS_SENTENCE} Work on the Pier Street ferry terminal starts in March and should take two years, "
    "the council said. Ferry passengers will use a temporary pontoon during the works."
)

if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e '.[dev]')")
expect = sync_api.expect


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, embedder: LocalMiniLM) -> Pipeline:
    p = Pipeline.from_settings(make_settings(tmp_path_factory.mktemp("browser")), embedder=embedder)
    p.ensure_corpus()
    hostile = Article(
        id="harbour-markup",
        title=XSS_TITLE,
        text=XSS_TEXT,
        outlet="Harbour <i>Gazette</i>",
        published=dt.date(2024, 10, 28),
    )
    p.ingest_items([hostile], sample=())  # beside the sample, which a user's first ingest would replace
    return p


@pytest.fixture(scope="module")
def url(pipeline: Pipeline) -> Iterator[str]:
    with serving(create_app(pipeline.settings, pipeline=pipeline)) as base:
        yield base


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 860},
        )
        yield ctx
        ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    """A fresh tab that fails the test on a script error, a console error (a CSP violation is one) or a page
    file that does not load. (API errors are part of some tests; the browser logs each as a console error.)"""
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on(
        "console",
        lambda msg: (
            problems.append(f"console: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    tab.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and "/api/" not in r.url else None,
    )
    yield tab
    tab.close()
    assert not problems, problems


def _ask(page: Any, question: str) -> Any:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    return page.locator(".turn .answer").last


def test_ask_see_the_stream_click_a_citation_see_the_quote(page: Any, url: str, tmp_path: Path) -> None:
    page.goto(url)
    expect(page.locator("#status")).to_contain_text("2 articles")
    # Count text appended to the answer while it streams (before the final render replaces it).
    page.evaluate(
        """() => { window.__streamed = 0; new MutationObserver((ms) => { for (const m of ms)
             if (m.target.classList && m.target.classList.contains('streaming'))
               window.__streamed += m.addedNodes.length;
           }).observe(document.getElementById('log'), {childList: true, subtree: true}); }"""
    )
    answer = _ask(page, Q)
    expect(answer).to_contain_text("10,000", timeout=30_000)
    expect(answer.locator(".asof")).to_have_text("As of 2024-10-29 (newest cited article)")
    # The text arrived while it was produced, before the final answer (the reader's one-sentence answer is one
    # piece; an LLM's arrives in many).
    assert page.evaluate("window.__streamed") >= 1
    expect(answer.locator("mark.answer-phrase")).to_contain_text("10,000")  # the answer phrase, marked
    expect(answer.locator(".sources li").first).to_contain_text("outlet unknown, 2024-10-29")

    answer.locator("p.text button.cite").first.click()
    mark = page.locator("#source-text mark")
    expect(mark).to_be_visible()
    expect(mark).to_be_in_viewport()
    expect(mark).to_contain_text("10,000")
    expect(page.locator("#source-title")).to_have_text(
        "Trudeau and Yoon condemn North Korea's troop deployment to Russia"
    )
    expect(page.locator("#source-meta")).to_contain_text("outlet unknown · 2024-10-29")
    shot = tmp_path / "chat-citation.png"
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")

    page.keyboard.press("Escape")
    expect(page.locator("#source")).to_be_hidden()
    expect(answer.locator("p.text button.cite").first).to_be_focused()  # focus goes back where it was
    page.keyboard.press("Enter")  # and the keyboard reopens it
    expect(page.locator("#source-text mark")).to_be_in_viewport()


def test_a_follow_up_and_the_briefing_tab(page: Any, url: str, tmp_path: Path) -> None:
    page.goto(url)
    expect(_ask(page, Q)).to_contain_text("10,000", timeout=30_000)
    follow = _ask(page, "and how many were there last week?")
    expect(follow).to_contain_text("3,000", timeout=30_000)
    expect(follow.locator(".searched")).to_contain_text("North Korean soldiers")

    page.get_by_role("tab", name="Briefing").click()
    story = page.locator("#brief .story").first
    expect(story).to_contain_text("Trudeau and Yoon condemn", timeout=30_000)
    # The same rendering as `rag brief --format html`: title, counts, contents, each story's sources.
    expect(page.locator("#brief h2").first).to_have_text("Briefing — 29 Oct 2024")
    expect(page.locator("#brief .meta").first).to_contain_text("1 article published 2024-10-29, 1 story")
    expect(page.locator("#brief nav.toc a")).to_have_text(
        ["Trudeau and Yoon condemn North Korea's troop deployment to Russia"]
    )
    expect(story.locator(".story-sources li")).to_contain_text(["outlet unknown, 2024-10-29"])
    expect(story.locator(".tag")).to_have_text("NEW")
    expect(story.locator(".moved")).to_contain_text("3,000 → 10,000")
    expect(page.locator("#brief-date")).to_have_value("2024-10-29")
    story.locator(".moved button.cite").click()
    expect(page.locator("#source-text mark")).to_be_in_viewport()
    expect(page.locator("#source-text mark")).to_contain_text("10,000")
    shot = tmp_path / "briefing.png"
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")

    page.fill("#brief-date", "2024-10-28")  # the day of the article whose title and text hold markup
    page.get_by_role("button", name="Show the briefing").click()
    expect(page.locator("#brief nav.toc")).to_contain_text(XSS_TITLE)
    expect(page.locator("#brief .story")).to_contain_text("<script>window.__pwned=1</script>")
    assert page.locator("#brief img, #brief script, #brief b, #brief i").count() == 0
    assert page.evaluate("window.__pwned") is None

    page.fill("#brief-date", "2020-01-01")
    page.get_by_role("button", name="Show the briefing").click()
    expect(page.locator("#brief .error")).to_contain_text("no articles published")


def test_article_markup_renders_as_text_and_never_runs(page: Any, url: str, tmp_path: Path) -> None:
    page.goto(url)
    answer = _ask(page, "How much did the harbour council approve for the Pier Street ferry terminal?")
    expect(answer).to_contain_text("40 million", timeout=30_000)
    expect(answer.locator("p.text")).to_contain_text("<script>window.__pwned=1</script> and <b>x</b>")
    expect(answer.locator(".sources")).to_contain_text(XSS_TITLE)
    answer.locator("p.text button.cite").first.click()
    text = page.locator("#source-text")
    expect(text.locator("mark")).to_contain_text("<b>x</b>")
    expect(text).to_contain_text("<script>window.__pwned=1</script>")
    expect(page.locator("#source-title")).to_have_text(XSS_TITLE)
    expect(page.locator("#source-meta")).to_contain_text("Harbour <i>Gazette</i>")
    assert page.locator("#log b, #log script, #log img, #source b, #source i, #source img, #source script").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.screenshot(path=str(tmp_path / "markup.png"))


def test_with_a_token_the_page_asks_for_it_once(context: Any, pipeline: Pipeline) -> None:
    app = create_app(pipeline.settings.replace(server_token=TOKEN), pipeline=pipeline)
    with serving(app) as base:
        tab = context.new_page()
        tab.goto(base)
        dialog = tab.locator("#token-dialog")
        expect(dialog).to_be_visible()
        tab.fill("#token", "not-the-token-at-all-000")
        tab.get_by_role("button", name="Continue").click()
        expect(tab.locator("#token-wrong")).to_be_visible()  # refused: asked again, saying so
        tab.fill("#token", TOKEN)
        tab.get_by_role("button", name="Continue").click()
        expect(tab.locator("#status")).to_contain_text("2 articles")
        expect(_ask(tab, Q)).to_contain_text("10,000", timeout=30_000)
        assert TOKEN not in tab.content()
        tab.close()


def test_api_docs_render_offline_from_the_installed_swagger_ui(url: str, page: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{url}/docs")
    expect(page.get_by_text("/api/ask/stream").first).to_be_visible(timeout=15_000)
    assert requested and all(r.startswith(url) for r in requested), requested  # nothing from another host


def test_the_empty_page_shows_the_store_offers_questions_and_takes_an_upload(
    page: Any, tmp_path: Path, embedder: LocalMiniLM
) -> None:
    store = Pipeline.from_settings(make_settings(tmp_path / "store"), embedder=embedder)
    store.ensure_corpus()
    library = Article(
        id="library-reopens",
        title="Central library reopens",
        outlet="Daily Planet",
        published=dt.date(2024, 10, 31),
        text="Mayor Ana Ruiz reopened the central library on Saturday after a two-year renovation that added a "
        "children's wing. More than 1,200 new library cards were issued by the early afternoon of the first day.",
    )
    store.ingest_items([library], sample=())
    upload = write(
        tmp_path / "ferry-strike.md",
        article_md(
            "Ferry strike called off",
            "The ferry workers' union called off the strike planned for Friday after the operator agreed to hire "
            "twelve more deckhands. About 900 commuters are expected to use the morning crossing every weekday.",
            published="2024-11-02",
            outlet="Harbour Gazette",
        ),
    )
    with serving(create_app(store.settings, pipeline=store)) as base:
        page.goto(base)
        summary = page.locator("#summary")
        expect(summary).to_contain_text("2 articles · published 2024-10-29 to 2024-10-31 · 1 outlet: Daily Planet (1)")
        expect(page.locator("#newest")).to_contain_text("Central library reopens — Daily Planet, 2024-10-31")
        examples = page.locator("#examples button")
        expect(examples.first).to_have_text("Who reopened the central library on Saturday?")
        expect(page.locator("#outlet option")).to_have_text(["All outlets", "Daily Planet (1)"])

        page.set_input_files("#add-files", str(upload))
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator("#add-results li")).to_have_text("ferry-strike.md: 1 article added.", timeout=30_000)
        expect(summary).to_contain_text("3 articles · published 2024-10-29 to 2024-11-02")
        expect(summary).to_contain_text("2 outlets: Daily Planet (1), Harbour Gazette (1)")
        expect(page.locator("#status")).to_contain_text("3 articles")
        expect(examples.first).to_have_text(
            "How many commuters are expected to use the morning crossing every weekday?"
        )
        page.screenshot(path=str(tmp_path / "welcome.png"))

        page.select_option("#outlet", "Daily Planet")
        examples.nth(1).click()  # the library's question, asked within its outlet
        answer = page.locator(".turn .answer").last
        expect(answer).to_contain_text("Mayor Ana Ruiz reopened the central library", timeout=30_000)
        expect(answer.locator(".sources")).to_contain_text("Central library reopens — Daily Planet, 2024-10-31")
        expect(page.locator("#welcome")).to_be_hidden()
        expect(_ask(page, "How many commuters are expected to use the morning crossing?")).to_have_class(
            "answer refused", timeout=30_000
        )  # the ferry story is in another outlet
