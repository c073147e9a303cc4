"""Loading: turn files (Markdown/text with front matter, JSONL records, saved HTML) into Articles.

Every problem with one input becomes a ``Skipped`` naming the input and the reason; loading never stops
the batch. Ids are stable across runs: the record's own id, else one derived from its URL, else its path.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from rag import dates
from rag.ingest.clean import clean_text, looks_binary, strip_markdown
from rag.ingest.walk import walk
from rag.settings import MAX_ARTICLE_BYTES
from rag.types import Article, Skipped

TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
MIN_TEXT_CHARS = 40
#: A saved HTML page may be this many times the cap: markup, scripts and styles weigh more than the text.
HTML_FACTOR = 5
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_ID_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@functools.cache
def _front_matter_loader() -> type:
    """SafeLoader that leaves dates as text: YAML's own date parsing crashes on "2024-02-30". Built on first use:
    importing PyYAML costs about 0.1 s that a command which loads no file (``rag ask``) does not pay."""
    import yaml

    class FrontMatterLoader(yaml.SafeLoader):
        pass

    FrontMatterLoader.yaml_implicit_resolvers = {
        key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return FrontMatterLoader


class LoadError(ValueError):
    """Raised inside this module for one bad input; converted to ``Skipped`` at the loop."""


def load_paths(paths: Iterable[Path], max_bytes: int = MAX_ARTICLE_BYTES) -> Iterator[Article | Skipped]:
    """Articles from every supported file under ``paths``, with a ``Skipped`` for each bad input."""
    for item in walk(paths):
        if isinstance(item, Skipped):
            yield item
        else:
            yield from load_file(item.path, item.rel, max_bytes)


def load_file(
    path: Path, rel: PurePosixPath | None = None, max_bytes: int = MAX_ARTICLE_BYTES
) -> Iterator[Article | Skipped]:
    """The article(s) in one file; ``rel`` (its path below the folder given) names path-derived ids.

    Files over ``max_bytes`` (HTML: ``HTML_FACTOR`` times that, for the markup) and JSONL records over it
    are skipped before they are read, so memory stays bounded whatever the input."""
    source = str(path)
    rel = rel or PurePosixPath(path.name)
    suffix = rel.suffix.lower()  # the name given, not a link's target, says what the file is
    if suffix not in SUPPORTED:
        yield Skipped(source, f"unsupported file type {suffix or '(none)'}; expected .md, .txt, .jsonl or .html")
        return
    if suffix in JSONL_SUFFIXES:
        yield from _load_jsonl(path, rel, max_bytes)
        return
    limit = max_bytes * (HTML_FACTOR if suffix in HTML_SUFFIXES else 1)
    try:
        with path.open("rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        yield Skipped(source, f"cannot read: {exc.strerror or exc}")
        return
    if len(raw) > limit:
        yield Skipped(source, too_big(path.stat().st_size, limit))
        return
    if not raw.strip():
        yield Skipped(source, "empty file")
        return
    if looks_binary(raw):
        yield Skipped(source, "binary data, not text")
        return
    try:
        if suffix in HTML_SUFFIXES:
            yield _load_html(raw, source, _hash_id("f", str(rel)))
        else:
            yield _load_text(_decode(raw), source, _path_id(rel), markdown=suffix in {".md", ".markdown"})
    except LoadError as exc:
        yield Skipped(source, str(exc))


def too_big(size: int | None, limit: int) -> str:
    """The reason an input over the size cap is skipped (``size`` None: a JSONL record, not measured)."""
    what = f"{_size(size)}, over" if size is not None else "over"
    return f"{what} the {_size(limit)} limit (RAG_MAX_ARTICLE_BYTES); split it, or raise the limit"


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8") from None


def _load_text(text: str, source: str, fallback_id: str, *, markdown: bool) -> Article:
    meta: dict[str, Any] = {}
    m = _FRONT_MATTER.match(text)
    if m:
        import yaml

        try:
            loaded = yaml.load(m.group(1), Loader=_front_matter_loader())
        except (yaml.YAMLError, ValueError) as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 2}" if mark else ""
            line = m.group(1).split("\n")[mark.line] if mark else ""
            colon = re.fullmatch(r"\s*([\w-]+):\s*([^\"'].*:.*)", line)
            if colon:  # `title: Breaking: ...` is YAML for a nested mapping, not a title with a colon
                key, value = colon.group(1), colon.group(2).strip().replace('"', '\\"')
                raise LoadError(
                    f'broken front matter{where}: the {key} contains a colon; put it in quotes: {key}: "{value}"'
                ) from None
            raise LoadError(f"broken front matter{where}: {getattr(exc, 'problem', None) or exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise LoadError("broken front matter: expected `key: value` lines")
        meta = loaded or {}
        text = text[m.end() :]
    elif text.startswith("---\n"):
        raise LoadError("broken front matter: no closing `---` line")
    body = strip_markdown(text) if markdown else text
    return build_article(meta, body, source=source, fallback_id=fallback_id)


def _load_html(raw: bytes, source: str, fallback_id: str) -> Article:
    from rag.ingest.pages import extract_page  # trafilatura is slow to import: only for HTML input

    page = extract_page(raw)
    if page is None:
        raise LoadError("no article text found in the HTML page")
    meta = {
        "title": page.title,
        "outlet": page.outlet,
        "url": page.url,
        "published": page.date or None,
        "authors": list(page.authors),
    }
    return build_article(meta, page.text, source=source, fallback_id=fallback_id)


def _load_jsonl(path: Path, rel: PurePosixPath, max_bytes: int) -> Iterator[Article | Skipped]:
    """One article per line, read a line at a time: a file of any size, no record over ``max_bytes``."""
    try:
        with path.open("rb") as f:
            if looks_binary(f.read(4096)):
                yield Skipped(str(path), "binary data, not text")
                return
            f.seek(0)
            for n, line in enumerate(_lines(f, max_bytes), start=1):
                if line is None:
                    yield Skipped(f"{path}:{n}", too_big(None, max_bytes))
                elif line.strip():
                    yield _load_record(
                        line.removeprefix(b"\xef\xbb\xbf") if n == 1 else line, f"{path}:{n}", f"{rel}:{n}"
                    )
    except OSError as exc:
        yield Skipped(str(path), f"cannot read: {exc.strerror or exc}")


def _lines(f: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
    """The file's lines; None for a line over ``max_bytes``, which is read past without being kept."""
    while True:
        line = f.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = f.readline(1 << 20)
            yield None
        else:
            yield line


