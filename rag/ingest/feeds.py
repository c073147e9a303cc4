"""Fresh articles from RSS/Atom feeds and article URLs: the feeds file, polling, and the poll state.

Everything comes out as ``Article | Skipped``, ready for ``rag.ingest.ingest.ingest_items``; a dead feed, page or
entry is one ``Skipped`` naming its URL, and polling goes on. Each entry's linked page is fetched and its
main text extracted (``rag.ingest.pages``); when that fails, the feed's own text is used if there is enough of it.
Articles are built by ``rag.ingest.load.build_article``, so ids derive from the URL exactly as for files.

The state file (JSON, written atomically when an iteration completes) keeps each URL's ETag/Last-Modified
and, per feed, the entry links already handled, so a re-poll downloads nothing it has seen. A feed's
validators are only kept when every entry was settled: an entry that failed for a temporary reason
(timeout, 5xx) is retried on the next poll. The state trusts that what was yielded got stored; delete the
file after dropping the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.html
from lxml import etree

from rag.errors import ConfigError, RagError
from rag.ingest.fetch import Fetched, Fetcher, FetchError, Validators, is_http_url, one_line
from rag.ingest.load import LoadError, Skipped, build_article, normalize_url, parse_date, url_article_id
from rag.ingest.pages import Page, extract_page
from rag.types import Article

if TYPE_CHECKING:
    from rag.search.store import Store

#: Given some links, the normalised URLs among them that the store already holds.
Known = Callable[[list[str]], set[str]]


def nothing_known(links: list[str]) -> set[str]:
    """No link is stored yet (a rebuild, or fetching named URLs)."""
    return set()


def stored_links(store: Store) -> Known:
    """The store's answer to "which of these links do you hold?", asked per feed: by the id an article read
    from a URL gets, and by the URL field for articles stored under other ids (files that name their URL). A poll
    so costs O(feed), not a read of every stored article."""

    def known(links: list[str]) -> set[str]:
        if not links:
            return set()
        by_id = {url_article_id(link): normalize_url(link) for link in links}
        held = {by_id[aid] for aid in store.records(list(by_id))}
        return held | {normalize_url(url) for url in store.stored_urls(list(dict.fromkeys(links)))}

    return known


#: Below this many characters, a feed's own text is a teaser, not an article worth ingesting.
FEED_TEXT_MIN = 400
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
HTML_TYPES = {"text/html", "application/xhtml+xml"}
STATE_VERSION = 1


@dataclass(frozen=True)
class Source:
    """One ``[[feed]]`` or ``[[page]]`` entry of the feeds file."""

    url: str
    name: str = ""  #: outlet for its articles; "" = the page's site name, else the URL's host


@dataclass(frozen=True)
class FeedsConfig:
    """The feeds file: feeds to poll and single article pages to fetch."""

    feeds: tuple[Source, ...] = ()
    pages: tuple[Source, ...] = ()


def load_feeds_file(path: str | Path) -> FeedsConfig:
    """Read and validate a feeds file (TOML); ``ConfigError`` with a one-line reason otherwise."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f'feeds file {path} not found; create it with [[feed]] entries (url = "...")') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read feeds file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"feeds file {path} is not valid TOML: {one_line(str(exc))}") from None
    unknown = sorted(set(data) - {"feed", "page"})
    if unknown:
        raise ConfigError(f"feeds file {path}: unknown section {unknown[0]!r}; use [[feed]] and [[page]]")
    feeds = _sources(data.get("feed", []), "feed", path)
    pages = _sources(data.get("page", []), "page", path)
    if not feeds and not pages:
        raise ConfigError(f"feeds file {path} lists no [[feed]] or [[page]] entries")
    return FeedsConfig(feeds, pages)


def _sources(raw: Any, kind: str, path: Path) -> tuple[Source, ...]:
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise ConfigError(f"feeds file {path}: `{kind}` must be a list of [[{kind}]] tables")
    out: dict[str, Source] = {}
    for n, entry in enumerate(raw, start=1):
        where = f"feeds file {path}: [[{kind}]] #{n}"
        extra = sorted(set(entry) - {"url", "name"})
        if extra:
            raise ConfigError(f"{where} has an unknown key {extra[0]!r}; only url and name are allowed")
        url, name = entry.get("url"), entry.get("name", "")
        if not isinstance(url, str) or not is_http_url(url.strip()):
            raise ConfigError(f"{where} needs an http(s) url, not {url!r}")
        if not isinstance(name, str):
            raise ConfigError(f"{where}: name must be a string, not {name!r}")
        out.setdefault(url.strip(), Source(url.strip(), name.strip()))
    return tuple(out.values())


