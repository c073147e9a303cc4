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


def sources(answer: Answer, width: int = 100, full: bool = False) -> str:
    """The sources block: citations with their quotes, "as of", what failed its checks and why, the optional
    LLM verdicts beside the rules', and (``full``, as chat's ``/sources``) a refused answer's unverified text."""
    lines = ["No sources."] if answer.refused and not answer.citations else []
    if answer.citations:
        lines.append("Sources:")
    for c in answer.citations:
        lines.append(source_line(c))
        lines.append(quote_block(c, width))
    if answer.as_of:
        lines.append(f"As of {answer.as_of} (newest cited article).")
    if answer.unsupported:
        lines.append(f"{len(answer.unsupported)} sentence(s) marked [unverified]: not supported by the cited source.")
    failed = [c for c in answer.claims if not c.supported]
    if failed and (full or not answer.refused):
        for f in failed:
            lines.append(
                textwrap.fill(f"unverified: {f.text} ({'; '.join(f.reasons)})", width, subsequent_indent="    ")
            )
    if any(c.llm for c in answer.claims):
        lines.append("Model check (shown beside the rules, never instead):")
        for k in answer.claims:
            why = f": {k.llm_reason}" if k.llm_reason else ""
            lines.append(textwrap.fill(f"  {k.llm or 'not checked'} — {k.text}{why}", width, subsequent_indent="    "))
    if answer.unverified_text:
        if full:
            lines.append("UNVERIFIED model text (every sentence failed its checks; not an answer):")
            lines.append(textwrap.fill(answer.unverified_text, width, initial_indent="    ", subsequent_indent="    "))
        else:
            lines.append("The model's own text failed every check and is withheld (/sources in chat, --json).")
    return "\n".join(lines)


def answer_text(answer: Answer, width: int = 100) -> str:
    return f"{answer.text}\n\n{sources(answer, width)}".rstrip()