def _load_record(line: bytes, where: str, key: str) -> Article | Skipped:
    try:
        record = json.loads(_decode(line))
    except LoadError as exc:
        return Skipped(where, str(exc))
    except json.JSONDecodeError as exc:
        return Skipped(where, f"invalid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(record, dict):
        return Skipped(where, "expected a JSON object per line")
    try:
        body = record.get("text") or record.get("body") or record.get("content") or ""
        if not isinstance(body, str):
            raise LoadError("`text` must be a string")
        return build_article(record, body, source=where, fallback_id=_hash_id("r", key))
    except LoadError as exc:
        return Skipped(where, str(exc))


def build_article(meta: dict[str, Any], body: str, *, source: str, fallback_id: str) -> Article:
    """Validate metadata and text into an Article; raise LoadError with a one-line reason otherwise."""
    text = clean_text(body)
    if len(text) < MIN_TEXT_CHARS:
        raise LoadError("no article text" if not text else f"text too short ({len(text)} characters)")
    url = _str(meta.get("url") or meta.get("link"))
    title = _str(meta.get("title")) or _first_line_title(text)
    published = parse_date(meta.get("published", meta.get("date", meta.get("publish_date"))))
    outlet = _str(meta.get("outlet") or meta.get("site") or meta.get("publisher")) or outlet_from_url(url)
    authors_raw = meta.get("authors", meta.get("author")) or []
    if isinstance(authors_raw, str):
        authors_raw = [a for a in re.split(r"\s*(?:;|,| and )\s*", authors_raw) if a]
    if not isinstance(authors_raw, list):
        raise LoadError("`authors` must be a list or a string")
    explicit = _str(meta.get("id"))
    article_id = _safe_id(explicit) if explicit else (url_article_id(url) if url else fallback_id)
    return Article(
        id=article_id,
        title=title,
        text=text,
        outlet=outlet,
        url=url,
        published=published,
        authors=tuple(_str(a) for a in authors_raw if _str(a)),
        source=source,
    )


def parse_date(value: Any, *, today: dt.date | None = None) -> dt.date | None:
    """A publication date from YAML dates, ISO strings or ``YYYY/MM/DD``; LoadError if impossible."""
    if value is None or value == "":
        return None
    try:
        day = dates.parse_date(value)
    except ValueError as exc:
        raise LoadError(str(exc)) from None
    today = today or dt.date.today()
    if day.year < 1900 or day > today + dt.timedelta(days=2):
        raise LoadError(f"impossible date {day.isoformat()} (before 1900 or in the future)")
    return day


def outlet_from_url(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def normalize_url(url: str) -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def url_article_id(url: str) -> str:
    """The id an article read from ``url`` gets when its source names no id of its own."""
    return _hash_id("u", normalize_url(url))


def content_hash(article: Article) -> str:
    """Hash of everything stored about an article: a change to any of it re-ingests the article."""
    fields = [
        article.title,
        article.text,
        article.outlet,
        article.url,
        article.published_iso,
        *article.authors,
    ]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:24]


def text_hash(text: str) -> str:
    """Identity of an article's words, for collapsing exact duplicates under different ids."""
    return hashlib.sha256(" ".join(text.split()).lower().encode()).hexdigest()[:24]


def _path_id(rel: PurePosixPath) -> str:
    return _safe_id(str(rel.with_suffix("")).replace("/", "-"))


def _hash_id(prefix: str, key: str) -> str:
    return f"{prefix}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def _safe_id(value: str) -> str:
    return _ID_SAFE.sub("-", value).strip("-")[:120] or "article"


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _first_line_title(text: str) -> str:
    first = text.split("\n", 1)[0]
    return first if len(first) <= 120 else first[:117].rsplit(" ", 1)[0] + "…"