@dataclass
class PollState:
    """What the last polls learnt: validators per URL, and per feed the entry links already handled."""

    validators: dict[str, Validators] = field(default_factory=dict)
    seen: dict[str, list[str]] = field(default_factory=dict)  #: feed URL → normalised entry links

    @classmethod
    def load(cls, path: Path) -> PollState:
        """The saved state; a missing or unreadable file is an empty state (the next poll refetches)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            return cls()
        validators = {
            url: Validators(str(v.get("etag", "")), str(v.get("last_modified", "")))
            for url, v in (data.get("validators") or {}).items()
            if isinstance(v, dict)
        }
        seen = {
            url: [str(x) for x in links] for url, links in (data.get("seen") or {}).items() if isinstance(links, list)
        }
        return cls(validators, seen)

    def save(self, path: Path) -> None:
        """Write atomically: a temp file in the same folder, then ``os.replace``."""
        data = {
            "version": STATE_VERSION,
            "validators": {
                url: {"etag": v.etag, "last_modified": v.last_modified} for url, v in sorted(self.validators.items())
            },
            "seen": dict(sorted(self.seen.items())),
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(data, f, indent=1)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise RagError(f"cannot write the feed state {path}: {exc.strerror or exc}") from None

    def remember(self, url: str, validators: Validators) -> None:
        if validators:
            self.validators[url] = validators
        else:
            self.validators.pop(url, None)


def poll_feeds(
    config: FeedsConfig,
    state_path: str | Path,
    *,
    timeout: float = 10.0,
    retries: int = 2,
    known: Known = nothing_known,
) -> Iterator[Article | Skipped]:
    """New articles from every feed and page of ``config``; links ``known`` says are stored are not fetched again."""
    state_path = Path(state_path)
    state = PollState.load(state_path)
    with Fetcher(timeout=timeout, retries=retries) as fetcher:
        poller = _Poller(fetcher, state, known)
        for feed in config.feeds:
            yield from poller.feed(feed)
        for page in config.pages:
            yield from poller.page(page)
    state.save(state_path)


def fetch_urls(
    urls: Iterable[str], state_path: str | Path, *, timeout: float = 10.0, retries: int = 2
) -> Iterator[Article | Skipped]:
    """An article from each URL's page (conditionally: a page unchanged since last time yields nothing)."""
    state_path = Path(state_path)
    state = PollState.load(state_path)
    with Fetcher(timeout=timeout, retries=retries) as fetcher:
        poller = _Poller(fetcher, state, nothing_known)
        for url in urls:
            yield from poller.page(Source(url.strip()))
    state.save(state_path)


class _Poller:
    """One polling run: a fetcher, the state it updates, and the links settled so far."""

    def __init__(self, fetcher: Fetcher, state: PollState, known: Known) -> None:
        self.fetcher = fetcher
        self.state = state
        self.known = known  #: which links the caller already stores
        self.handled: set[str] = set()  #: normalised URLs tried in this run (a link in two feeds goes once)

    def feed(self, source: Source) -> Iterator[Article | Skipped]:
        try:
            fetched = self.fetcher.get(source.url, validators=self.state.validators.get(source.url), accept=FEED_ACCEPT)
        except FetchError as exc:
            yield Skipped(source.url, exc.reason)
            return
        if fetched.not_modified:
            return
        parsed = feedparser.parse(fetched.body, response_headers={"content-location": fetched.final_url})
        if parsed.get("bozo") and not any(e.get("link") for e in parsed.entries):  # broken, nothing salvageable
            problem = one_line(str(parsed.get("bozo_exception") or "unreadable"))
            yield Skipped(source.url, f"not a valid RSS/Atom feed ({problem})")
            return
        before = set(self.state.seen.get(source.url, ()))
        links = [_entry_link(entry, fetched.final_url) for entry in parsed.entries]
        stored = self.known([link for link in links if link and normalize_url(link) not in before])
        settled: list[str] = []
        complete = True
        for entry, link in zip(parsed.entries, links, strict=True):
            if not link:
                yield Skipped(source.url, f"entry {one_line(str(entry.get('title', '')), 80)!r} has no http(s) link")
                continue
            key = normalize_url(link)
            if key in before or key in stored or key in self.handled:
                settled.append(key)
                continue
            self.handled.add(key)
            item, done = self._entry(entry, link, source)
            if done:
                settled.append(key)
            else:
                complete = False
            yield item
        self.state.seen[source.url] = sorted(set(settled))
        self.state.remember(source.url, fetched.validators if complete else Validators())

    def page(self, source: Source) -> Iterator[Article | Skipped]:
        key = normalize_url(source.url)
        if key in self.handled or key in self.known([source.url]):
            return
        self.handled.add(key)
        try:
            fetched = self.fetcher.get(source.url, validators=self.state.validators.get(source.url), accept=HTML_ACCEPT)
            if fetched.not_modified:
                return
            page = _extract(fetched)
        except FetchError as exc:
            yield Skipped(source.url, exc.reason)
            return
        meta = {
            "url": source.url,
            "title": page.title,
            "published": _page_date(page),
            "outlet": source.name or _site_name(page, source.url),
            "authors": list(page.authors),
        }
        item = _build(meta, page.text, source.url)
        if isinstance(item, Article):
            self.state.remember(source.url, fetched.validators)
        yield item

    def _entry(self, entry: Any, link: str, feed: Source) -> tuple[Article | Skipped, bool]:
        """The entry's article (or why not), and whether it is settled (False: retry on the next poll)."""
        meta: dict[str, Any] = {
            "url": link,
            "title": one_line(str(entry.get("title") or ""), 300),
            "published": _entry_date(entry),
            "outlet": feed.name,
            "authors": _entry_authors(entry),
        }
        own = _entry_text(entry)
        usable = own if len(own) >= FEED_TEXT_MIN else ""
        try:
            page = _extract(self.fetcher.get(link, accept=HTML_ACCEPT))
        except FetchError as exc:
            if usable:
                return _build(meta, usable, link), True
            return Skipped(link, f"{exc.reason}; the feed's own text is too short to use"), not exc.transient
        meta["title"] = meta["title"] or page.title
        meta["published"] = meta["published"] or _page_date(page)
        meta["outlet"] = meta["outlet"] or _site_name(page, link)
        meta["authors"] = meta["authors"] or list(page.authors)
        text = usable if len(usable) > len(page.text) else page.text  # a paywalled page can be a mere teaser
        return _build(meta, text, link), True


