"""Plain-text rendering of answers and reports for the terminal (the CLI prints, this formats)."""

from __future__ import annotations

import textwrap

from rag.types import Answer, Citation


def source_line(c: Citation) -> str:
    outlet = c.outlet or "outlet unknown"
    date = c.published or "date unknown"
    head = f"[{c.key}] {c.title} — {outlet}, {date}"
    return head + (f"\n    {c.url}" if c.url else "")


def quote_block(c: Citation, width: int = 100) -> str:
    body = textwrap.fill(f"“{c.quote}”", width=width, initial_indent="    ", subsequent_indent="    ")
    return f"{body}\n    (article {c.article_id}, characters {c.start}–{c.end})"


def sources(answer: Answer, width: int = 100) -> str:
    if not answer.citations:
        return "No sources." if answer.refused else ""
    lines = ["Sources:"]
    for c in answer.citations:
        lines.append(source_line(c))
        lines.append(quote_block(c, width))
    if answer.as_of:
        lines.append(f"As of {answer.as_of} (newest cited article).")
    if answer.unsupported:
        lines.append(f"{len(answer.unsupported)} sentence(s) marked [unverified]: not supported by the cited source.")
    return "\n".join(lines)


def answer_text(answer: Answer, width: int = 100) -> str:
    return f"{answer.text}\n\n{sources(answer, width)}".rstrip()
