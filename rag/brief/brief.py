"""Daily briefings: the window's articles → stories ranked by newsworthiness → a headline and 1–6 cited
sentences each (extractive by default, LLM map-reduce when configured) → what changed since the previous
brief → verified citations. What the brief covers is chosen in ``rag.brief.briefselect``, it is rendered by
``rag.brief.briefrender`` and saved by ``rag.brief.brieffiles``.

Every citation in a brief must be a verbatim span of an article inside the window; ``verify`` enforces it
and a failure is an error, never a warning."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.brief.brieffiles import load_previous
from rag.brief.briefselect import MAX_STORIES, MAX_WORDS, fit_budget, window
from rag.brief.changes import change_within, compare
from rag.brief.headline import clean_title
from rag.brief.newsworthiness import rank
from rag.brief.stories import Story, group
from rag.cite.cite import MARKER, CitationBook, markers, span_citation
from rag.errors import BriefCitationError, EmptyWindowError
from rag.ingest.sentences import split_spans
from rag.types import Article, Briefing, Citation, Source, StorySummary


def clean_headline(title: str) -> str:
    """An article title fit to head a story (the LLM briefer's fallback when the model gives none)."""
    return clean_title(title)


class Summarizer(Protocol):
    name: str

    def summarize(self, stories: list[Story], book: CitationBook, date: dt.date) -> list[StorySummary]: ...


def story_summary(story: Story, headline: str, sentences: list[str]) -> StorySummary:
    return StorySummary(
        id=story.id,
        headline=headline,
        sentences=sentences,
        outlets=[o for o in story.outlets if not o.startswith("(unknown outlet")],
        articles=[a.id for a in story.articles],
        duplicates=dict(story.duplicates),
        newest=story.newest.isoformat() if story.newest else "",
        signals=story.signals,
        sources=[Source(a.id, a.title, a.outlet, a.url, a.published_iso) for a in story.articles],
        centroid=[round(float(x), 5) for x in story.centroid],
    )


def verify(brief: Briefing, window: dict[str, Article]) -> None:
    """Every citation is a verbatim span of an article in the window, and every marker has a citation."""
    keys = {c.key for c in brief.citations}
    for c in brief.citations:
        article = window.get(c.article_id)
        if article is None:
            raise BriefCitationError(f"citation [{c.key}] points at {c.article_id}, which is outside the window")
        if article.text[c.start : c.end] != c.quote:
            raise BriefCitationError(f"citation [{c.key}] does not match the text of {c.article_id}")
    text = " ".join([*brief.overview, *(x for s in brief.stories for x in s.sentences)])
    for marker in markers(text):
        if marker not in keys:
            raise BriefCitationError(f"marker [{marker}] has no citation")
    for s in brief.stories:
        for m in s.moved:
            if m.after_key not in keys or (m.before_key is not None and m.before_key not in keys):
                raise BriefCitationError(f"a moved number in story {s.id} cites nothing")


def _prune_citations(brief: Briefing) -> None:
    """Drop citations nothing refers to any more (after the word budget cut sentences) and renumber."""
    used: list[int] = []
    for text in [*brief.overview, *(x for s in brief.stories for x in s.sentences)]:
        used += markers(text)
    used += [k for s in brief.stories for m in s.moved for k in (m.after_key, m.before_key) if k is not None]
    order = list(dict.fromkeys(used))
    new_key = {old: i for i, old in enumerate(order, start=1)}
    by_key = {c.key: c for c in brief.citations}
    brief.citations = [Citation(**{**by_key[k].__dict__, "key": new_key[k]}) for k in order]

    def renumber(text: str) -> str:
        return MARKER.sub(lambda m: f"[{new_key[int(m.group(1))]}]", text)

    brief.overview = [renumber(x) for x in brief.overview]
    for s in brief.stories:
        s.sentences = [renumber(x) for x in s.sentences]
        for m in s.moved:
            m.after_key = new_key[m.after_key]
            m.before_key = new_key[m.before_key] if m.before_key is not None else None


def make_brief(
    articles: Sequence[Article],
    vectors: dict[str, np.ndarray],
    summarizer: Summarizer,
    *,
    date: dt.date,
    since: dt.date,
    until: dt.date,
    previous: Briefing | None = None,
    max_words: int = MAX_WORDS,
    max_stories: int = MAX_STORIES,
    reducer: Callable[[Briefing], None] | None = None,
    idf: Callable[[str], float] = lambda _t: 1.0,
) -> Briefing:
    if not articles:
        raise EmptyWindowError(
            f"no articles published between {since} and {until}; ingest some (`rag ingest`, "
            "`rag brief --refresh`) or choose another --date"
        )
    stories = rank(group(list(articles), vectors), articles, until, idf)[: max_stories * 2]
    book = CitationBook()
    arrange = getattr(summarizer, "arrange", None)  # reading order for what the budget keeps
    summaries, more = fit_budget(summarizer.summarize(stories, book, date), max_words, max_stories, arrange)
    brief = Briefing(
        date=date.isoformat(),
        since=since.isoformat(),
        until=until.isoformat(),
        engine=summarizer.name,
        stories=summaries,
        citations=book.citations,
        n_articles=len(articles),
        generated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        previous=previous.date if previous else "",
        more=more,
    )
    if reducer is not None:
        reducer(brief)
    by_story = {s.id: s for s in stories}
    change_sentences = {
        summary.id: [
            span_citation(article, a, b)
            for article in by_story[summary.id].articles
            for a, b in split_spans(article.text)
            if change_within(article.text[a:b])
        ]
        for summary in brief.stories
    }
    compare(brief, previous, change_sentences, book.add)
    brief.citations = book.citations
    _prune_citations(brief)
    verify(brief, {a.id: a for a in articles})
    return brief


def brief_from_store(
    pipeline: Any,
    *,
    date: dt.date | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    previous: Briefing | None = None,
    previous_dir: Path | None = None,
    chat_model: Any = None,
    max_words: int | None = None,
    max_stories: int | None = None,
) -> Briefing:
    """The brief of a date window of the pipeline's store, extractive or (with ``chat_model``) by the LLM, a story
    whose model summary does not pass the checks quoted from the articles as the extractive brief has it; the
    budget defaults to the settings' (``RAG_BRIEF_WORDS``, ``RAG_BRIEF_STORIES``)."""
    day, since, until, articles = window(pipeline.store, date=date, since=since, until=until)
    if previous is None:
        previous = load_previous(previous_dir, since)
    vectors = pipeline.store.article_vectors([a.id for a in articles])

    def idf(term: str) -> float:  # the lexical index is built on first use
        return float(pipeline.retriever.lexical.idf(term))

    from rag.brief.brief_extractive import ExtractiveBriefer

    reducer = None
    summarizer: Summarizer
    extractive = ExtractiveBriefer(pipeline.embedder, idf=idf)
    if chat_model is not None:
        from rag.brief.brief_llm import LLMBriefer

        llm = LLMBriefer(pipeline.settings, chat_model, fallback=extractive)  # tells the stories the model could not
        summarizer, reducer = llm, llm.reduce
    else:
        summarizer = extractive
    return make_brief(
        articles,
        vectors,
        summarizer,
        date=day,
        since=since,
        until=until,
        previous=previous,
        max_words=pipeline.settings.brief_max_words if max_words is None else max_words,
        max_stories=pipeline.settings.brief_max_stories if max_stories is None else max_stories,
        reducer=reducer,
        idf=idf,
    )
