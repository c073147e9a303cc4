"""The extractive briefer (the default, no LLM): per story, the newest development first, then the sentences
that together cover most of its important words; verbatim, cited, and only sentences a reader can take on
their own (no fragments, headings, captions, bylines; a quotation with its speaker or not at all)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.brief import headline, sentence_quality
from rag.brief.brief import story_summary
from rag.brief.stories import Story
from rag.cite.cite import CitationBook
from rag.ingest.sentences import split_spans
from rag.search.embed import Embedder
from rag.text import terms
from rag.types import Article, StorySummary

LEDE_SENTENCES = 15  #: sentences per article considered for a story summary
MAX_ARTICLES = 5  #: articles per story read for its summary (most central first)
MAX_WORDS = 60  #: a longer sentence (or quotation joined with its attribution) is not quoted
_NAME = re.compile(r"(?<=[a-z,;:] )[A-Z][\w’'-]+")


@dataclass(frozen=True)
class Candidate:
    """A quotable span of one article: a sentence (its dateline cut off), or a quotation joined with the
    sentence before it that names the speaker."""

    story: int
    article: Article
    start: int
    end: int
    position: int  #: index of the (last) sentence in the article

    @property
    def text(self) -> str:
        return self.article.text[self.start : self.end]


def candidates(article: Article, story: int = 0, limit: int = LEDE_SENTENCES) -> list[Candidate]:
    """The quotable spans among the first ``limit`` sentences of ``article``."""
    text = article.text
    spans = split_spans(text)[:limit]
    out = []
    for pos, (a, b) in enumerate(spans):
        a += sentence_quality.dateline_end(text[a:b])
        s = text[a:b]
        if sentence_quality.problem(s) or not 8 <= len(s.split()) <= MAX_WORDS:
            continue
        if not sentence_quality.quote_attributed(s):
            # "“Congratulations …”" alone says nothing of who spoke: join the sentence naming the speaker.
            if pos == 0:
                continue
            pa, pb = spans[pos - 1]
            prev = text[pa:pb]
            joined = text[pa:b]
            if (
                "\n" in text[pb:a]  # the speaker is named in this paragraph or not at all
                or sentence_quality.problem(prev)
                or not sentence_quality.speaker_named(prev)
                or len(joined.split()) > MAX_WORDS + 20
                or not sentence_quality.quote_attributed(prev)
            ):
                continue
            a = pa
        out.append(Candidate(story, article, a, b, pos))
    return out


def sentence_count(story: Story) -> int:
    """Sentences offered for ``story``: two for a single short report, up to four for a big or widely covered
    one. The budget shows each story's first two, and the rest only on a thin day (``rag.brief.brief.fit_budget``)."""
    length_bonus = min(2, sum(len(a.text) for a in story.articles) // 1200)
    return max(2, min(4, 1 + story.independent_coverage + length_bonus))


def news_score(c: Candidate, story: Story, until: dt.date) -> float:
    """How well ``c`` opens the story: a lede of its newest article that says what happened, who, where,
    how many and when, not background and not leaning on a sentence before it."""
    s = c.text
    newest = story.newest or until
    age = (newest - c.article.published).days if c.article.published else 7
    score = 0.5 ** (max(0, age) / 2.0)  # the newest development is in the newest article
    score *= (1.0, 0.8, 0.6)[c.position] if c.position < 3 else 0.3
    facts = len(set(_NAME.findall(s))) + bool(re.search(r"\d", s)) + sentence_quality.dated_now(s)
    score *= 1.0 + 0.25 * min(facts, 4)
    if sentence_quality.background(s, until.year):
        score *= 0.2
    if sentence_quality.leans_on_context(s) or sentence_quality.quotations(s):
        score *= 0.4
    return score


class ExtractiveBriefer:
    """Per story: the newest development first, then the sentences that together cover most of its important
    words (weighted by how often the story's articles use them and how rare they are in the store), favouring
    central and early sentences, never repeating one another: verbatim and cited."""

    name = "extractive"

    def __init__(self, embedder: Embedder, idf: Callable[[str], float] | None = None) -> None:
        self.embedder = embedder
        self.idf = idf or (lambda _t: 1.0)

    def summarize(self, stories: list[Story], book: CitationBook, date: dt.date) -> list[StorySummary]:
        cands = [c for si, s in enumerate(stories) for a in s.articles[:MAX_ARTICLES] for c in candidates(a, si)]
        vecs = self.embedder.embed([c.text for c in cands]) if cands else np.zeros((0, 1))
        out = []
        for si, story in enumerate(stories):
            idx = [i for i, c in enumerate(cands) if c.story == si]
            if not idx:
                continue
            opener = max(idx, key=lambda i: news_score(cands[i], story, date))
            rest = self._select(story, idx, cands, vecs, [opener])[1:]
            rest.sort(key=lambda i: (story.articles.index(cands[i].article), cands[i].position))
            picked = [cands[i] for i in [opener, *rest]]
            sentences = [f"{c.text} [{book.cite(c.article, c.start, c.end)}]" for c in picked]
            out.append(story_summary(story, headline.choose(story.articles, self.idf), sentences))
        return out

    def _select(
        self, story: Story, idx: list[int], cands: list[Candidate], vecs: np.ndarray, chosen: list[int]
    ) -> list[int]:
        words = {i: set(terms(cands[i].text)) for i in idx}
        tf: dict[str, int] = {}
        for a in story.articles[:MAX_ARTICLES]:
            for t in set(terms(a.title + " " + a.text)):
                tf[t] = tf.get(t, 0) + 1
        # Hard news lives in names and figures: they weigh more than other words.
        names = {t for a in story.articles[:MAX_ARTICLES] for t in terms(" ".join(_NAME.findall(a.text)))}
        weight = {
            t: tf[t] * min(max(self.idf(t), 0.5), 8.0) * (2.0 if t[:1].isdigit() else 1.5 if t in names else 1.0)
            for t in tf
        }
        central = {i: float(vecs[i] @ story.centroid) if story.centroid.size == vecs.shape[1] else 0.0 for i in idx}
        covered: set[str] = set().union(*(words[i] for i in chosen))
        spans = [(cands[i].article.id, cands[i].start, cands[i].end) for i in chosen]
        while len(chosen) < sentence_count(story):
            best, pick = 0.0, None
            for i in idx:
                c = cands[i]
                overlaps = any(a == c.article.id and c.start < e and s < c.end for a, s, e in spans)
                if i in chosen or overlaps or any(float(vecs[i] @ vecs[j]) >= 0.8 for j in chosen):
                    continue
                gain = sum(weight.get(t, 0.0) for t in words[i] - covered) / max(1.0, len(words[i])) ** 0.5
                lede = 1.0 - c.position / LEDE_SENTENCES
                score = gain * (0.5 + central[i]) * (0.8 + 0.2 * lede)
                if score > best:
                    best, pick = score, i
            if pick is None:
                break
            chosen.append(pick)
            covered |= words[pick]
            spans.append((cands[pick].article.id, cands[pick].start, cands[pick].end))
        return chosen
