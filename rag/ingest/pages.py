"""Main-text extraction from HTML pages (saved files now, fetched pages later) with trafilatura."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import trafilatura

# trafilatura logs every page it finds too short at WARNING; our caller reports skips itself.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Page:
    """What a page yields: its main text and whatever metadata the page states."""

    text: str
    title: str = ""
    outlet: str = ""
    url: str = ""
    date: str = ""  #: as found in the page (ISO when trafilatura/htmldate found one), "" when absent
    authors: tuple[str, ...] = ()


def extract_page(html: str | bytes, url: str | None = None) -> Page | None:
    """The page's article text and metadata, or None when no main text can be found."""
    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False, favor_precision=True
    )
    if doc is None:
        return None
    data = doc if isinstance(doc, dict) else doc.as_dict()
    text = (data.get("text") or "").strip()
    if not text:
        return None
    authors = tuple(a.strip() for a in (data.get("author") or "").split(";") if a.strip())
    return Page(
        text=text,
        title=(data.get("title") or "").strip(),
        outlet=(data.get("sitename") or data.get("hostname") or "").strip(),
        url=(data.get("url") or url or "").strip(),
        date=(data.get("date") or "").strip(),
        authors=authors,
    )
