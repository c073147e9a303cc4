"""What changed since the previous brief: stories marked new or developing, and numbers that moved,
called out with both values and where each was stated."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from rag.brief.stories import SAME_STORY
from rag.cite.cite import markers
from rag.text import stem
from rag.types import Briefing, Citation, MovedNumber, StorySummary

#: A story continues one from the previous brief when they share an article, or their centroids are as
#: close as articles of one story are (the same threshold as grouping).
SAME_STORY_AS_BEFORE = SAME_STORY
_CUE = re.compile(
    r"\b(increase[sd]?|rise|rose|risen|up from|down from|jump(?:ed)?|fell|fallen|drop(?:ped)?|decline[sd]?|"
    r"earlier estimate|previous(?:ly)?|revised|compared with|from \S+ to)\b",
    re.IGNORECASE,
)
_OLD_MARK = re.compile(r"\b(from|earlier|previous(?:ly)?|last (?:week|month|year)|compared with|was)\b[^.;]*$", re.I)
_NUMBER_UNIT = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(?P<scale>thousand|million|billion))?"
    r"(?P<between>(?:\s+[A-Za-z][\w’'-]*){0,3}?)\s+(?P<unit>[a-z]+s)\b"
)
#: Counting nouns reporters swap freely; values in them are compared as one quantity.
_SYNONYMS = {"soldier": "troop", "force": "troop", "fighter": "troop", "personnel": "troop", "people": "person"}


def unit_key(word: str) -> str:
    s = stem(word.lower())
    return _SYNONYMS.get(s, s)


def figures(sentence: str) -> list[tuple[str, str, int, str]]:
    """(number as written, unit key, position, unit as written) for each counted quantity in a sentence."""
    out = []
    for m in _NUMBER_UNIT.finditer(sentence):
        number = m.group("num") + (f" {m.group('scale')}" if m.group("scale") else "")
        out.append((number, unit_key(m.group("unit")), m.start(), m.group("unit")))
    return out


def change_within(sentence: str) -> tuple[str, str, str] | None:
    """(what, old, new) when one sentence states that a figure moved ("10,000 … up from 3,000 last week")."""
    if not _CUE.search(sentence):
        return None
    found = figures(sentence)
    for i, (a, unit_a, pos_a, word_a) in enumerate(found):
        for b, unit_b, pos_b, word_b in found[i + 1 :]:
            if unit_a != unit_b or _value(a) == _value(b):
                continue
            # The value introduced by "from", "earlier", "last week" … is the old one.
            a_old = bool(_OLD_MARK.search(sentence[:pos_a])) and not _OLD_MARK.search(sentence[pos_a:pos_b])
            old, new, word = (a, b, word_b) if a_old else (b, a, word_a)
            return word, old, new
    return None


def _value(number: str) -> float:
    parts = number.split()
    scale = {"thousand": 1e3, "million": 1e6, "billion": 1e9}.get(parts[1], 1.0) if len(parts) > 1 else 1.0
    return float(parts[0].replace(",", "")) * scale


def compare(
    brief: Briefing,
    previous: Briefing | None,
    change_sentences: dict[str, list[Citation]],
    add_citation: Callable[[Citation], int],
) -> None:
    """Mark stories new/developing and fill in moved numbers, in place.

    ``change_sentences`` maps a story id to candidate citations (sentences of its articles that state a
    change); ``add_citation`` registers one in the brief and returns its key."""
    by_key = {c.key: c for c in brief.citations}
    for story in brief.stories:
        for cand in change_sentences.get(story.id, []):
            moved = change_within(cand.quote)
            if moved and not any(unit_key(m.what) == unit_key(moved[0]) for m in story.moved):
                key = add_citation(cand)
                story.moved.append(MovedNumber(moved[0], moved[1], moved[2], after_key=key, before_key=key))
        if previous is None:
            continue
        match = _match(story, previous)
        if match is None:
            continue
        story.status, story.previous_headline = "developing", match.headline
        prev_by_key = {c.key: c for c in previous.citations}
        before = _figures_with_sources(match, prev_by_key)
        for unit, (number, key, word) in _figures_with_sources(story, by_key).items():
            done = any(unit_key(m.what) == unit for m in story.moved)
            if unit not in before or _value(before[unit][0]) == _value(number) or done:
                continue
            old_number, old_key, _ = before[unit]
            old = prev_by_key[old_key]
            source = f"{old.title} — {old.outlet or 'outlet unknown'}, {old.published or 'date unknown'}"
            story.moved.append(
                MovedNumber(word, old_number, number, after_key=key, before_source=source, before_quote=old.quote)
            )


def _figures_with_sources(story: StorySummary, citations: dict[int, Citation]) -> dict[str, tuple[str, int, str]]:
    """unit key → (number, citation key, unit as written) for figures in the story's cited sentences."""
    out: dict[str, tuple[str, int, str]] = {}
    for sentence in story.sentences:
        keys = markers(sentence)
        if not keys or keys[0] not in citations:
            continue
        for number, unit, _, word in figures(citations[keys[0]].quote):
            out.setdefault(unit, (number, keys[0], word))
    return out


def _match(story: StorySummary, previous: Briefing) -> StorySummary | None:
    shared = [p for p in previous.stories if set(p.articles) & set(story.articles)]
    if shared:
        return shared[0]
    if not story.centroid:
        return None
    cur = np.asarray(story.centroid)
    best, found = SAME_STORY_AS_BEFORE, None
    for p in previous.stories:
        if p.centroid and len(p.centroid) == len(cur):
            sim = float(np.asarray(p.centroid) @ cur)
            if sim >= best:
                best, found = sim, p
    return found
