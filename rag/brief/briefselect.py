"""What a brief covers: the date window's articles, and which ranked stories and sentences fit its word
budget (breadth first: every story its opener before any story a third sentence)."""

from __future__ import annotations

import datetime as dt

from rag.cite.cite import strip_markers
from rag.errors import EmptyWindowError
from rag.search.storeread import StoreReader
from rag.types import Article, Filters, StorySummary

#: The length budget and story cap. A digest covers more of the week's news with more stories of two
#: sentences each than with fewer, longer ones: chosen on the training weeks (quiz coverage 0.596 at 886
#: words on average, against 0.581 at 1,141 words with 12 stories of up to four sentences).
MAX_WORDS = 1000
MAX_STORIES = 24
#: Sentences every story gets first; further ones (up to the summarizer's) only while the brief is short.
BASE_SENTENCES = 2
#: A thin day's brief deepens its stories up to this share of the budget: a single story is told in four
#: sentences, while a full day's twenty stories stay at two (a third sentence added words, not coverage).
DEPTH_SHARE = 0.6


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


def fit_budget(summaries: list[StorySummary], max_words: int, max_stories: int) -> list[StorySummary]:
    """Breadth first: every story in rank order gets its headline and first ``BASE_SENTENCES`` sentences while
    the word budget lasts (the last story kept may get fewer); then, round by round in rank order, one more
    sentence each while the brief stays within ``DEPTH_SHARE`` of the budget."""

    def size(text: str) -> int:
        return len(strip_markers(text).split())

    kept: list[tuple[StorySummary, list[str], int]] = []  # (story, its sentences, how many are shown)
    words = 0
    for s in summaries[:max_stories]:
        n = min(BASE_SENTENCES, len(s.sentences))
        cost = len(s.headline.split()) + sum(size(x) for x in s.sentences[:n])
        while n > 1 and cost > max_words - words:
            n -= 1
            cost -= size(s.sentences[n])
        if cost > max_words - words or n == 0:
            break
        kept.append((s, list(s.sentences), n))
        words += cost
    depth = min(max_words, int(max_words * DEPTH_SHARE))
    grown = True
    while grown:
        grown = False
        for i, (s, sentences, n) in enumerate(kept):
            if n < len(sentences) and words + size(sentences[n]) <= depth:
                words += size(sentences[n])
                kept[i] = (s, sentences, n + 1)
                grown = True
    for s, sentences, n in kept:
        s.sentences = sentences[:n]
    return [s for s, _, _ in kept]
