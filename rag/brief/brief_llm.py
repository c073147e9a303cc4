"""LLM briefings: map (each story summarised from its articles, with citations) then reduce (stories
ordered by importance and a cited overview). Articles reach the model as delimited JSON data; its reply is
read for structure only where we expect it (the first line's HEADLINE, the ORDER and OVERVIEW lines), and
everything it writes is checked like any claim (``rag/cite/cite.py``): unsupported or uncited sentences, lines
carrying links or structure labels are dropped, and a headline its sources do not bear out is replaced by
the article's own title."""

from __future__ import annotations

import datetime as dt
import json
import re

from rag.answer.llm import format_sources
from rag.brief.brief import clean_headline, story_summary
from rag.brief.stories import Story
from rag.cite.cite import CitationBook, ClaimChecker, check, has_words
from rag.ingest.sentences import split_spans
from rag.prompts import load_prompt
from rag.provider import ChatModel
from rag.settings import Settings
from rag.types import Briefing, Chunk, Citation, Hit, StorySummary

EXCERPT_CHARS = 2500  #: of each article given to the model
MAX_ARTICLES = 4
MAX_HEADLINE_WORDS = 16
#: Lines of a reply that are structure, not content: never published as a sentence.
_LABEL = re.compile(r"^\s*[*_#>\s]*(HEADLINE|ORDER|OVERVIEW|SOURCES?|QUESTION)\s*:", re.IGNORECASE | re.MULTILINE)
_LINK = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)\S+|\b[\w.-]+\.(?:com|net|org|io|ru|cn|info|xyz|top)\b")
_MARKUP = re.compile(r"[<>`\[\]{}|*_#]")


def _excerpt(story: Story) -> list[Hit]:
    hits = []
    for a in story.articles[:MAX_ARTICLES]:
        end = len(a.text)
        if end > EXCERPT_CHARS:
            end = max((b for _, b in split_spans(a.text) if b <= EXCERPT_CHARS), default=EXCERPT_CHARS)
        hits.append(Hit(Chunk(f"{a.id}@0", a.id, 0, a.text[:end], 0, end, a.title, a.outlet, a.url, a.published), 0.0))
    return hits


def content_lines(text: str) -> str:
    """The reply without structure lines (a planted "HEADLINE: …" inside the body is not a headline)."""
    return "\n".join(line for line in text.splitlines() if not _LABEL.match(line))


def checked_sentences(text: str, hits: list[Hit], book: CitationBook) -> list[str]:
    """The model's sentences whose every claim holds against the article text it cites, re-keyed into the
    brief (each claim citing its own aligned span); uncited, unsupported and link-carrying ones dropped."""
    checker = ClaimChecker([h.chunk for h in hits], book.add)
    out = []
    body = content_lines(text)
    for a, b in split_spans(body):
        sentence = body[a:b]
        if _LINK.search(sentence) or not has_words(sentence):
            continue
        shown, claims = checker.sentence(sentence)  # spans of dropped sentences are pruned with the brief's
        if claims and all(c.supported and c.keys for c in claims):
            out.append(shown)
    return out


def checked_headline(headline: str, hits: list[Hit]) -> bool:
    """A headline is published only if it is short plain text that one of its sources supports."""
    if not headline or len(headline.split()) > MAX_HEADLINE_WORDS or _LINK.search(headline) or _MARKUP.search(headline):
        return False
    return any(check(headline, h.chunk.text).supported for h in hits)


class LLMBriefer:
    name = "llm"

    def __init__(self, settings: Settings, model: ChatModel) -> None:
        self.settings = settings
        self.map_prompt = load_prompt(settings.prompts_dir, "brief_story")
        self.reduce_prompt = load_prompt(settings.prompts_dir, "brief_reduce")
        self.model = model

    def summarize(self, stories: list[Story], book: CitationBook, date: dt.date) -> list[StorySummary]:
        out = []
        for story in stories:
            hits = _excerpt(story)
            reply = self.settings.redact(
                self.model.complete(self.map_prompt, {"sources": format_sources(hits), "date": date.isoformat()})
            )
            first, _, body = reply.strip().partition("\n")
            m = re.match(r"\s*HEADLINE:\s*(.+)", first)
            headline = m.group(1).strip() if m else ""
            if not m:
                body = reply
            if not checked_headline(headline, hits):
                headline = clean_headline(story.articles[0].title)
            sentences = checked_sentences(body, hits, book)[:4]
            if sentences:
                out.append(story_summary(story, headline[:160], sentences))
        return out

    def reduce(self, brief: Briefing) -> None:
        """Order stories by the editor model's judgement and add a cited overview (checked like the rest)."""
        if len(brief.stories) < 2:
            return
        stories = [
            {"id": s.id, "headline": s.headline, "sentences": s.sentences, "outlets": len(s.outlets) or 1}
            for s in brief.stories
        ]
        reply = self.settings.redact(
            self.model.complete(
                self.reduce_prompt, {"stories": json.dumps(stories, ensure_ascii=False), "date": brief.date}
            )
        )
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


def _day(c: Citation) -> dt.date | None:
    return dt.date.fromisoformat(c.published) if c.published else None
