"""Candidate answer sentences: every distinct sentence of the retrieved context, with where it sits and what
form it has (prose, or a heading, question, byline, caption, list fragment or boilerplate that must never be
quoted as an answer).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from rag.ingest.sentences import split_spans
from rag.types import Chunk, Hit


class Form(StrEnum):
    PROSE = "prose"
    HEADING = "heading"  # a title or subheading: no sentence-final punctuation
    QUESTION = "question"  # "Will the Fed raise rates again?"
    BYLINE = "byline"  # "By Jane Doe | Updated 5:02 PM"
    CAPTION = "caption"  # "(Photo: Getty Images)", "AP Photo/…"
    FRAGMENT = "fragment"  # starts mid-sentence, a list item, or too short to stand alone
    BOILERPLATE = "boilerplate"  # "Read more:", "Sign up for …"


_FINAL = re.compile(r"[.!…][\"'”’)\]]*$")
_QUESTION = re.compile(r"\?[\"'”’)\]]*$")
_BYLINE = re.compile(
    r"^(?i:by\s+)[A-Z]|^(?i:published|updated|posted)\b|\|\s*(?i:updated|published)\b|"
    r"^[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){0,3},? (?:USA TODAY|CNN|The Associated Press|Reuters|(?i:staff writer|"
    r"contributor|contributing writer))\b|^(?i:special (?:to|for)|from) (?:USA TODAY|the|CNN)"
)
_CAPTION = re.compile(
    r"\b(?:photo(?:graph)?(?:\s+by)?:|photos?\s*/|getty images|ap photo|afp via|file photo|image credit|credit:|"
    r"reuters/|/ap\b|/afp\b|/getty\b|\(photo\b|\(file\)|\(ap\)\s*$)",
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    r"^(?:read more|related|more:|also read|see also|subscribe|sign up|click here|watch|listen|advertisement|"
    r"share this|follow us|copyright|©|all rights reserved|editor['’]s note|this story (?:has been|was) updated|"
    r"(?:this|the) (?:article|story) (?:originally )?appeared|contributing:|download the|get the latest)",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(r"^\s*(?:[-•*·–—▪►]|\d{1,2}[.)]\s|\(?[a-z]\)\s)")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def form_of(sentence: str) -> Form:
    """What kind of text a sentence is, by its shape alone."""
    s = sentence.strip()
    words = _WORD.findall(s)
    if _BOILERPLATE.match(s):
        return Form.BOILERPLATE
    if _BYLINE.search(s) and len(words) <= 16:
        return Form.BYLINE
    if _CAPTION.search(s):
        return Form.CAPTION
    if _QUESTION.search(s):
        return Form.QUESTION
    if _LIST_ITEM.match(s) or (not s[:1].isalnum() and s[:1] not in "\"'“‘(") or s[:1].islower():
        return Form.FRAGMENT
    if not _FINAL.search(s) or s.endswith(":"):
        return Form.HEADING if len(words) <= 25 else Form.FRAGMENT
    if len(words) < 5:
        return Form.FRAGMENT
    return Form.PROSE


@dataclass
class Candidate:
    """One sentence of the retrieved context."""

    rank: int  #: position of its chunk in the retrieved list (0-based; a lede takes its article's rank)
    chunk: Chunk
    lo: int  #: offsets in the chunk text
    hi: int
    form: Form
    order: int  #: sentence number within its chunk (0-based)
    lede_added: bool = False  #: its chunk is a lede the retriever added, not a search hit

    @property
    def text(self) -> str:
        return self.chunk.text[self.lo : self.hi]

    @property
    def offset(self) -> int:
        """Character offset in the article."""
        return self.chunk.start + self.lo

    @property
    def article_id(self) -> str:
        return self.chunk.article_id


def candidates(hits: Sequence[Hit], min_chars: int = 20) -> list[Candidate]:
    """Every distinct sentence of ``hits`` (overlapping chunks share sentences), in retrieval order."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    # A lede added by the retriever carries no search ranks; it takes the rank of its article's best hit.
    searched = [h for h in hits if not _is_added_lede(h)]
    article_rank: dict[str, int] = {}
    for r, h in enumerate(searched):
        article_rank.setdefault(h.chunk.article_id, r)
    rank = -1
    for hit in hits:
        lede = _is_added_lede(hit)
        if not lede:
            rank += 1
        for order, (lo, hi) in enumerate(split_spans(hit.chunk.text)):
            key = (hit.chunk.article_id, hit.chunk.start + lo)
            if key in seen or hi - lo < min_chars:
                continue
            seen.add(key)
            text = hit.chunk.text[lo:hi]
            r = article_rank.get(hit.chunk.article_id, max(rank, 0)) if lede else rank
            out.append(Candidate(r, hit.chunk, lo, hi, form_of(text), order, lede_added=lede))
    return out


def _is_added_lede(hit: Hit) -> bool:
    return hit.dense_rank is None and hit.lexical_rank is None and hit.chunk.start == 0
