"""Sentence segmentation with character offsets, tuned for news prose (abbreviations, initials, quotes)."""

from __future__ import annotations

import re

#: Words that end in a period without ending a sentence.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sen rep gov gen lt col sgt capt cmdr adm st jr sr inc co corp ltd llc vs etc no
    nos jan feb mar apr jun jul aug sep sept oct nov dec mt ft rev hon pres supt det insp atty dist dept
    est approx fig vol e.g i.e u.s u.k u.n a.m p.m d.c l.a n.y""".split()
)

# A candidate end: terminal punctuation, optional closing quotes/brackets, then whitespace.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_NEXT_START = re.compile(r"\s+([\"'“‘(\[]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


def split_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the sentences in ``text[start:end]``; newlines always end a sentence."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        _split_line(text, start + line.start(), start + line.end(), spans)
    return spans


def _split_line(text: str, lo: int, hi: int, out: list[tuple[int, int]]) -> None:
    begin = lo
    for m in _END.finditer(text, lo, hi):
        nxt = _NEXT_START.match(text, m.end(), hi)
        if not nxt:
            continue
        if m.group().startswith(".") and _is_abbreviation(text[begin : m.start() + 1]):
            continue
        _push(text, begin, m.end(), out)
        begin = nxt.start(1)
    _push(text, begin, hi, out)


def _is_abbreviation(before: str) -> bool:
    m = _WORD_BEFORE.search(before)
    if not m:
        return False
    word = m.group(1).lower()
    if word in ABBREVIATIONS:
        return True
    # A single capital initial ("J. Smith") or a dotted acronym ("U.S.", "D.C.").
    return (len(m.group(1)) == 1 and m.group(1).isupper()) or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))


def _push(text: str, lo: int, hi: int, out: list[tuple[int, int]]) -> None:
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    if hi > lo:
        out.append((lo, hi))


def split(text: str) -> list[str]:
    return [text[a:b] for a, b in split_spans(text)]
