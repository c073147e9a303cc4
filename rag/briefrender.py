"""Briefing output: Markdown (default), a self-contained HTML page (phone-friendly, works offline, a table
of contents, each story's sources linked), the same HTML as a fragment for the web app's Briefing tab, and
JSON. Article text is made inert in each (escaped HTML, backslash-escaped Markdown, only http(s) links)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

from rag.cite import MARKER
from rag.types import Briefing, Citation, MovedNumber, Source, StorySummary

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


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _counts(brief: Briefing, window: str = "") -> str:
    stories = "1 story" if len(brief.stories) == 1 else f"{len(brief.stories)} stories"
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
        lines += [md_text(" ".join(s.sentences)), ""]
        for m in s.moved:
            lines += [f"- **Number moved** — {md_text(moved_text(m))}"]
        if s.moved:
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


_CSS = """
:root{color-scheme:light dark}body{font:17px/1.55 Georgia,serif;margin:0;background:#fbfaf7;color:#1c1c1c}
main{max-width:720px;margin:0 auto;padding:16px}h1{font:700 1.6em system-ui,sans-serif;margin:.4em 0}
h2{font:700 1.15em system-ui,sans-serif;margin:1.6em 0 .2em}.meta,.cov{color:#666;font:.85em system-ui,sans-serif}
.tag{font:700 .7em system-ui,sans-serif;padding:2px 6px;border-radius:4px;background:#e6efff;color:#1b4fb5;
vertical-align:middle}.tag.developing{background:#fff1d6;color:#8a5a00}sup a{text-decoration:none}
.moved{background:#f3f3f3;padding:6px 10px;border-left:3px solid #c77d00;font:.9em system-ui,sans-serif}
ol.src{font:.9em system-ui,sans-serif;padding-left:1.4em}ol.src li{margin:.6em 0}
nav.toc{font:.95em system-ui,sans-serif;border:1px solid #ddd;border-radius:6px;padding:.4em 1em}
nav.toc ol{margin:.3em 0;padding-left:1.4em}ul.story-sources{font:.85em system-ui,sans-serif;color:#555;
padding-left:1.2em;margin:.4em 0}
blockquote{margin:.3em 0;padding-left:.6em;border-left:3px solid #ccc;color:#444}
@media (prefers-color-scheme: dark){body{background:#161616;color:#e8e8e8}.meta,.cov{color:#aaa}
.moved{background:#222}blockquote{color:#bbb;border-color:#555}a{color:#8ab4ff}nav.toc{border-color:#444}
ul.story-sources{color:#aaa}}
"""


def _cite_links(text: str) -> str:
    return MARKER.sub(
        r'<sup><a class=cite href="#s\1" data-key="\1" aria-label="source \1">[\1]</a></sup>', html.escape(text)
    )


def _link(text: str, url: str) -> str:
    """Escaped text, linked when the URL is http(s) (never a javascript: or data: one)."""
    shown = html.escape(text)
    return f'<a href="{html.escape(url, quote=True)}">{shown}</a>' if url.startswith(("http://", "https://")) else shown


def _story_source(a: Source) -> str:
    where = f"{a.outlet or 'outlet unknown'}, {a.published or 'date unknown'}"
    return f"<li>{_link(a.title, a.url)} — {html.escape(where)}</li>"


def fragment(brief: Briefing) -> str:
    """The brief as HTML without the page around it: title, counts, contents, stories (each with its
    sources), then every quoted source. All text is escaped; the web app shows this same fragment."""
    window = brief.since if brief.since == brief.until else f"{brief.since} to {brief.until}"
    parts = [
        f"<h1>{html.escape(window_title(brief))}</h1>",
        f"<p class=meta>{html.escape(_counts(brief, window))} · {html.escape(brief.engine)}"
        + (f" · compared with {html.escape(brief.previous)}" if brief.previous else "")
        + "</p>",
    ]
    if brief.stories:
        toc = "".join(
            f'<li><a href="#story-{n}">{html.escape(s.headline)}</a></li>' for n, s in enumerate(brief.stories, 1)
        )
        parts.append(f'<nav class=toc aria-label="Stories"><ol>{toc}</ol></nav>')
    if brief.overview:
        parts.append(f"<p class=overview><strong>{_cite_links(' '.join(brief.overview))}</strong></p>")
    for n, s in enumerate(brief.stories, start=1):
        tag = "developing" if s.status == "developing" else "new"
        parts.append(
            f'<article class=story id="story-{n}"><h2>{n}. {html.escape(s.headline)} '
            f'<span class="tag {tag}">{tag.upper()}</span></h2>'
        )
        parts.append(
            f"<p class=cov>{html.escape(_coverage(s))}</p><p class=summary>{_cite_links(' '.join(s.sentences))}</p>"
        )
        for m in s.moved:
            parts.append(f"<p class=moved>Number moved — {_cite_links(moved_text(m))}</p>")
        if s.sources:
            listed = "".join(map(_story_source, s.sources))
            parts.append(f'<ul class=story-sources aria-label="Sources of this story">{listed}</ul>')
        parts.append("</article>")
    parts.append("<h2 id=sources>Quoted sources</h2><ol class=src>")
    for c in brief.citations:
        quote = f"<blockquote>{html.escape(c.quote)}</blockquote>"
        parts.append(f'<li id="s{c.key}" value="{c.key}">{_link(_source(c), c.url)}{quote}</li>')
    parts.append("</ol>")
    return "".join(parts)


def to_html(brief: Briefing) -> str:
    title = html.escape(window_title(brief))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{title}</title><style>{_CSS}</style></head><body><main>{fragment(brief)}</main></body></html>"
    )


def render(brief: Briefing, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(brief)
    if fmt == "html":
        return to_html(brief)
    if fmt == "json":
        return json.dumps(brief.to_dict(), indent=2, ensure_ascii=False)
    raise ValueError(f"unknown format {fmt!r}")
