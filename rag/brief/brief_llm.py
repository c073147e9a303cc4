"""LLM briefings: map (each story summarised from its articles, with citations) then reduce (stories
ordered by importance and a cited overview). Articles reach the model as delimited JSON data; its reply is
read for structure only where we expect it (the first line's HEADLINE, the ORDER and OVERVIEW lines), and
everything it writes is checked like any claim (``rag/cite/cite.py``): unsupported or uncited sentences, lines
carrying links or structure labels are dropped, and a headline its sources do not bear out is replaced by
the article's own title.

A sentence of an article that addresses an assistant (``rag.cite.planted``) is cut from what the model reads, and
a model sentence that repeats one is never published. A story none of whose model sentences passes (an empty
reply, or a call that failed with ``ProviderError``, included) is told by the extractive briefer instead, its
sentences quoted from the articles and labelled so (``StorySummary.written_by == "quoted"``), its citations in
the brief's one book."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.answer.llm import format_sources
from rag.brief import salience
from rag.brief.brief import clean_headline, story_summary
from rag.brief.brief_extractive import ExtractiveBriefer, Order, StoryCandidates, arrange, summaries
from rag.brief.stories import Story
from rag.cite.cite import MIN_COVERAGE, CitationBook, ClaimChecker, check, has_words, strip_markers
from rag.cite.meaning import coverage
from rag.cite.planted import planted
from rag.errors import ProviderError
from rag.ingest.sentences import split_spans
from rag.prompts import load_prompt
from rag.provider import ChatModel
from rag.settings import Settings
from rag.types import Article, Briefing, Chunk, Citation, Hit, StorySummary

EXCERPT_CHARS = 2500  #: of each article given to the model
MAX_ARTICLES = 4
MAX_HEADLINE_WORDS = 16
#: Lines of a reply that are structure, not content: never published as a sentence.
_LABEL = re.compile(r"^\s*[*_#>\s]*(HEADLINE|ORDER|OVERVIEW|SOURCES?|QUESTION)\s*:", re.IGNORECASE | re.MULTILINE)
_LINK = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)\S+|\b[\w.-]+\.(?:com|net|org|io|ru|cn|info|xyz|top)\b")
_MARKUP = re.compile(r"[<>`\[\]{}|*_#]")


@dataclass(frozen=True)
class Excerpt:
    """What the model reads of one article: its first ``EXCERPT_CHARS`` (whole sentences), less every planted
    sentence. ``runs`` maps the text back onto the article, so that a quote the checks align stays a verbatim
    span of it; a quote spanning a cut has no such span."""

    hit: Hit  #: the excerpt as the model's source (its chunk starts at 0 in excerpt coordinates)
    runs: tuple[tuple[int, int, int], ...]  #: (start in the excerpt, start in the article, length) of each kept run
    cut: tuple[str, ...]  #: the planted sentences left out

    def article_span(self, lo: int, hi: int) -> tuple[int, int] | None:
        """Where the excerpt's ``[lo, hi)`` lies in the article (None when it spans a cut)."""
        for at, start, length in self.runs:
            if at <= lo and hi <= at + length:
                return start + lo - at, start + hi - at
        return None


def excerpt(a: Article) -> Excerpt:
    end = len(a.text)
    if end > EXCERPT_CHARS:
        end = max((b for _, b in split_spans(a.text) if b <= EXCERPT_CHARS), default=EXCERPT_CHARS)
    runs: list[tuple[int, int]] = []  # kept (start, end) in the article
    cut: list[str] = []
    pos = 0
    for lo, hi in split_spans(a.text[:end]):
        if planted(a.text[lo:hi]):
            cut.append(a.text[lo:hi])
            if lo > pos:
                runs.append((pos, lo))
            pos = hi
            while pos < end and a.text[pos].isspace():  # the cut's trailing space goes with it
                pos += 1
    if pos < end:
        runs.append((pos, end))
    text, mapped = "", []
    for lo, hi in runs:
        mapped.append((len(text), lo, hi - lo))
        text += a.text[lo:hi]
    chunk = Chunk(f"{a.id}@0", a.id, 0, text, 0, len(text), a.title, a.outlet, a.url, a.published)
    return Excerpt(Hit(chunk, 0.0), tuple(mapped), tuple(cut))


