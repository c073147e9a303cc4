"""The extractive briefer (the default, no LLM): per story, the newest development first (of the fresh ledes, the
one a learned salience model, ``rag.brief.salience``, finds most worth reading), then the sentences that add most
of its important words, weighted by the same model; verbatim, cited, and only sentences a reader can take on
their own (no fragments, headings, captions, bylines; a quotation with its speaker or not at all)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.brief import headline, salience, sentence_quality
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
_NAME = salience.NAME
_BACKGROUND, _LEANS = salience.FEATURES.index("background"), salience.FEATURES.index("leans")


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


#: Sentences offered per story: the budget shows each story's first two, tells the top stories in four, and on
#: a thin day in up to six (``rag.brief.briefselect.fit_budget``).
SENTENCES = 6


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


@dataclass
class StoryCandidates:
    """A story's quotable sentences as the briefer weighs them: their vectors, news scores, the news score's
    choice of opener (a feature of the salience model; ``opener`` makes the final choice), the headline, and the
    salience model's features."""

    cands: list[Candidate]
    vecs: np.ndarray
    news: list[float]
    opener: int  #: the best ``news_score``
    headline: str
    rows: np.ndarray
    words: list[set[str]]  #: each candidate's terms
    weight: dict[str, float]  #: the story's important words (``salience.term_weights``)
    central: np.ndarray  #: each candidate's cosine to the story's centroid


class ExtractiveBriefer:
    """Per story: the newest, most salient development first, then the sentences that add most of the story's
    important words weighted by how worth reading the salience model (``rag.brief.salience``) finds them, never
    repeating one another: verbatim and cited."""

    name = "extractive"

    def __init__(
        self, embedder: Embedder, idf: Callable[[str], float] | None = None, model: salience.Salience | None = None
    ) -> None:
        self.embedder = embedder
        self.idf = idf or (lambda _t: 1.0)
        self.model = model
        self.order: Order = {}

    def story_candidates(self, stories: list[Story], date: dt.date) -> list[StoryCandidates | None]:
        """Each story's candidates (``None`` for a story with no quotable sentence), embedded in one batch."""
        cands = [c for si, s in enumerate(stories) for a in s.articles[:MAX_ARTICLES] for c in candidates(a, si)]
        vecs = self.embedder.embed([c.text for c in cands]) if cands else np.zeros((0, 1))
        out: list[StoryCandidates | None] = []
        for si, story in enumerate(stories):
            idx = [i for i, c in enumerate(cands) if c.story == si]
            if not idx:
                out.append(None)
                continue
            mine = [cands[i] for i in idx]
            news = [news_score(c, story, date) for c in mine]
            lede = max(range(len(mine)), key=lambda k: news[k])
            head = headline.choose(story.articles, self.idf)
            weights = salience.term_weights(story, self.idf, MAX_ARTICLES)
            words = [set(terms(c.text)) for c in mine]
            same = story.centroid.size == vecs.shape[1]
            central = vecs[idx] @ story.centroid if same else np.zeros(len(idx))
            rows = salience.rows(
                story, si, mine, words, central, news, lede, head, date, self.idf, MAX_ARTICLES, weights
            )
            out.append(StoryCandidates(mine, vecs[idx], news, lede, head, rows, words, weights[0], central))
        return out

    def summarize(self, stories: list[Story], book: CitationBook, date: dt.date) -> list[StorySummary]:
        model = self.model or salience.shipped()
        self.order = {}  # this brief's sentences only
        return summaries(stories, self.story_candidates(stories, date), model, book, self.order)

    def arrange(self, sentences: list[str]) -> list[str]:
        return arrange(sentences, self.order)


#: Where each quoted sentence sits: (its article's place in the story, its place in the article).
Order = dict[str, tuple[int, int]]


def summaries(
    stories: list[Story],
    scs: list[StoryCandidates | None],
    model: salience.Salience,
    book: CitationBook,
    order: Order | None = None,
) -> list[StorySummary]:
    """Each story with candidates: its headline, then its sentences best first (the opener, then ``pick``'s
    order), so that the budget keeps the best; ``order`` records where each sits for ``arrange``."""
    out = []
    for story, sc in zip(stories, scs, strict=True):
        if sc is None:
            continue
        picked = [sc.cands[k] for k in pick(sc, model.probability(sc.rows))]
        sentences = [f"{c.text} [{book.cite(c.article, c.start, c.end)}]" for c in picked]
        if order is not None:
            where = [(story.articles.index(c.article), c.position) for c in picked]
            order.update(zip(sentences, where, strict=True))
        out.append(story_summary(story, sc.headline, sentences))
    return out


def arrange(sentences: list[str], order: Order) -> list[str]:
    """The sentences a brief keeps, as a reader takes them: the opener, then the rest in article order."""
    rest = sorted(sentences[1:], key=lambda x: order.get(x, (len(order), 0)))
    return sentences[:1] + rest


def opener(sc: StoryCandidates, p: np.ndarray) -> int:
    """The sentence that opens the story: the best product of how well it tells the newest development
    (``news_score``) and its salience ``p`` relative to the story's most salient sentence, so that of two
    fresh ledes the one stating what a reader is asked about wins (chosen on the training weeks' quiz coverage:
    0.648 → 0.656 out of fold against the news score alone). ``sc.opener``, the news score's own choice, is
    what the salience model saw as a feature. Never background or a sentence leaning on one before it while
    the story has another."""
    if not len(p):
        return sc.opener
    top = max(float(np.max(p)), 1e-9)
    score = np.asarray(sc.news) * (p / top)
    fresh = (sc.rows[:, _BACKGROUND] == 0) & (sc.rows[:, _LEANS] == 0)  # the flags news_score also weighs
    return int(np.argmax(np.where(fresh, score, -1.0) if fresh.any() else score))


def pick(sc: StoryCandidates, p: np.ndarray, n: int = SENTENCES) -> list[int]:
    """The ``opener``, then one at a time the sentence with the best product of what it adds and how salient it
    is: the story's weighted words it holds that no chosen sentence holds (per square root of its length),
    favouring central and early sentences, times its salience ``p`` relative to the story's most salient
    sentence; never one overlapping a chosen span or saying nearly the same thing (cosine ≥ 0.8)."""
    words = sc.words
    first = opener(sc, p)
    chosen = [first]
    covered = set(words[first])
    top = max(float(np.max(p)), 1e-9) if len(p) else 1.0
    while len(chosen) < n:
        best, choice = 0.0, None
        for k, c in enumerate(sc.cands):
            if k in chosen or any(
                (c.article.id == sc.cands[j].article.id and c.start < sc.cands[j].end and sc.cands[j].start < c.end)
                or float(sc.vecs[k] @ sc.vecs[j]) >= 0.8
                for j in chosen
            ):
                continue
            gain = sum(sc.weight.get(t, 0.0) for t in words[k] - covered) / max(1.0, len(words[k])) ** 0.5
            lede = 1.0 - c.position / LEDE_SENTENCES
            score = gain * (0.5 + float(sc.central[k])) * (0.8 + 0.2 * lede) * (float(p[k]) / top)
            if score > best:
                best, choice = score, k
        if choice is None:
            break
        chosen.append(choice)
        covered |= words[choice]
    return chosen
