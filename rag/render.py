"""Plain-text rendering of answers and reports for the terminal (the CLI prints, this formats)."""

from __future__ import annotations

import textwrap
from itertools import groupby

from rag.types import Answer, Citation

BOLD, PLAIN = "\033[1m", "\033[0m"


def source_line(c: Citation, keys: str = "") -> str:
    outlet = c.outlet or "outlet unknown"
    date = c.published or "date unknown"
    head = f"{keys or f'[{c.key}]'} {c.title} — {outlet}, {date}"
    return head + (f"\n    {c.url}" if c.url else "")


def quote_block(c: Citation, width: int = 100, label: str = "") -> str:
    body = textwrap.fill(f"{label}“{c.quote}”", width=width, initial_indent="    ", subsequent_indent="    ")
    return f"{body}\n    (article {c.article_id}, characters {c.start}–{c.end})"


def by_article(citations: list[Citation]) -> list[list[Citation]]:
    """Citations grouped by article, in order of first citation: one source entry per article."""
    order = {c.article_id: i for i, c in reversed(list(enumerate(citations)))}
    ranked = sorted(citations, key=lambda c: (order[c.article_id], c.key))
    return [list(g) for _, g in groupby(ranked, key=lambda c: c.article_id)]


def sources(answer: Answer, width: int = 100, full: bool = False) -> str:
    """The sources block: citations grouped by article with their quotes (a refusal's closest passages
    instead), "as of", what failed its checks and why, the optional LLM verdicts beside the rules', and
    (``full``, as chat's ``/sources``) a refused answer's unverified text."""
    lines: list[str] = []
    if answer.refused and not answer.citations:
        lines.append(closest(answer, width))
    if answer.citations:
        lines.append("Sources:")
    for group in by_article(answer.citations):
        lines.append(source_line(group[0], "".join(f"[{c.key}]" for c in group)))
        for c in group:
            lines.append(quote_block(c, width, f"[{c.key}] " if len(group) > 1 else ""))
    if answer.as_of:
        lines.append(as_of(answer))
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


def as_of(answer: Answer) -> str:
    """How current an answer is: the date of its newest cited article."""
    return f"As of {answer.as_of} (newest cited article)."


def closest(answer: Answer, width: int = 100) -> str:
    """A refusal's closest passages, labelled so nobody reads them as the answer."""
    if not answer.closest:
        return "No sources."
    lines = ["Closest passages (they do not answer the question):"]
    for c in answer.closest:
        lines.append(
            textwrap.fill(f"“{c.quote}”", width=width, initial_indent="  - ", subsequent_indent="    ")
            + f"\n    {c.title} — {c.outlet or 'outlet unknown'}, {c.published or 'date unknown'}"
        )
    if answer.coverage_note:
        lines.append(answer.coverage_note)
    return "\n".join(lines)


def highlighted(answer: Answer, color: bool) -> str:
    """The answer text with its answer phrase in bold (when the terminal shows colour)."""
    if not color or answer.answer_span is None:
        return answer.text
    lo, hi = answer.answer_span
    return f"{answer.text[:lo]}{BOLD}{answer.text[lo:hi]}{PLAIN}{answer.text[hi:]}"


def model_label(answer: Answer) -> str:
    """What precedes a model's answer shown after the reader's quote."""
    return f"Model ({answer.model}, checked):" if answer.model else "Model:"


def answer_text(answer: Answer, width: int = 100, color: bool = False, full: bool = False) -> str:
    """The answer and its sources; with the local engine, the reader's quote first, then the model's answer."""
    text = highlighted(answer, color)
    if answer.quote is not None:
        text = f"{highlighted(answer.quote, color)}\n\n{model_label(answer)} {text}"
    return f"{text}\n\n{sources(answer, width, full)}".rstrip()