def _extract(fetched: Fetched) -> Page:
    """The article in an HTML response; ``FetchError`` for a non-HTML body or a page without main text."""
    url = fetched.url
    if fetched.content_type and fetched.content_type not in HTML_TYPES:
        raise FetchError(url, f"not HTML (content-type {fetched.content_type})")
    if not fetched.content_type and not fetched.body.lstrip()[:1] == b"<":
        raise FetchError(url, "not HTML (no content-type, and the body is not markup)")
    page = extract_page(fetched.body, url=fetched.final_url)
    if page is None:
        raise FetchError(url, "no article text found in the page")
    return page


def _site_name(page: Page, url: str) -> str:
    """The page's site name; "" when it is only the host (with its port), so the host rule applies."""
    parts = urlsplit(url)
    hosts = {parts.netloc.lower(), (parts.hostname or "").lower()}
    hosts |= {h.removeprefix("www.") for h in hosts}
    return "" if page.outlet.lower() in hosts else page.outlet


def _build(meta: dict[str, Any], text: str, url: str) -> Article | Skipped:
    try:
        return build_article(meta, text, source=url, fallback_id="w-" + hashlib.sha1(url.encode()).hexdigest()[:12])
    except LoadError as exc:
        return Skipped(url, str(exc))


def _entry_link(entry: Any, base: str) -> str:
    link = str(entry.get("link") or "").strip()
    if not link:
        return ""
    link = urljoin(base, link)
    return link if is_http_url(link) else ""


def _entry_date(entry: Any) -> dt.date | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return dt.date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
            except (AttributeError, ValueError):
                continue
    return None


def _page_date(page: Page) -> dt.date | None:
    """The page's own date, or None when it is unreadable: page metadata is too messy to skip over."""
    try:
        return parse_date(page.date)
    except LoadError:
        return None


def _entry_authors(entry: Any) -> list[str]:
    names = [str(a.get("name") or "").strip() for a in entry.get("authors") or [] if isinstance(a, dict)]
    names = [n for n in names if n]
    if not names and entry.get("author"):
        names = [str(entry.get("author")).strip()]
    return names


def _entry_text(entry: Any) -> str:
    """The longest text the feed itself carries for the entry (full content, else summary), as plain text."""
    candidates = [str(c.get("value") or "") for c in entry.get("content") or [] if isinstance(c, dict)]
    candidates.append(str(entry.get("summary") or ""))
    return max((html_text(c) for c in candidates), key=len, default="")


#: Elements that start a paragraph of their own; what scripts and styles hold is not text.
_BLOCKS = frozenset({"p", "div", "br", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section"})
_HIDDEN = frozenset({"script", "style"})
_BREAK = "\n\n"


def html_text(markup: str) -> str:
    """Feed-entry HTML as plain text: entities decoded, scripts, styles and comments dropped, a paragraph
    break at each block element, whitespace collapsed within paragraphs."""
    if not markup.strip():
        return ""
    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return ""
    parts: list[str] = []
    hidden = 0  # inside this many scripts and styles
    for event, el in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        if event == "start":
            if el.tag in _HIDDEN:
                hidden += 1
            elif not hidden:
                parts += [_BREAK, el.text or ""] if el.tag in _BLOCKS else [el.text or ""]
            continue
        if event == "end" and el.tag in _HIDDEN:
            hidden -= 1
        elif event == "end" and not hidden and el.tag in _BLOCKS:
            parts.append(_BREAK)
        if not hidden:  # what follows the element, comment or instruction, in its parent
            parts.append(el.tail or "")
    paragraphs = (" ".join(p.split()) for p in "".join(parts).split(_BREAK))
    return _BREAK.join(p for p in paragraphs if p)