def _excerpt(story: Story) -> list[Excerpt]:
    return [excerpt(a) for a in story.articles[:MAX_ARTICLES]]


def content_lines(text: str) -> str:
    """The reply without structure lines (a planted "HEADLINE: …" inside the body is not a headline)."""
    return "\n".join(line for line in text.splitlines() if not _LABEL.match(line))


def echoes(sentence: str, lines: Sequence[str]) -> bool:
    """Whether ``sentence`` addresses an assistant or repeats one of the planted ``lines`` (most of its words)."""
    claim = strip_markers(sentence)
    return planted(claim) or any(coverage(claim, line) >= MIN_COVERAGE for line in lines)


def checked_sentences(
    text: str,
    hits: list[Hit],
    book: CitationBook,
    add: Callable[[Citation], int | None] | None = None,
    planted_lines: Sequence[str] = (),
) -> list[str]:
    """The model's sentences whose every claim holds against the article text it cites, re-keyed into the
    brief (each claim citing its own aligned span); uncited, unsupported and link-carrying ones dropped, and
    any addressing an assistant or repeating one of ``planted_lines``. ``add`` keys a citation (default:
    ``book.add``); when it gives None (no verbatim span of the article), the sentence is dropped."""
    keyed = add or book.add
    failed = False

    def key(c: Citation) -> int:
        nonlocal failed
        k = keyed(c)
        if k is None:
            failed = True
            return 0
        return k

    checker = ClaimChecker([h.chunk for h in hits], key)
    out = []
    body = content_lines(text)
    for a, b in split_spans(body):
        sentence = body[a:b]
        if _LINK.search(sentence) or not has_words(sentence) or echoes(sentence, planted_lines):
            continue
        failed = False
        shown, claims = checker.sentence(sentence)  # spans of dropped sentences are pruned with the brief's
        if claims and all(c.supported and c.keys for c in claims) and not failed:
            out.append(shown)
    return out


def checked_headline(headline: str, hits: list[Hit]) -> bool:
    """A headline is published only if it is short plain text that one of its sources supports."""
    if not headline or len(headline.split()) > MAX_HEADLINE_WORDS or _LINK.search(headline) or _MARKUP.search(headline):
        return False
    return any(check(headline, h.chunk.text).supported for h in hits)


