"""Briefing output: Markdown (default), a self-contained HTML page (phone-friendly, works offline, a table
of contents, each story's sources linked), the same HTML as a fragment for the web app's Briefing tab, and
JSON. Article text is made inert in each (escaped HTML, backslash-escaped Markdown, only http(s) links).

In an LLM brief, a story the model could not tell (no sentence of its passed the checks) is quoted from the
articles instead, and each format says so under its coverage line (JSON: ``written_by``); an extractive brief,
whose stories are all quoted, carries no such note and no ``written_by``."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

from rag import templating
from rag.cite.cite import MARKER
from rag.types import Briefing, Citation, MovedNumber, StorySummary

FORMATS = ("md", "html", "json")


def window_title(brief: Briefing) -> str:
    """The brief's title, after its window: "Briefing — 24 Sep 2024" for a day, "Briefing — 16–24 Sep 2024
    (9 days)" for a window."""
    since, until = dt.date.fromisoformat(brief.since), dt.date.fromisoformat(brief.until)
    if since >= until:
        return f"Briefing — {until.day} {until:%b %Y}"
    if (since.year, since.month) == (until.year, until.month):
        span = f"{since.day}–{until.day} {until:%b %Y}"
    elif since.year == until.year:
        span = f"{since.day} {since:%b} – {until.day} {until:%b %Y}"
    else:
        span = f"{since.day} {since:%b %Y} – {until.day} {until:%b %Y}"
    return f"Briefing — {span} ({(until - since).days + 1} days)"


def _source(c: Citation) -> str:
    return f"{c.title} — {c.outlet or 'outlet unknown'}, {c.published or 'date unknown'}"


def _coverage(s: StorySummary) -> str:
    n = len(s.articles)
    outlets = ", ".join(s.outlets) if s.outlets else "outlet unknown"
    dup = f", {len(s.duplicates)} reprint(s) collapsed" if s.duplicates else ""
    return f"Covered by {outlets} ({n} article{'s' if n != 1 else ''}{dup})"


#: Under a story of an LLM brief told by the extractive fallback (``StorySummary.written_by == "quoted"``).
QUOTED_NOTE = "Quoted from the articles: the model's summary of this story did not pass the checks"


def written_note(s: StorySummary) -> str:
    """What a reader is told about who wrote the story's sentences: "" unless they are the LLM brief's quotes."""
    return QUOTED_NOTE if s.written_by == "quoted" else ""


def _first_source(s: StorySummary) -> str:
    """A listed story's first source and how many more there are."""
    if not s.sources:
        return "source unknown"
    a = s.sources[0]
    more = f" (+{len(s.sources) - 1} more)" if len(s.sources) > 1 else ""
    return f"{a.outlet or 'outlet unknown'}, {a.published or 'date unknown'}{more}"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _counts(brief: Briefing, window: str = "") -> str:
    stories = "1 story" if len(brief.stories) == 1 else f"{len(brief.stories)} stories"
    if brief.more:
        stories += f" and {len(brief.more)} more by headline"
    published = f" published {window}" if window else ""
    return f"{_n(brief.n_articles, 'article')}{published}, {stories}"


def moved_text(m: MovedNumber) -> str:
    if m.before_key == m.after_key:
        return f"{m.what}: {m.before} → {m.after}, as the source reports the change [{m.after_key}]"
    before = f"[{m.before_key}]" if m.before_key is not None else f"(previous brief: {m.before_source})"
    return f"{m.what}: {m.before} {before} → {m.after} [{m.after_key}]"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~^])")


def md_text(text: str) -> str:
    """Article-derived text made inert in Markdown: HTML escaped, Markdown punctuation backslash-escaped (so
    no link, image, emphasis or raw HTML can come from an article), whitespace on one line. Citation
    markers ``[n]`` stay as they are: they are ours, and cannot become links without a definition."""
    out = []
    pos = 0
    text = " ".join(text.split())
    for m in MARKER.finditer(text):
        out.append(_md_plain(text[pos : m.start()]) + m.group())
        pos = m.end()
    out.append(_md_plain(text[pos:]))
    return "".join(out)


def _md_plain(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def md_link(url: str) -> str:
    """An autolink for an http(s) URL without spaces or angle brackets; "" for anything else."""
    if re.fullmatch(r"https?://[^\s<>\"'`\\]+", url, re.IGNORECASE):
        return f" <{url}>"
    return ""


def to_markdown(brief: Briefing) -> str:
    lines = [f"# {window_title(brief)}", ""]
    window = brief.since if brief.since == brief.until else f"{brief.since} to {brief.until}"
    prev = f"; compared with the brief of {brief.previous}" if brief.previous else ""
    lines += [
        f"_{_counts(brief, window)}, {brief.engine}{prev}._",
        "",
    ]
    if brief.overview:
        lines += [md_text(" ".join(brief.overview)), ""]
    for n, s in enumerate(brief.stories, start=1):
        tag = "DEVELOPING" if s.status == "developing" else "NEW"
        lines += [f"## {n}. {md_text(s.headline)} · {tag}", "", f"*{md_text(_coverage(s))}*", ""]
        if note := written_note(s):
            lines += [f"*{md_text(note)}.*", ""]
        lines += [md_text(" ".join(s.sentences)), ""]
        for m in s.moved:
            lines += [f"- **Number moved** — {md_text(moved_text(m))}"]
        if s.moved:
            lines.append("")
    if brief.more:
        lines += ["## More stories", ""]
        for s in brief.more:
            link = md_link(s.sources[0].url) if s.sources else ""
            lines += [f"- {md_text(s.headline)} — {md_text(_first_source(s))}{link}"]
        lines.append("")
    lines += ["## Sources", ""]
    for c in brief.citations:
        lines += [f"{c.key}. {md_text(_source(c))}{md_link(c.url)}", f"   > {md_text(c.quote)}", ""]
    for s in brief.stories:
        for m in s.moved:
            if m.before_key is None:
                earlier = md_text(f"Earlier value of {m.what} ({m.before}): {m.before_source}")
                lines += [f"- {earlier}", f"  > {md_text(m.before_quote)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def fragment(brief: Briefing) -> str:
    """The brief as HTML without the page around it: title, counts, contents, stories (each with its
    sources), then every quoted source. All text is escaped; the web app shows this same fragment."""
    return templating.render("brief_fragment.html", **_page(brief))


def to_html(brief: Briefing) -> str:
    """The brief as a self-contained page (``brief.html``: the fragment in a page with its stylesheet)."""
    return templating.render("brief.html", **_page(brief))


def _page(brief: Briefing) -> dict[str, Any]:
    window = brief.since if brief.since == brief.until else f"{brief.since} to {brief.until}"
    return {
        "brief": brief,
        "title": window_title(brief),
        "counts": _counts(brief, window),
        "coverage": _coverage,
        "written_note": written_note,
        "moved_text": moved_text,
        "source": _source,
    }


def to_json(brief: Briefing) -> dict[str, Any]:
    """The brief as saved: its fields, a story's ``written_by`` only where it says something (an LLM brief)."""
    data = brief.to_dict()
    for s in [*data["stories"], *data["more"]]:
        if not s.get("written_by"):
            s.pop("written_by", None)
    return data


def render(brief: Briefing, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(brief)
    if fmt == "html":
        return to_html(brief)
    if fmt == "json":
        return json.dumps(to_json(brief), indent=2, ensure_ascii=False)
    raise ValueError(f"unknown format {fmt!r}")
