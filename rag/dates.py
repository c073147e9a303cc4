"""Dates as people and files write them: the one parser for front matter, the CLI and the API."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

#: What a relative window looks like, for help texts and errors.
RELATIVE_FORMS = "24h, 36h, 3d, 2w"

_DAY = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ][0-9:.]+(?:Z|[+-]\d\d:?\d\d)?)?")
_SPAN = re.compile(r"(\d+)\s*([hdw])")


def parse_date(value: Any) -> dt.date:
    """A day from a date, a datetime, ``YYYY-MM-DD`` or ``YYYY/MM/DD`` (a time after it is ignored).

    Raises ValueError whose message says which form to use."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"unreadable date {value!r}; use YYYY-MM-DD")
    s = value.strip()
    m = _DAY.fullmatch(s)
    if not m:
        raise ValueError(f"unreadable date {s!r}; use YYYY-MM-DD")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError(f"impossible date {s!r}") from None


def parse_since(value: str, *, today: dt.date | None = None) -> dt.date:
    """A window start: a date, or a span back from today (24h, 36h, 3d, 2w; hours round up to whole days)."""
    m = _SPAN.fullmatch(value.strip().lower())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        days = -(-n // 24) if unit == "h" else n * (7 if unit == "w" else 1)
        return (today or dt.date.today()) - dt.timedelta(days=days)
    try:
        return parse_date(value)
    except ValueError:
        raise ValueError(
            f"not a date or a span: {value!r} (use YYYY-MM-DD, or a span back from today: {RELATIVE_FORMS})"
        ) from None


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHIFT = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}
_RELATIVE_DAY = re.compile(
    rf"\b(?:(?P<mod>last|next|this|past|coming)\s+)?(?P<day>{'|'.join((*_WEEKDAYS, *_SHIFT))})\b", re.IGNORECASE
)
#: A cue, shortly before a weekday, that the sentence looks ahead ("will vote Wednesday", "is set to open Friday").
_AHEAD = re.compile(
    r"\b(?:will|shall|set to|scheduled|expected to|plans? to|planned|due to|is to|are to|upcoming|coming)\b",
    re.IGNORECASE,
)


def relative_day(sentence: str, span: tuple[int, int], published: dt.date | None) -> tuple[str, dt.date] | None:
    """The calendar day a relative day in ``sentence[span[0]:span[1]]`` (the answer phrase) means, by the article's
    date: "yesterday" in an article of 30 Oct is 29 Oct; "Tuesday" is the last Tuesday on or before the article's
    day, or the next one on or after it when a few words before it look ahead ("will vote Tuesday"); "last" and
    "next" move a weekday a whole week when it is the article's own weekday. ``(words as written, the day)``, or
    None when the phrase holds no relative day or the date is unknown."""
    lo, hi = span
    m = _RELATIVE_DAY.search(sentence, lo, hi)
    if m is None or published is None:
        return None
    word, mod = m.group("day").lower(), (m.group("mod") or "").lower()
    if word in _SHIFT:
        return m.group(0), published + dt.timedelta(days=_SHIFT[word])
    target = _WEEKDAYS.index(word)
    before = " ".join(sentence[: m.start()].split()[-6:])
    if mod in ("next", "coming") or (mod not in ("last", "past") and _AHEAD.search(before)):
        ahead = (target - published.weekday()) % 7 or (7 if mod == "next" else 0)
        return m.group(0), published + dt.timedelta(days=ahead)
    back = (published.weekday() - target) % 7 or (7 if mod == "last" else 0)
    return m.group(0), published - dt.timedelta(days=back)