class LLMBriefer:
    """Map: each story written by the model from its articles and checked; a story with no checked sentence is
    told by ``fallback`` (the extractive briefer) instead, labelled as quoted. Without a fallback such a story
    is left out."""

    name = "llm"

    def __init__(self, settings: Settings, model: ChatModel, fallback: ExtractiveBriefer | None = None) -> None:
        self.settings = settings
        self.map_prompt = load_prompt(settings.prompts_dir, "brief_story")
        self.reduce_prompt = load_prompt(settings.prompts_dir, "brief_reduce")
        self.model = model
        self.fallback = fallback
        self.order: Order = {}  #: where each quoted sentence sits, for ``arrange``

    def summarize(self, stories: list[Story], book: CitationBook, date: dt.date) -> list[StorySummary]:
        self.order = {}
        written: dict[str, StorySummary] = {}
        for story in stories:
            summary = self.write(story, book, date)
            if summary is not None:
                written[story.id] = summary
        failed = [s for s in stories if s.id not in written]
        quoted = {s.id: s for s in self.quote(failed, book, date)}
        return [x for s in stories if (x := written.get(s.id) or quoted.get(s.id)) is not None]

    def write(self, story: Story, book: CitationBook, date: dt.date) -> StorySummary | None:
        """The story as the model tells it, its sentences checked; None when none holds (or the call failed)."""
        excerpts = _excerpt(story)
        hits = [e.hit for e in excerpts]
        try:
            reply = self.settings.redact(
                self.model.complete(self.map_prompt, {"sources": format_sources(hits), "date": date.isoformat()})
            )
        except ProviderError:
            return None
        first, _, body = reply.strip().partition("\n")
        m = re.match(r"\s*HEADLINE:\s*(.+)", first)
        headline = m.group(1).strip() if m else ""
        if not m:
            body = reply
        cut = [line for e in excerpts for line in e.cut]
        if not checked_headline(headline, hits) or echoes(headline, cut):
            headline = clean_headline(story.articles[0].title)
        by_article = {e.hit.chunk.article_id: e for e in excerpts}

        def add(c: Citation) -> int | None:
            span = by_article[c.article_id].article_span(c.start, c.end)
            if span is None:
                return None
            return book.add(dataclasses.replace(c, start=span[0], end=span[1]))

        sentences = checked_sentences(body, hits, book, add, cut)[:4]
        if not sentences:
            return None
        summary = story_summary(story, headline[:160], sentences)
        summary.written_by = "model"
        return summary

    def quote(self, stories: list[Story], book: CitationBook, date: dt.date) -> list[StorySummary]:
        """The extractive stories of ``stories`` (planted sentences never quoted), labelled as quoted."""
        if self.fallback is None or not stories:
            return []
        scs = [None if sc is None else _unplanted(sc) for sc in self.fallback.story_candidates(stories, date)]
        out = summaries(stories, scs, self.fallback.model or salience.shipped(), book, self.order)
        for s in out:
            s.written_by = "quoted"
        return out

    def arrange(self, sentences: list[str]) -> list[str]:
        """A quoted story's kept sentences in reading order (as the extractive brief has them); a model's as
        it wrote them."""
        return arrange(sentences, self.order)

    def reduce(self, brief: Briefing) -> None:
        """Order stories by the editor model's judgement and add a cited overview (checked like the rest)."""
        if len(brief.stories) < 2:
            return
        stories = [
            {"id": s.id, "headline": s.headline, "sentences": s.sentences, "outlets": len(s.outlets) or 1}
            for s in brief.stories
        ]
        try:
            reply = self.settings.redact(
                self.model.complete(
                    self.reduce_prompt, {"stories": json.dumps(stories, ensure_ascii=False), "date": brief.date}
                )
            )
        except ProviderError:  # the stories stand as ranked by newsworthiness, without an overview
            return
        order = re.search(r"^\s*ORDER:\s*(.+)$", reply, re.MULTILINE)
        if order:
            known = {s.id for s in brief.stories}
            ids = [sid.strip() for sid in order.group(1).split(",") if sid.strip() in known]
            rank = {sid: i for i, sid in enumerate(dict.fromkeys(ids))}
            brief.stories.sort(key=lambda s: rank.get(s.id, len(rank)))
        overview = re.search(r"^\s*OVERVIEW:\s*(.+)", reply, re.MULTILINE | re.DOTALL)
        if overview:
            # The overview cites the brief's own spans: each is a source, keyed as it is in the brief.
            book = CitationBook()
            for c in brief.citations:
                book.add(c)
            sources = [
                Hit(Chunk(c.chunk_id, c.article_id, 0, c.quote, c.start, c.end, c.title, c.outlet, c.url, _day(c)), 0.0)
                for c in book.citations
            ]
            brief.overview = checked_sentences(overview.group(1), sources, book)
            brief.citations = book.citations


def _unplanted(sc: StoryCandidates) -> StoryCandidates | None:
    """A story's candidates without those addressing an assistant (None when nothing else is left)."""
    keep = [i for i, c in enumerate(sc.cands) if not planted(c.text)]
    if len(keep) == len(sc.cands):
        return sc
    if not keep:
        return None
    news = [sc.news[i] for i in keep]
    return dataclasses.replace(
        sc,
        cands=[sc.cands[i] for i in keep],
        vecs=sc.vecs[keep],
        news=news,
        opener=keep.index(sc.opener) if sc.opener in keep else max(range(len(keep)), key=news.__getitem__),
        rows=sc.rows[keep],
        words=[sc.words[i] for i in keep],
        central=sc.central[keep],
    )


def _day(c: Citation) -> dt.date | None:
    return dt.date.fromisoformat(c.published) if c.published else None
