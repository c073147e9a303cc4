"""Feeds and pages against a real HTTP server on loopback: RSS and Atom feeds linking to article pages,
dead and broken sources, retries, a hanging page, conditional re-polls, the feeds file, and ingestion."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rag.errors import ConfigError
from rag.ingest.chunk import index_fingerprint, make_chunker
from rag.ingest.feeds import (
    FeedsConfig,
    Source,
    fetch_urls,
    html_text,
    load_feeds_file,
    poll_feeds,
    stored_links,
)
from rag.ingest.fetch import USER_AGENT, Fetcher, FetchError
from rag.ingest.ingest import ingest_items
from rag.ingest.load import Skipped, build_article, normalize_url
from rag.search.embed import LocalMiniLM
from rag.search.store import Store
from rag.settings import Settings
from rag.types import Article
from tests.conftest import write

# -- the site --------------------------------------------------------------------------------------------


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: str = ""
    last_modified: str = ""
    hang: float = 0.0  #: seconds to stall before answering (released early when the site stops)
    fail_first: int = 0  #: answer 503 to this many requests first


@dataclass
class Site:
    """A news site on 127.0.0.1: scripted routes, every request recorded (path and headers)."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def headers_of(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def start(self) -> Site:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = site.routes.get(self.path)
                if route is None:
                    return self._send(404, b"<html><body><h1>Not found</h1></body></html>", "text/html")
                if route.hang:
                    site.release.wait(route.hang)
                if route.fail_first > 0:
                    route.fail_first -= 1
                    return self._send(503, b"busy, try again", "text/plain")
                if route.status != 200:
                    return self._send(route.status, route.body, route.content_type)
                inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
                if (route.etag and inm == route.etag) or (route.last_modified and ims == route.last_modified):
                    return self._send(304, b"", "", route)
                self._send(200, route.body, route.content_type, route)

            def _send(self, status: int, body: bytes, ctype: str, route: Route | None = None) -> None:
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                if route and route.etag:
                    self.send_header("ETag", route.etag)
                if route and route.last_modified:
                    self.send_header("Last-Modified", route.last_modified)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up on a hanging page is part of the script

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# -- the content ----------------------------------------------------------------------------------------

