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
