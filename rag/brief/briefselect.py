"""What a brief covers: the date window's articles, and which ranked stories and sentences fit its word
budget (breadth first: every story its first two sentences, then more stories by headline, then the top
stories in four, then on a thin day in full)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from rag.cite.cite import strip_markers
from rag.errors import EmptyWindowError
from rag.search.storeread import StoreReader
from rag.types import Article, Filters, StorySummary

#: The length budget and story cap. Chosen on the training weeks' quiz coverage (see the README): every story
#: its first two sentences within ``BASE_SHARE`` of the budget, then the headlines of up to ``MORE_STORIES``
#: further stories, then the top stories told in full while words remain.
MAX_WORDS = 1000
MAX_STORIES = 24
#: Sentences every story gets first.
BASE_SENTENCES = 2
#: The share of the budget the stories' first sentences may take; the rest goes to headlines and depth.
BASE_SHARE = 0.8
#: Stories beyond the told ones listed by headline ("More stories"): a headline is a story in ten words.
MORE_STORIES = 20
#: Sentences a told story may reach before any story gets more (a thin day's stories get all they offer).
FULL_SENTENCES = 4


def window(
    store: StoreReader, *, date: dt.date | None = None, since: dt.date | None = None, until: dt.date | None = None
) -> tuple[dt.date, dt.date, dt.date, list[Article]]:
    """(brief date, since, until, articles): ``date`` alone is that day; default the newest day stored."""
    if since is None and until is None:
        day = date or store.newest_date()
        if day is None:
            raise EmptyWindowError("the store has no dated articles; ingest some first (`rag ingest PATH`)")
        since = until = day
    until = until or date or store.newest_date() or dt.date.today()
    since = since or until
    articles = list(store.iter_articles(Filters(since=since, until=until)))
    return until, since, until, articles


def fit_budget(
    summaries: list[StorySummary],
    max_words: int,
    max_stories: int,
    arrange: Callable[[list[str]], list[str]] | None = None,
) -> tuple[list[StorySummary], list[StorySummary]]:
    """(told stories, more stories). Breadth first: every story in rank order gets its headline and first
    ``BASE_SENTENCES`` sentences while ``BASE_SHARE`` of the budget lasts (the last story kept may get fewer);
    then the next ``MORE_STORIES`` stories are listed by headline; then, in rank order, each told story gets
    further sentences up to ``FULL_SENTENCES`` while the whole brief stays within ``max_words``; then, on a
    thin day, the rest of what each offers the same way. Each story's sentences come best first; ``arrange``
    puts the kept ones in reading order."""

    def size(text: str) -> int:
        return len(strip_markers(text).split())

    kept: list[list[Any]] = []  # [story, its sentences, how many are shown]
    base = int(max_words * BASE_SHARE)
    words = 0
    for s in summaries[:max_stories]:
        limit = base if kept else max_words  # a small budget still tells its first story
        n = min(BASE_SENTENCES, len(s.sentences))
        cost = len(s.headline.split()) + sum(size(x) for x in s.sentences[:n])
        while n > 1 and cost > limit - words:
            n -= 1
            cost -= size(s.sentences[n])
        if cost > limit - words or n == 0:
            break
        kept.append([s, list(s.sentences), n])
        words += cost
    more = []
    for s in summaries[len(kept) : len(kept) + MORE_STORIES]:
        if words + len(s.headline.split()) > max_words:
            break
        words += len(s.headline.split())
        s.sentences = []
        more.append(s)
    for cap in (FULL_SENTENCES, None):
        for entry in kept:
            s, sentences, n = entry
            limit = len(sentences) if cap is None else min(cap, len(sentences))
            while n < limit and words + size(sentences[n]) <= max_words:
                words += size(sentences[n])
                n += 1
            entry[2] = n
    for s, sentences, n in kept:
        s.sentences = arrange(sentences[:n]) if arrange else sentences[:n]
    return [s for s, _, _ in kept], more