STORIES: dict[str, dict[str, Any]] = {
    "/news/ferry-terminal": {
        "title": "Harbour ferry terminal to open in March",
        "site": "Daily Planet Online",
        "date": "2024-10-29",
        "author": "Lois Lane",
        "paragraphs": [
            "The harbour authority said on Tuesday that the new ferry terminal would open in March, two months "
            "later than planned, after delays in the delivery of the boarding bridges.",
            "Officials expect 4,000 passengers a day once the terminal is running at full capacity, with "
            "crossings to the islands every twenty minutes during the morning and evening peaks.",
            "Local businesses welcomed the decision, saying the terminal would bring visitors back to the old "
            "quarter, while residents of the waterfront worried about traffic on the narrow coast road.",
            "The authority's chair, Maria Keller, said the final cost of the project had risen to 84 million "
            "euros, and that the operator had agreed to keep fares at this year's level until 2026.",
        ],
    },
    "/news/council-budget": {
        "title": "Council passes budget with cuts to parks",
        "site": "Daily Planet Online",
        "date": "2024-10-27",
        "author": "Jimmy Olsen",
        "paragraphs": [
            "The city council passed next year's budget late on Sunday by 31 votes to 24, after a session that "
            "lasted more than nine hours and ended with a vote on the parks department.",
            "The budget cuts spending on parks by 6 percent and freezes hiring in the planning office, while "
            "adding money for road repairs and for two new school buildings in the northern districts.",
            "Opposition members said the cuts would close three public swimming pools during the winter and "
            "called on the mayor to publish the list of projects that would be delayed.",
        ],
    },
    "/news/flaky-bridge": {
        "title": "Old swing bridge to close for repairs",
        "site": "Daily Planet Online",
        "date": "2024-10-28",
        "author": "Perry White",
        "paragraphs": [
            "The old swing bridge over the canal will close for repairs from Monday for at least six weeks, "
            "the city's transport department announced in a statement on Monday morning.",
            "Engineers found corrosion in the turning mechanism during an inspection in September, and the "
            "department said the bridge could no longer be opened safely for boats in its present state.",
            "Cyclists and pedestrians will be sent over the rail bridge, where a temporary path is being built, "
            "and two extra bus routes will run between the station and the harbour during the works.",
        ],
    },
    "/news/wind-farm": {
        "title": "Offshore wind farm approved despite fishing objections",
        "site": "Harbour Gazette",
        "date": "2024-10-25",
        "author": "Ann Rivers",
        "paragraphs": [
            "The national energy agency approved a 60-turbine offshore wind farm on Friday, ending a two-year "
            "review in which local fishing cooperatives had argued that the site covered their best grounds.",
            "The developer says the farm will supply about 400,000 homes once it is completed in 2029, and it "
            "has promised a compensation fund for fishermen who lose access to the area during construction.",
            "The cooperatives said they would appeal the decision in the administrative court, arguing that the "
            "environmental study had underestimated the effect of the turbines on spawning grounds.",
        ],
    },
    "/news/school-meals": {
        "title": "Free school meals extended to all primary pupils",
        "site": "Harbour Gazette",
        "date": "2024-10-24",
        "author": "Ann Rivers",
        "paragraphs": [
            "All primary school pupils in the region will receive free lunches from January, the regional "
            "government announced on Thursday, extending a scheme that had covered only the youngest classes.",
            "The extension will cost about 12 million euros a year and will be paid for from the regional "
            "education budget, officials said, without cuts to other school programmes.",
            "Parents' associations welcomed the decision, while some head teachers warned that school kitchens "
            "would need more staff to serve twice as many meals in the same lunch break.",
        ],
    },
    "/news/library-reopens": {
        "title": "Central library reopens after two-year renovation",
        "site": "",
        "date": "2024-10-26",
        "author": "",
        "paragraphs": [
            "The central library reopened on Saturday after a two-year renovation that added a children's wing, "
            "a rooftop reading room and space for 80,000 more books on its lower floors.",
            "Hundreds of people queued before the doors opened at ten, and the librarians said they had issued "
            "more than 1,200 new library cards by the early afternoon of the first day.",
            "The renovation cost 23 million euros, most of it paid by the city, with the rest coming from a "
            "foundation set up by a local family whose printing business once stood across the square.",
        ],
    },
}

BOILERPLATE = ("Subscribe to our newsletter", "All rights reserved", "Most read", "Celebrity chef")

FALLBACK_CONTENT = (
    "<p>The port's pilots will strike for 48 hours from Wednesday in a dispute over night shifts, their "
    "union said on Monday, and the harbour master warned that large ships would have to wait at anchor.</p>"
    "<p>The union says the pilots have worked more than 300 hours of overtime each this year and that the "
    "port authority has refused to hire the six extra pilots it promised in the last agreement.</p>"
    "<p>The port authority said it regretted the strike and would ask the labour court to order a minimum "
    "service for ferries and for ships carrying fuel to the power station.</p>"
)


