"""Newsworthiness: how high a story ranks in a briefing, from signals a reader can check (they are shown in
the brief's JSON): independent outlets, articles, recency within the window, prominence in the window's
headlines and ledes, and the people and places named."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.brief.stories import Story
from rag.ingest.sentences import split_spans
from rag.text import STOPWORDS, terms
from rag.types import Article, Newsworthiness


@dataclass(frozen=True)
class Weights:
    """How much each signal counts (tuned on the training weeks, see README "Daily briefings")."""

    outlets: float = 1.0  #: per doubling of independent outlets
    articles: float = 0.4  #: per doubling of articles (reprints included)
    recency: float = 1.0  #: for a story whose newest article is on the window's last day (decays to 0)
    prominence: float = 0.5  #: per doubling of the window's articles carrying the story in headline or lede
    names: float = 0.3  #: per doubling of the people and places its ledes name
    half_life_days: float = 3.0  #: recency halves for every this many days before the window's end


WEIGHTS = Weights()
LEDE_CHARS = 400  #: the lede: an article's opening, where a story it is about is named
#: A name: capitalised words not opening a sentence ("Ryan Routh", "West Palm Beach", "Kursk").
_NAME = re.compile(r"(?<=[a-z,;:’'] )[A-Z][\w’'-]+(?: (?:of |de |la )?[A-Z][\w’'-]+)*")


def lede(article: Article) -> str:
    spans = split_spans(article.text, 0, min(len(article.text), LEDE_CHARS * 2))
    return article.text[: spans[1][1]] if len(spans) > 1 else article.text[:LEDE_CHARS]


def names(text: str) -> set[str]:
    """The people, places and organisations a text names (capitalised runs, function words excluded)."""
    return {n for n in _NAME.findall(text) if n.lower() not in STOPWORDS}


def key_terms(story: Story, idf: Callable[[str], float], n: int = 3) -> list[str]:
    """What the story is about: the rarest words its headlines share (with one article, its headline's)."""
    counts: dict[str, int] = {}
    for a in story.articles:
        for t in set(terms(a.title)):
            counts[t] = counts.get(t, 0) + 1
    need = 2 if sum(c >= 2 for c in counts.values()) >= 2 else 1
    shared = [t for t, c in counts.items() if c >= need and not t.isdigit()]
    return sorted(shared, key=lambda t: (-counts[t] * idf(t), t))[:n]


def signals(
    story: Story,
    window: Sequence[Article],
    until: dt.date,
    idf: Callable[[str], float] = lambda _t: 1.0,
    weights: Weights = WEIGHTS,
) -> Newsworthiness:
    """The story's signals within ``window`` (all articles of the brief's window) ending on ``until``."""
    n_articles = len(story.articles) + len(story.duplicates)
    newest = story.newest
    age = max(0, (until - newest).days) if newest else None
    recency = 0.5 ** (age / weights.half_life_days) if age is not None else 0.0
    keys = set(key_terms(story, idf))
    need = min(2, len(keys))
    prominence = 0.0
    if keys:
        for a in window:
            if len(keys & set(terms(a.title))) >= need:
                prominence += 1.0
            elif len(keys & set(terms(lede(a)))) >= need:
                prominence += 0.5
    named = len(set().union(*(names(lede(a)) for a in story.articles)))
    outlets = story.independent_coverage
    score = (
        weights.outlets * math.log2(1 + outlets)
        + weights.articles * math.log2(1 + n_articles)
        + weights.recency * recency
        + weights.prominence * math.log2(1 + prominence)
        + weights.names * math.log2(1 + named)
    )
    return Newsworthiness(
        outlets=outlets,
        articles=n_articles,
        recency=round(recency, 3),
        prominence=prominence,
        names=named,
        score=round(score, 3),
    )


def rank(
    stories: list[Story],
    window: Sequence[Article],
    until: dt.date,
    idf: Callable[[str], float] = lambda _t: 1.0,
    weights: Weights = WEIGHTS,
) -> list[Story]:
    """Stories most newsworthy first, each with its ``signals`` filled in."""
    for story in stories:
        story.signals = signals(story, window, until, idf, weights)
    return sorted(stories, key=lambda s: (-s.signals.score if s.signals else 0.0, s.id))
