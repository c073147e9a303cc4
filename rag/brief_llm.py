"""LLM briefings: map (each story summarised from its articles, with citations) then reduce (stories
ordered by importance and a cited overview). Each sentence's citations are checked against the article
text it cites; unknown keys are removed and unsupported sentences dropped."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from rag.brief import CitationBook, clean_headline, story_summary
from rag.cite import MARKER, best_span, markers, normalise_markers, strip_markers, support
from rag.llm import MIN_SUPPORT, format_sources
from rag.prompts import load_prompt
from rag.provider import is_provider_failure, provider_error
from rag.sentences import split_spans
from rag.settings import Settings
from rag.stories import Story
from rag.types import Briefing, Chunk, Citation, Hit, StorySummary

EXCERPT_CHARS = 2500  #: of each article given to the model
MAX_ARTICLES = 4


def _excerpt(story: Story) -> list[Hit]:
    hits = []
    for a in story.articles[:MAX_ARTICLES]:
        end = len(a.text)
        if end > EXCERPT_CHARS:
            end = max((b for _, b in split_spans(a.text) if b <= EXCERPT_CHARS), default=EXCERPT_CHARS)
        hits.append(Hit(Chunk(f"{a.id}@0", a.id, 0, a.text[:end], 0, end, a.title, a.outlet, a.url, a.published), 0.0))
    return hits


def checked_sentences(text: str, hits: list[Hit], book: CitationBook) -> list[str]:
    """The model's cited sentences whose citations hold, re-keyed into the brief; the rest dropped."""
    out = []
    for a, b in split_spans(normalise_markers(text)):
        sentence = normalise_markers(text)[a:b]
        valid = [k for k in dict.fromkeys(markers(sentence)) if 1 <= k <= len(hits)]
        claim = strip_markers(sentence)
        if not valid or not re.search(r"[^\W\d_]{3}", claim):
            continue
        if not any(support(claim, hits[k - 1].chunk.text) >= MIN_SUPPORT for k in valid):
            continue
        keys = []
        for k in valid:
            chunk = hits[k - 1].chunk
            lo, hi = best_span(claim, chunk)
            keys.append(
                book.add(
                    Citation(
                        0,
                        chunk.article_id,
                        chunk.id,
                        chunk.title,
                        chunk.outlet,
                        chunk.url,
                        chunk.published.isoformat() if chunk.published else "",
                        chunk.text[lo:hi],
                        chunk.start + lo,
                        chunk.start + hi,
                    )
                )
            )
        body = MARKER.sub("", sentence).strip()
        body = re.sub(r"\s+([.,;:!?])", r"\1", body)
        out.append(f"{body} " + "".join(f"[{k}]" for k in dict.fromkeys(keys)))
    return out


class LLMBriefer:
    name = "llm"

    def __init__(self, settings: Settings, model: Any) -> None:
        self.settings = settings
        self.map_prompt = load_prompt(settings.prompts_dir, "brief_story")
        self.reduce_prompt = load_prompt(settings.prompts_dir, "brief_reduce")
        self.model = model

    def _run(self, prompt: Any, inputs: dict[str, str]) -> str:
        template = ChatPromptTemplate.from_messages([("system", prompt.system), ("human", prompt.user)])
        try:
            return str((template | self.model | StrOutputParser()).invoke(inputs))
        except Exception as exc:
            if is_provider_failure(exc):
                raise provider_error(exc, self.settings) from None
            raise

    def summarize(self, stories: list[Story], book: CitationBook, date: dt.date) -> list[StorySummary]:
        out = []
        for story in stories:
            hits = _excerpt(story)
            reply = self._run(self.map_prompt, {"sources": format_sources(hits), "date": date.isoformat()})
            m = re.match(r"\s*HEADLINE:\s*(.+)", reply)
            headline = m.group(1).strip() if m else clean_headline(story.articles[0].title)
            body = reply[m.end() :] if m else reply
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
        reply = self._run(self.reduce_prompt, {"stories": json.dumps(stories, ensure_ascii=False), "date": brief.date})
        order = re.search(r"ORDER:\s*(.+)", reply)
        if order:
            rank = {sid.strip(): i for i, sid in enumerate(order.group(1).split(","))}
            brief.stories.sort(key=lambda s: rank.get(s.id, len(rank)))
        overview = re.search(r"OVERVIEW:\s*(.+)", reply, re.DOTALL)
        if overview:
            by_key = {c.key: c for c in brief.citations}
            kept = []
            text = normalise_markers(overview.group(1).strip())
            for a, b in split_spans(text):
                sentence = text[a:b]
                keys = [k for k in markers(sentence) if k in by_key]
                if keys and any(support(sentence, by_key[k].quote) >= MIN_SUPPORT for k in keys):
                    kept.append(MARKER.sub(lambda mk: mk.group() if int(mk.group(1)) in by_key else "", sentence))
            brief.overview = kept