def article_html(story: dict[str, Any]) -> bytes:
    site, title = story["site"], story["title"]
    meta = [f'<meta property="og:title" content="{title}">']
    if site:
        meta.append(f'<meta property="og:site_name" content="{site}">')
    meta.append(f'<meta property="article:published_time" content="{story["date"]}T07:30:00+00:00">')
    if story["author"]:
        meta.append(f'<meta name="author" content="{story["author"]}">')
    paragraphs = "\n".join(f"<p>{p}</p>" for p in story["paragraphs"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} | {site or "News"}</title>
{chr(10).join(meta)}
</head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a>
<a href="/subscribe">Subscribe to our newsletter</a></nav></header>
<main><article><h1>{title}</h1>
<p class="byline">By {story["author"] or "Staff"}</p>
{paragraphs}
</article>
<aside class="related"><h3>Most read</h3><ul><li><a href="/x">Celebrity chef opens third restaurant</a></li>
<li><a href="/y">Celebrity chef closes second restaurant</a></li></ul></aside></main>
<footer><p>© 2024 {site or "News"}. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>""".encode()


def rss(site: Site, extra_items: str = "") -> bytes:
    def item(path: str, pub: str | None = "Tue, 29 Oct 2024 08:00:00 GMT", body: str = "") -> str:
        title = STORIES[path]["title"] if path in STORIES else path
        date = f"<pubDate>{pub}</pubDate>" if pub else ""
        return f"<item><title>{title}</title><link>{site.url(path)}</link>{date}{body}</item>"

    items = [
        item("/news/ferry-terminal"),
        item("/news/council-budget", pub=None),  # no date in the feed: the page's date is used
        item("/news/flaky-bridge", pub="Mon, 28 Oct 2024 09:15:00 GMT"),
        "<item><title>Pilots to strike at the port</title>"
        f"<link>{site.url('/news/pilots-strike')}</link><pubDate>Mon, 28 Oct 2024 06:00:00 GMT</pubDate>"
        f"<content:encoded><![CDATA[{FALLBACK_CONTENT}]]></content:encoded></item>",
        "<item><title>Teaser for a removed story</title>"
        f"<link>{site.url('/news/removed')}</link><pubDate>Mon, 28 Oct 2024 05:00:00 GMT</pubDate>"
        "<description>A short teaser.</description></item>",
    ]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Daily Planet</title><link>{site.url("/")}</link><description>City news</description>
{"".join(items)}{extra_items}
</channel></rss>""".encode()


def atom(site: Site) -> bytes:
    entries = "".join(
        f"""<entry><title>{STORIES[p]["title"]}</title><link rel="alternate" href="{site.url(p)}"/>
<id>tag:gazette,2024:{p}</id><updated>{STORIES[p]["date"]}T10:00:00Z</updated>
<author><name>{STORIES[p]["author"]}</name></author><summary>Short summary.</summary></entry>"""
        for p in ("/news/wind-farm", "/news/school-meals")
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Harbour Gazette</title>
<id>tag:gazette,2024:feed</id><updated>2024-10-25T10:00:00Z</updated>
{entries}</feed>""".encode()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site().start()
    for path, story in STORIES.items():
        s.routes[path] = Route(article_html(story))
    s.routes["/news/flaky-bridge"].fail_first = 1
    s.routes["/rss.xml"] = Route(rss(s), content_type="application/rss+xml", etag='"rss-v1"')
    s.routes["/atom.xml"] = Route(
        atom(s), content_type="application/atom+xml", last_modified="Fri, 25 Oct 2024 10:00:00 GMT"
    )
    s.routes["/broken.xml"] = Route(
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title><item><title>Half',
        content_type="application/rss+xml",
    )
    s.routes["/files/report.pdf"] = Route(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", content_type="application/pdf")
    s.routes["/news/slow"] = Route(article_html(STORIES["/news/library-reopens"]), hang=5.0)
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rag.ingest.fetch.BACKOFF_SECONDS", 0.01)


def good_feeds(site: Site) -> FeedsConfig:
    return FeedsConfig(feeds=(Source(site.url("/rss.xml"), "Daily Planet"), Source(site.url("/atom.xml"))))


def full_config(site: Site) -> FeedsConfig:
    good = good_feeds(site)
    return FeedsConfig(
        feeds=(*good.feeds, Source(site.url("/broken.xml")), Source(site.url("/gone.xml"))),
        pages=tuple(
            Source(site.url(p)) for p in ("/news/library-reopens", "/files/report.pdf", "/news/slow", "/missing")
        ),
    )


def split(items: list[Article | Skipped]) -> tuple[dict[str, Article], dict[str, Skipped]]:
    articles = {i.url: i for i in items if isinstance(i, Article)}
    skipped = [i for i in items if isinstance(i, Skipped)]
    by_source = {s.source: s for s in skipped}
    assert len(by_source) == len(skipped), f"more than one skip for a source: {skipped}"
    return articles, by_source


ARTICLE_PATHS = [*STORIES, "/news/pilots-strike", "/news/removed"]


# -- polling ---------------------------------------------------------------------------------------------


def test_poll_yields_clean_articles_and_one_skip_per_broken_source(site: Site, tmp_path: Path) -> None:
    items = list(poll_feeds(full_config(site), tmp_path / "state.json", timeout=0.5))
    articles, skipped = split(items)

    expect = {
        "/news/ferry-terminal": ("Daily Planet", dt.date(2024, 10, 29)),  # the feed file's name wins
        "/news/council-budget": ("Daily Planet", dt.date(2024, 10, 27)),  # no pubDate: the page's date
        "/news/flaky-bridge": ("Daily Planet", dt.date(2024, 10, 28)),
        "/news/wind-farm": ("Harbour Gazette", dt.date(2024, 10, 25)),  # no name: the page's site name
        "/news/school-meals": ("Harbour Gazette", dt.date(2024, 10, 24)),
        "/news/library-reopens": ("127.0.0.1", dt.date(2024, 10, 26)),  # no site name: the host
    }
    assert set(articles) == {site.url(p) for p in [*expect, "/news/pilots-strike"]}
    for path, (outlet, published) in expect.items():
        a, story = articles[site.url(path)], STORIES[path]
        assert (a.title, a.outlet, a.published) == (story["title"], outlet, published), path
        for paragraph in story["paragraphs"]:
            assert paragraph in a.text
        assert not any(b in a.text for b in BOILERPLATE), a.text
        same = build_article({"url": a.url}, a.text, source="x", fallback_id="x")
        assert a.id == same.id and a.id.startswith("u-")  # ids derived from the URL, as for files
    assert articles[site.url("/news/wind-farm")].authors == ("Ann Rivers",)

    # the page is gone but the feed carries the full text: the article comes from the feed
    pilots = articles[site.url("/news/pilots-strike")]
    assert pilots.title == "Pilots to strike at the port" and pilots.published == dt.date(2024, 10, 28)
    assert "night shifts" in pilots.text and "<p>" not in pilots.text and pilots.outlet == "Daily Planet"

    reasons = {
        "/broken.xml": "not a valid RSS/Atom feed",
        "/gone.xml": "HTTP 404",
        "/news/removed": "HTTP 404; the feed's own text is too short to use",
        "/files/report.pdf": "not HTML (content-type application/pdf)",
        "/news/slow": "timed out after 3 attempts",
        "/missing": "HTTP 404",
    }
    assert set(skipped) == {site.url(p) for p in reasons}
    for path, reason in reasons.items():
        s = skipped[site.url(path)]
        assert s.reason.startswith(reason), s
        line = f"{s.source}: {s.reason}"
        assert "\n" not in line and "Traceback" not in line and site.url(path) in line

    assert site.count("/news/flaky-bridge") == 2  # 503, retried, 200
    assert site.count("/news/slow") == 3
    assert site.count("/missing") == 1  # a 404 is not retried
    assert {h["user-agent"] for _, h in site.requests} == {USER_AGENT}


def test_second_poll_is_conditional_and_fetches_nothing(site: Site, tmp_path: Path) -> None:
    state = tmp_path / "data" / "feeds-state.json"
    first = list(poll_feeds(good_feeds(site), state))
    assert sum(isinstance(i, Article) for i in first) == 6
    saved = json.loads(state.read_text())
    assert saved["validators"][site.url("/rss.xml")]["etag"] == '"rss-v1"'
    assert not list(tmp_path.joinpath("data").glob("*.tmp"))  # written atomically, nothing left over
    pages_before = sum(site.count(p) for p in ARTICLE_PATHS)

    again = list(poll_feeds(good_feeds(site), state))

    assert again == []
    assert sum(site.count(p) for p in ARTICLE_PATHS) == pages_before
    assert site.headers_of("/rss.xml")[-1]["if-none-match"] == '"rss-v1"'
    assert site.headers_of("/atom.xml")[-1]["if-modified-since"] == "Fri, 25 Oct 2024 10:00:00 GMT"


def test_changed_feed_fetches_only_its_new_entry(site: Site, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    config = FeedsConfig(feeds=(Source(site.url("/rss.xml"), "Daily Planet"),))
    list(poll_feeds(config, state))
    new = f"<item><title>New story</title><link>{site.url('/news/library-reopens')}</link></item>"
    site.routes["/rss.xml"] = Route(rss(site, new), content_type="application/rss+xml", etag='"rss-v2"')
    before = {p: site.count(p) for p in ARTICLE_PATHS}

    items = list(poll_feeds(config, state))

    assert [i.url for i in items if isinstance(i, Article)] == [site.url("/news/library-reopens")]
    assert [i.title for i in items if isinstance(i, Article)] == ["New story"]  # the entry's title wins
    fetched = [p for p in ARTICLE_PATHS if site.count(p) > before[p]]
    assert fetched == ["/news/library-reopens"]


def test_known_links_are_not_fetched(site: Site, tmp_path: Path) -> None:
    asked: list[list[str]] = []

    def known(links: list[str]) -> set[str]:
        asked.append(links)
        return {normalize_url(site.url("/news/ferry-terminal")), normalize_url(site.url("/news/wind-farm/"))}

    items = list(poll_feeds(good_feeds(site), tmp_path / "s.json", known=known))
    assert len([i for i in items if isinstance(i, Article)]) == 4
    assert site.count("/news/ferry-terminal") == site.count("/news/wind-farm") == 0
    assert len(asked) == len(good_feeds(site).feeds)  # one question per feed, with all of its links


def test_entry_that_failed_for_a_temporary_reason_is_retried_next_poll(site: Site, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    config = FeedsConfig(feeds=(Source(site.url("/rss.xml"), "Daily Planet"),))
    site.routes["/news/flaky-bridge"].fail_first = 2
    first = list(poll_feeds(config, state, retries=1))
    flaky = site.url("/news/flaky-bridge")
    assert [i.reason for i in first if isinstance(i, Skipped) and i.source == flaky] == [
        "HTTP 503 after 2 attempts; the feed's own text is too short to use"
    ]

    second = list(poll_feeds(config, state, retries=1))  # the feed is fetched in full again, not with a 304

    assert [(type(i), i.source) for i in second] == [(Article, flaky)]
    assert "if-none-match" not in site.headers_of("/rss.xml")[-1]


def test_a_paywalled_teaser_page_gives_way_to_the_feeds_full_text(site: Site, tmp_path: Path) -> None:
    teaser = dict(STORIES["/news/ferry-terminal"], paragraphs=[STORIES["/news/ferry-terminal"]["paragraphs"][0]])
    site.routes["/news/paywalled"] = Route(article_html(teaser))
    item = (
        f"<item><title>Pilots to strike at the port</title><link>{site.url('/news/paywalled')}</link>"
        f"<content:encoded><![CDATA[{FALLBACK_CONTENT}]]></content:encoded></item>"
    )
    feed = rss(site)
    site.routes["/paywall.xml"] = Route(feed[: feed.index(b"<item>")] + item.encode() + b"</channel></rss>")
    items = list(poll_feeds(FeedsConfig(feeds=(Source(site.url("/paywall.xml")),)), tmp_path / "s.json"))
    assert len(items) == 1 and isinstance(items[0], Article)
    assert "night shifts" in items[0].text and items[0].outlet == "Daily Planet Online"
    assert site.count("/news/paywalled") == 1


def test_fetch_urls_fetches_pages_conditionally(site: Site, tmp_path: Path) -> None:
    site.routes["/news/council-budget"].etag = '"budget-1"'
    urls = [site.url("/news/council-budget"), "ftp://example.com/x", site.url("/files/report.pdf")]
    items = list(fetch_urls(urls, tmp_path / "s.json"))
    articles, skipped = split(items)
    assert articles[site.url("/news/council-budget")].outlet == "Daily Planet Online"
    assert skipped["ftp://example.com/x"].reason == "not an http(s) URL"
    assert skipped[site.url("/files/report.pdf")].reason == "not HTML (content-type application/pdf)"

    again = list(fetch_urls(urls[:1], tmp_path / "s.json"))
    assert again == [] and site.headers_of("/news/council-budget")[-1]["if-none-match"] == '"budget-1"'


def test_corrupt_state_file_means_a_fresh_poll(site: Site, tmp_path: Path) -> None:
    state = write(tmp_path / "state.json", "{not json")
    items = list(poll_feeds(FeedsConfig(feeds=(Source(site.url("/atom.xml")),)), state))
    assert len(items) == 2 and json.loads(state.read_text())["version"] == 1


# -- the fetcher ------------------------------------------------------------------------------------------


def test_fetcher_caps_the_response_size(site: Site) -> None:
    site.routes["/big"] = Route(b"<p>" + b"x" * 5000 + b"</p>")
    with Fetcher(max_bytes=1000) as fetcher, pytest.raises(FetchError) as err:
        fetcher.get(site.url("/big"))
    assert str(err.value) == f"{site.url('/big')}: response larger than 1,000 bytes"
    assert site.count("/big") == 1


def test_connection_refused_is_retried_then_one_line(tmp_path: Path) -> None:
    free = Site().start()
    url = free.url("/rss.xml")
    free.stop()  # nothing listens on that port any more
    items = list(poll_feeds(FeedsConfig(feeds=(Source(url),)), tmp_path / "s.json", retries=1))
    assert len(items) == 1 and isinstance(items[0], Skipped)
    assert items[0].reason.startswith("connection failed") and items[0].reason.endswith("after 2 attempts")


# -- the feeds file --------------------------------------------------------------------------------------


def test_load_feeds_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "feeds.toml",
        '[[feed]]\nurl = "https://example.com/rss.xml"\nname = "Example News"\n\n'
        '[[feed]]\nurl = "https://example.org/atom.xml"\n\n[[page]]\nurl = "https://example.com/some-article"\n',
    )
    config = load_feeds_file(path)
    assert config.feeds == (
        Source("https://example.com/rss.xml", "Example News"),
        Source("https://example.org/atom.xml"),
    )
    assert config.pages == (Source("https://example.com/some-article"),)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ('[[feed]\nurl = "https://example.com"', "not valid TOML"),
        ('[[feed]]\nname = "No URL"', "needs an http(s) url"),
        ('[[feed]]\nurl = "ftp://example.com/rss"', "needs an http(s) url"),
        ('[[page]]\nurl = "example.com/story"', "needs an http(s) url"),
        ('[[feed]]\nurl = "https://example.com/rss"\nnmae = "typo"', "unknown key 'nmae'"),
        ('feed = "https://example.com/rss"', "must be a list"),
        ('[[feeds]]\nurl = "https://example.com/rss"', "unknown section 'feeds'"),
        ("# nothing yet\n", "lists no [[feed]] or [[page]] entries"),
    ],
)
def test_invalid_feeds_file_is_a_config_error(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "feeds.toml"
    if content is not None:
        write(path, content)
    with pytest.raises(ConfigError) as err:
        load_feeds_file(path)
    assert message in str(err.value) and "\n" not in str(err.value) and str(path) in str(err.value)


# -- a feed's own text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        # entities decoded, a no-break space is a space
        ("<p>Fish &amp; chips &lt;3 &eacute;t&eacute; &#8220;hot&#8221;&nbsp;now</p>", "Fish & chips <3 été “hot” now"),
        # scripts, styles and comments are not text (a comment left open at the end neither)
        ("<style>p{color:red}</style><p>Kept</p><script>alert('<p>no</p>')</script> tail<!-- note -->", "Kept\n\ntail"),
        ("<p>Kept</p><!-- an unclosed comment", "Kept"),
        # block elements and line breaks end a paragraph; inline ones do not
        ("Lede <b>bold</b> text<br>Next line<div>Block</div><ul><li>One</li><li>Two</li></ul>",
         "Lede bold text\n\nNext line\n\nBlock\n\nOne\n\nTwo"),
        ("<p>  spread\n  over   lines </p>", "spread over lines"),
        ("   ", ""),
    ],
)  # fmt: skip
def test_feed_html_becomes_plain_paragraphs(markup: str, text: str) -> None:
    assert html_text(markup) == text


# -- into the store --------------------------------------------------------------------------------------


def test_polled_items_ingest_into_a_real_store(
    site: Site, tmp_path: Path, settings: Settings, embedder: LocalMiniLM
) -> None:
    config = FeedsConfig(feeds=(*good_feeds(site).feeds, Source(site.url("/broken.xml"))))
    chunker = make_chunker(settings.chunk_tokens, settings.chunk_overlap, embedder)
    store = Store(settings, index_fingerprint(embedder, chunker))
    items = poll_feeds(config, settings.data_dir / "feeds-state.json")
    report = ingest_items(items, store=store, embedder=embedder, chunker=chunker)
    assert (report.added, len(report.skipped)) == (6, 2)  # the broken feed and the teaser whose page is gone
    stored = {a.url: a for a in store.iter_articles()}
    wind = stored[site.url("/news/wind-farm")]
    assert (wind.title, wind.outlet, wind.published) == (
        STORIES["/news/wind-farm"]["title"],
        "Harbour Gazette",
        dt.date(2024, 10, 25),
    )
    assert store.count_chunks() >= 6


def test_the_store_says_which_links_it_holds_without_reading_every_article(
    site: Site, settings: Settings, embedder: LocalMiniLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunker = make_chunker(settings.chunk_tokens, settings.chunk_overlap, embedder)
    store = Store(settings, index_fingerprint(embedder, chunker))
    text = "The harbour ferry terminal reopened on Monday after a storm closed it for eleven days. " * 3
    polled_meta = {"title": "Ferry", "url": "https://www.gazette.example/news/ferry/"}
    polled = build_article(polled_meta, text, source="feed", fallback_id="x")
    filed_meta = {"id": "file-7", "title": "Dam", "url": "https://gazette.example/dam"}
    filed = build_article(filed_meta, text + " The dam held.", source="file", fallback_id="y")
    assert polled.id != "x" and filed.id == "file-7"
    ingest_items([polled, filed], store=store, embedder=embedder, chunker=chunker)
    monkeypatch.setattr(Store, "iter_articles", lambda *a, **k: pytest.fail("read every stored article"))

    known = stored_links(store)(
        ["https://gazette.example/news/ferry", "https://gazette.example/dam", "https://gazette.example/new"]
    )

    # the polled article by the id its URL gives (www. and a trailing / are the same link), the filed one by its url
    assert known == {"gazette.example/news/ferry", "gazette.example/dam"}
    assert stored_links(store)([]) == set()


@pytest.mark.slow  # near 20 s: five CLI runs (two feed polls, a page fetch, a refreshing brief)
def test_cli_ingests_feeds_and_urls_and_briefs_with_refresh(site: Site, tmp_path: Path) -> None:
    from tests.conftest import cli_env, run_cli

    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        f'[[feed]]\nurl = "{site.url("/rss.xml")}"\nname = "Daily Planet"\n\n'
        f'[[feed]]\nurl = "{site.url("/broken.xml")}"\n\n[[page]]\nurl = "{site.url("/missing")}"\n'
    )
    first = run_cli(tmp_path, "ingest", "--feeds", str(feeds))
    assert first.returncode == 3, first.stderr
    assert "added" in first.stdout
    skips = [line for line in first.stderr.splitlines() if line.startswith("skipped ")]
    assert any("/broken.xml" in s for s in skips)
    again = run_cli(tmp_path, "ingest", "--feeds", str(feeds))
    assert "nothing to embed" in again.stdout
    page = run_cli(tmp_path, "ingest", site.url("/news/library-reopens"))
    assert page.returncode == 0, page.stderr
    refreshed = run_cli(tmp_path, "brief", "--refresh", "--no-save", env=cli_env(tmp_path, RAG_FEEDS=str(feeds)))
    assert refreshed.returncode == 0, refreshed.stderr
    assert "refresh:" in refreshed.stderr and refreshed.stdout.startswith("# Briefing — ")
    bad = run_cli(tmp_path, "ingest", "--prune", "--feeds", str(feeds))
    assert bad.returncode == 2 and "--prune works with files" in bad.stderr
