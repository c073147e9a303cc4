"""The empty page's API over real HTTP: what the store holds with example questions (``GET /api/status``),
and adding articles by upload or URL (``POST /api/ingest``) through the loader, size limits, fetching and
ingest run of ``rag ingest``, under the same token rule and with its own body cap."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.ingest.ingest import IngestReport
from rag.ingest.intake import report_dict
from rag.ingest.load import load_paths
from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from rag.search.status import status
from rag.types import Article
from rag.web.examples import candidates
from rag.web.server import create_app
from rag.web.webguard import MAX_BODY, ingest_body_limit
from tests.appserver import serving
from tests.conftest import PROJECT, SAMPLE_ID, article_md, make_settings, write
from tests.test_feeds import STORIES, Route, Site, article_html
from tests.test_server import TOKEN, assert_error

MAX = 12_000  #: RAG_MAX_ARTICLE_BYTES for the upload tests: a saved page at the limit is a body over 64 KiB

FERRY = Article(
    id="harbour-ferry",
    title="Harbour council approves ferry terminal",
    outlet="Harbour Gazette",
    published=dt.date(2024, 10, 30),
    text="The Harbour Council approved 40 million dollars for the Pier Street ferry terminal on Monday, ending a "
    "decade of debate. About 4,000 passengers are expected to use the terminal every day once it opens in March. "
    "Work starts in January and should take two years, the council said.",
)
LIBRARY = Article(
    id="library-reopens",
    title="Central library reopens",
    outlet="Daily Planet",
    published=dt.date(2024, 10, 31),
    text="Mayor Ana Ruiz reopened the central library on Saturday after a two-year renovation that added a "
    "children's wing. More than 1,200 new library cards were issued by the early afternoon of the first day. "
    "The renovation cost 23 million euros, most of it paid by the city.",
)
FERRY_MD = article_md(
    "Ferry strike called off",
    "The ferry workers' union called off the strike planned for Friday after the operator agreed to hire "
    "twelve more deckhands. About 900 commuters use the morning crossing every weekday, the operator said.",
    published="2024-11-02",
)


def b64(content: str | bytes) -> str:
    return base64.b64encode(content.encode() if isinstance(content, str) else content).decode()


def upload(name: str, content: str | bytes) -> dict[str, str]:
    return {"name": name, "content": b64(content)}


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory, embedder: LocalMiniLM) -> Pipeline:
    """A small real store: the sample article and two more, from three days."""
    p = Pipeline.from_settings(make_settings(tmp_path_factory.mktemp("intake")), embedder=embedder)
    p.ensure_corpus()
    p.ingest_items([FERRY, LIBRARY], sample=())
    return p


@pytest.fixture(scope="module")
def client(held: Pipeline) -> Iterator[httpx.Client]:
    with serving(create_app(held.settings, pipeline=held)) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


@pytest.fixture
def fresh(tmp_path: Path, embedder: LocalMiniLM) -> Iterator[tuple[httpx.Client, Pipeline]]:
    """An empty store behind a served app, whose size limit is ``MAX`` bytes (HTML pages: 5×)."""
    settings = make_settings(tmp_path, max_article_bytes=MAX)
    p = Pipeline.from_settings(settings, embedder=embedder)
    with serving(create_app(settings, pipeline=p)) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c, p


# -- what the store holds --------------------------------------------------------------------------------


def test_status_is_rag_status_with_example_questions_each_answered_from_its_article(
    client: httpx.Client, held: Pipeline
) -> None:
    data = client.get("/api/status").json()
    examples = data.pop("examples")
    assert data == json.loads(json.dumps(status(held.store)))  # the dict `rag status --json` prints
    assert data["articles"] == 3 and (data["first"], data["last"]) == ("2024-10-29", "2024-10-31")
    assert data["outlets"] == {"Daily Planet": 1, "Harbour Gazette": 1, "": 1}
    assert data["newest"]["id"] == LIBRARY.id and data["fingerprint"]["embedder"]
    sample = next(a for a in load_paths([PROJECT / "corpus"]) if isinstance(a, Article))
    drawn = {q: a.id for a in (sample, FERRY, LIBRARY) for q in candidates(a)}
    # Newest article first, one question from each, every one a real question about its own article.
    assert [drawn[q] for q in examples] == [LIBRARY.id, FERRY.id, SAMPLE_ID], examples
    assert examples[0] == "Who reopened the central library on Saturday?"
    for question in examples:
        answer = client.post("/api/ask", json={"question": question}).json()
        assert not answer["refused"], question
        assert drawn[question] in {c["article_id"] for c in answer["citations"]}, question
    assert client.get("/api/status").json()["examples"] == examples


BAD_INGESTS: list[tuple[str, Any, tuple[str, ...]]] = [
    ("nothing", {}, ("nothing to ingest",)),
    ("empty lists", {"files": [], "urls": []}, ("nothing to ingest",)),
    ("not base64", {"files": [{"name": "a.md", "content": "not base64!"}]}, ("files.0.content", "base64")),
    ("no name", {"files": [{"name": "", "content": ""}]}, ("files.0.name",)),
    ("not http", {"urls": ["ftp://example.com/a"]}, ("urls", "http(s)")),
    ("unknown field", {"paths": ["/etc"]}, ("paths",)),
    ("too many", {"urls": ["https://example.com/"] * 21}, ("urls",)),
]


@pytest.mark.parametrize(("name", "body", "words"), BAD_INGESTS, ids=[b[0] for b in BAD_INGESTS])
def test_a_bad_ingest_request_is_one_json_error(client: httpx.Client, name: str, body: Any, words: tuple[str]) -> None:
    assert_error(client.post("/api/ingest", json=body), 422, *words)


# -- adding articles -------------------------------------------------------------------------------------


def test_uploaded_markdown_and_html_are_ingested_and_answered(fresh: tuple[httpx.Client, Pipeline]) -> None:
    client, pipeline = fresh
    page = article_html(STORIES["/news/flaky-bridge"])
    r = client.post("/api/ingest", json={"files": [upload("ferry-strike.md", FERRY_MD), upload("bridge.html", page)]})
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == set(report_dict(IngestReport(), pipeline.store))  # the shape of `rag ingest --json`
    assert data["added"] == 2 and data["skipped"] == [] and data["store"]["articles"] == 2
    stored = {a.title: a for a in pipeline.store.iter_articles()}
    assert stored["Ferry strike called off"].id == "ferry-strike"  # the id `rag ingest ferry-strike.md` gives
    assert {a.source for a in stored.values()} == {"upload:ferry-strike.md", "upload:bridge.html"}
    answer = client.post("/api/ask", json={"question": "How many commuters use the morning crossing?"}).json()
    assert not answer["refused"] and answer["citations"][0]["article_id"] == "ferry-strike"
    answer = client.post("/api/ask", json={"question": "Why will the old swing bridge close?"}).json()
    assert not answer["refused"] and answer["citations"][0]["title"] == "Old swing bridge to close for repairs"
    assert client.get("/api/status").json()["articles"] == 2
    again = client.post("/api/ingest", json={"files": [upload("ferry-strike.md", FERRY_MD)]}).json()
    assert (again["added"], again["unchanged"]) == (0, 1)


def test_skipped_files_get_the_reasons_rag_ingest_gives(fresh: tuple[httpx.Client, Pipeline], tmp_path: Path) -> None:
    client, _ = fresh
    files = {
        "report.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        "long.md": article_md("Long", "The ferry runs every twenty minutes. " * 400),
        "empty.md": b"",
        "bad.md": "---\ntitle: [\n---\nbody text that is long enough to count as text.",
    }
    r = client.post("/api/ingest", json={"files": [upload(f"../../{n}", c) for n, c in files.items()]})
    assert r.status_code == 200, r.text
    got = {s["source"]: s["reason"] for s in r.json()["skipped"]}
    for name, content in files.items():
        write(tmp_path / "cli" / name, content)
    cli = {Path(s.source).name: s.reason for s in load_paths([tmp_path / "cli"], MAX) if not isinstance(s, Article)}
    assert got == {f"upload:{name}": reason for name, reason in cli.items()} and len(got) == 4
    assert "over the 12,000 bytes limit (RAG_MAX_ARTICLE_BYTES)" in got["upload:long.md"]
    assert got["upload:report.pdf"].startswith("unsupported file type .pdf")


def test_the_ingest_body_cap_fits_one_largest_file_and_nothing_else_grows(
    fresh: tuple[httpx.Client, Pipeline],
) -> None:
    client, pipeline = fresh
    limit = ingest_body_limit(pipeline.settings)
    assert MAX_BODY < 4 * MAX * 5 // 3 < limit <= 4 * MAX * 5 // 3 + MAX_BODY + 4
    page = b"<html><body><p>" + b"x" * (MAX * 5 - 40) + b"</p></body></html>"  # the largest page the loader reads
    body = json.dumps({"files": [upload("largest.html", page)]}).encode()
    assert MAX_BODY < len(body) < limit
    assert_error(client.post("/api/ask", content=body, headers={"content-type": "application/json"}), 413, "64 KiB")
    r = client.post("/api/ingest", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text  # arrived, and read by the loader (no article text in it)
    assert r.json()["skipped"][0]["source"] == "upload:largest.html"
    over = json.dumps({"files": [upload("over.html", b"x" * limit)]}).encode()
    assert_error(client.post("/api/ingest", content=over, headers={"content-type": "application/json"}), 413, "KiB")
    chunked = (over[i : i + 8192] for i in range(0, len(over), 8192))  # no Content-Length: counted as it arrives
    assert_error(client.post("/api/ingest", content=chunked, headers={"content-type": "application/json"}), 413)


def test_urls_are_fetched_as_rag_ingest_fetches_them(fresh: tuple[httpx.Client, Pipeline]) -> None:
    client, pipeline = fresh
    site = Site().start()
    try:
        site.routes["/news/ferry-terminal"] = Route(article_html(STORIES["/news/ferry-terminal"]), etag='"v1"')
        urls = [site.url("/news/ferry-terminal"), site.url("/missing")]
        data = client.post("/api/ingest", json={"urls": urls}).json()
        assert data["added"] == 1 and data["skipped"] == [{"source": urls[1], "reason": "HTTP 404"}]
        article = next(pipeline.store.iter_articles())
        assert article.url == urls[0] and article.outlet == "Daily Planet Online"
        again = client.post("/api/ingest", json={"urls": urls[:1]}).json()
        assert again["added"] == 0 and site.headers_of("/news/ferry-terminal")[-1]["if-none-match"] == '"v1"'
        answer = client.post("/api/ask", json={"question": "When will the new ferry terminal open?"}).json()
        assert not answer["refused"] and "March" in answer["text"]
    finally:
        site.stop()


def test_uploads_at_once_are_ingested_one_after_another_and_refresh_the_brief(
    fresh: tuple[httpx.Client, Pipeline],
) -> None:
    client, _ = fresh
    first = client.post("/api/ingest", json={"files": [upload("ferry-strike.md", FERRY_MD)]}).json()
    assert first["added"] == 1
    assert len(client.get("/api/brief").json()["stories"]) == 1
    names = ["council.md", "pool.md", "school.md"]
    bodies = [
        article_md(
            "Council passes budget", "The city council passed the budget by 31 votes to 24 on Saturday.", "2024-11-02"
        ),
        article_md(
            "Pool closes for winter", "The outdoor swimming pool on Dock Road closes for the winter.", "2024-11-02"
        ),
        article_md(
            "School meals extended",
            "All primary pupils in the region will get free lunches from January.",
            "2024-11-02",
        ),
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(
            pool.map(
                lambda nb: client.post("/api/ingest", json={"files": [upload(*nb)]}), zip(names, bodies, strict=True)
            )
        )
    assert [r.status_code for r in results] == [200] * 3, [r.text for r in results]
    assert sorted(r.json()["store"]["articles"] for r in results) == [2, 3, 4]  # one run at a time
    assert len(client.get("/api/brief").json()["stories"]) == 4  # the cached brief was dropped


def test_status_and_ingest_need_the_token(held: Pipeline) -> None:
    settings = held.settings.replace(server_token=TOKEN)
    with serving(create_app(settings, pipeline=held)) as url, httpx.Client(base_url=url, timeout=60) as c:
        assert_error(c.get("/api/status"), 401, "Authorization: Bearer")
        assert_error(c.post("/api/ingest", json={"files": [upload("x.md", FERRY_MD)]}), 401)
        big = json.dumps({"files": [upload("x.md", "x" * 80_000)]}).encode()  # refused before it is read
        assert_error(c.post("/api/ingest", content=big, headers={"content-type": "application/json"}), 401)
        ok = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/api/status", headers=ok).json()["articles"] == 3
        assert_error(c.post("/api/ingest", json={}, headers=ok), 422, "nothing to ingest")
