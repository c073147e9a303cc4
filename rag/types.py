"""The shared types that flow through the pipeline: Article → Chunk → Hit → Citation → Answer.

Plain dataclasses with documented fields. Vendor objects (Chroma results, LangChain documents,
OpenAI responses) are converted into these at the module boundary that owns the vendor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from rag.errors import ConfigError


@dataclass(frozen=True)
class Article:
    """One cleaned news article, as ingested."""

    id: str  #: stable id: the record's own id, else derived from its URL, else from its file path
    title: str
    text: str  #: cleaned full text; every chunk and citation offset points into this string
    outlet: str = ""  #: publisher ("" when unknown: never invented)
    url: str = ""
    published: dt.date | None = None  #: publication date (None when the source does not say)
    authors: tuple[str, ...] = ()
    source: str = ""  #: where it was read from (file path, ``path:line`` for JSONL records)

    @property
    def published_iso(self) -> str:
        return self.published.isoformat() if self.published else ""


@dataclass(frozen=True)
class Skipped:
    """An input that was not ingested, and why (one line)."""

    source: str  #: the file, folder, ``path:line`` or URL
    reason: str


@dataclass(frozen=True)
class Chunk:
    """A token-bounded, sentence-aligned slice of an article: ``article.text[start:end] == text``."""

    id: str  #: ``{article_id}:{index}``
    article_id: str
    index: int
    text: str
    start: int  #: character offset of the slice in the article text
    end: int
    title: str = ""
    outlet: str = ""
    url: str = ""
    published: dt.date | None = None
    n_tokens: int = 0  #: tiktoken (cl100k_base) tokens in ``text``


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the ranks that produced it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None  #: 1-based rank in the dense list, None if absent there
    lexical_rank: int | None = None
    dense_similarity: float | None = None  #: cosine similarity of chunk and query (when the dense side found it)
    lexical_score: float | None = None  #: BM25 score (when the lexical side found it)


@dataclass(frozen=True)
class Citation:
    """A checkable source for part of an answer: a verbatim span of a dated article."""

    key: int  #: the ``[n]`` marker used in the answer text
    article_id: str
    chunk_id: str
    title: str
    outlet: str
    url: str
    published: str  #: ISO date, "" when unknown
    quote: str  #: verbatim span: ``article.text[start:end] == quote``
    start: int
    end: int


@dataclass(frozen=True)
class FollowUp:
    """What the answerer should know of a conversation's follow-up: the sentences the previous answer already
    quoted (a follow-up asks for something new: the same quote again answers the earlier question)."""

    seen: frozenset[str] = frozenset()


@dataclass
class ClaimCheck:
    """One claim of a generated answer or brief (a sentence, or a clause with its own citation) and what
    checking it against its cited span found. The rules decide; the optional LLM verdict is shown beside."""

    text: str  #: the claim as shown, with its ``[n]`` keys
    keys: list[int]  #: the citations (aligned spans) it was checked against
    supported: bool  #: the deterministic verdict: every check agreed with the aligned span
    reasons: list[str] = field(default_factory=list)  #: why not, one line each ("3,000 is not in …")
    llm: str = ""  #: the optional LLM verification: "holds", "fails", "unclear"; "" when not run
    llm_reason: str = ""


@dataclass
class Answer:
    """What ``rag ask`` returns: text with ``[n]`` markers, the citations they point at, and "as of"."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    as_of: str = ""  #: newest publication date among the cited articles (ISO), "" if none
    refused: bool = False  #: True when the articles do not support an answer
    engine: str = "extractive"
    unsupported: list[str] = field(default_factory=list)  #: sentences the citation check could not verify
    claims: list[ClaimCheck] = field(default_factory=list)  #: per claim verdicts (generated answers)
    #: A refusal because every sentence failed its checks keeps the model's text here, labelled unverified.
    unverified_text: str = ""
    notes: list[str] = field(default_factory=list)  #: what the reader should know (e.g. a question cut short)
    standalone_question: str = ""  #: the question actually searched (after follow-up rewriting)
    #: Character offsets in ``text`` of the answer phrase the reader marked (bold / <mark> when shown).
    answer_span: tuple[int, int] | None = None
    answerable: float | None = None  #: the reader's probability that the articles answer the question
    #: With a refusal: the closest passages, clearly not an answer, and what they do and do not cover.
    closest: list[Citation] = field(default_factory=list)
    coverage_note: str = ""
    timings: dict[str, float] = field(default_factory=dict)  #: seconds per stage (retrieve, generate)
    #: LLM tokens as the API reported them (prompt_tokens, completion_tokens); empty when none were reported.
    usage: dict[str, int] = field(default_factory=dict)
    #: Who wrote ``text``: "reader" (a verbatim quote), "model" (a model's checked answer), "" (a refusal).
    answered_by: str = ""
    #: The model that answered (its name or file), when one did.
    model: str = ""
    #: The local engine: the reader's quote, shown at once while the model reads (``text`` is then the model's
    #: checked answer, or this quote again when the model's answer did not hold).
    quote: Answer | None = None
    hits: list[Hit] = field(default_factory=list, repr=False)

    @property
    def phrase(self) -> str:
        """The answer in its fewest words: the phrase the reader marked, else a model's whole short answer
        (markers removed); "" for a refusal or a quote with no phrase marked."""
        if self.refused:
            return ""
        if self.answer_span is not None:
            return self.text[self.answer_span[0] : self.answer_span[1]]
        if self.answered_by == "model":
            from rag.cite.cite import strip_markers

            return strip_markers(self.text)
        return ""

    def to_dict(self) -> dict[str, Any]:
        quote = self.quote
        self.quote = None
        try:
            data = asdict(self)
        finally:
            self.quote = quote
        data.pop("hits")
        data["quote"] = quote.to_dict() if quote is not None else None
        data["answer_phrase"] = self.phrase
        return data


@dataclass(frozen=True)
class Filters:
    """Restrictions on what retrieval may return: a publication-date range (inclusive) and outlets."""

    since: dt.date | None = None
    until: dt.date | None = None
    outlets: tuple[str, ...] = ()  #: case-insensitive outlet names; empty = any
    #: Articles retrieval must never return (``rag eval --unanswerable`` hides the ones holding the answer).
    exclude: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.outlets)

    def matches(self, published: dt.date | None, outlet: str) -> bool:
        if (self.since or self.until) and published is None:
            return False
        if self.since and published and published < self.since:
            return False
        if self.until and published and published > self.until:
            return False
        return not self.outlets or outlet.lower() in {o.lower() for o in self.outlets}


@dataclass(frozen=True)
class Holdings:
    """What a store holds, from article metadata alone: counts, date range, outlets, the newest article."""

    articles: int = 0
    chunks: int = 0
    first: dt.date | None = None  #: earliest publication date (undated articles are only counted)
    last: dt.date | None = None
    outlets: dict[str, int] = field(default_factory=dict)  #: outlet → articles, most first ("" = unknown)
    newest: Article | None = None  #: the article with the latest date (its text is not loaded)

    def to_dict(self) -> dict[str, Any]:
        newest = self.newest
        about = ("id", "title", "outlet", "url", "published_iso")
        return {
            "articles": self.articles,
            "chunks": self.chunks,
            "first": self.first.isoformat() if self.first else "",
            "last": self.last.isoformat() if self.last else "",
            "outlets": self.outlets,
            "newest": {k.removesuffix("_iso"): getattr(newest, k) for k in about} if newest else None,
        }


def resolve_outlets(asked: tuple[str, ...], known: dict[str, int] | list[str]) -> tuple[str, ...]:
    """The stored outlet names meant by ``asked``: exact (any case), or the name before the domain suffix
    (``usatoday`` → ``usatoday.com``). ConfigError naming the known outlets when one matches nothing."""
    names = [k for k in known if k]
    out: list[str] = []
    for name in asked:
        want = name.strip().lower().removeprefix("www.")
        exact = [k for k in names if k.lower() == want]
        loose = [k for k in names if k.lower().removeprefix("www.").split(".")[0] == want.split(".")[0]]
        found = exact or loose
        if not found:
            listed = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
            raise ConfigError(f"no outlet {name!r} in the store; known outlets: {listed or '(none)'}")
        out.extend(found)
    return tuple(dict.fromkeys(out))


#: The one refusal sentence: used by the extractive answerer, put into the LLM prompts, checked by tests.
CANNOT_ANSWER = "I can't answer that from the articles I have: none of them says."


@dataclass
class MovedNumber:
    """A figure that changed, with where each value was stated.

    The new value is always cited (``after_key`` into the brief's citations). The old value is cited too
    when it is stated inside the window (``before_key``); when it comes from the previous brief, outside
    the window, ``before_source`` names that article and ``before_quote`` gives its words instead."""

    what: str  #: what was counted ("troops"), from the words after the number
    before: str
    after: str
    after_key: int
    before_key: int | None = None
    before_source: str = ""
    before_quote: str = ""


@dataclass(frozen=True)
class Source:
    """An article a story was built from, as a brief lists it."""

    id: str
    title: str
    outlet: str
    url: str
    published: str  #: ISO date, "" when unknown


@dataclass
class Newsworthiness:
    """Why a story ranks where it does in a briefing: its signals and the score they add up to."""

    outlets: int  #: independent outlets (reprints collapsed)
    articles: int  #: articles about it, reprints included
    recency: float  #: 1.0 when its newest article is from the window's last day, halving with each half-life
    prominence: float  #: window articles naming it in the headline (1 each) or only the lede (0.5 each)
    names: int  #: distinct people, places and organisations its ledes name
    score: float  #: the weighted sum the stories are ranked by


@dataclass
class StorySummary:
    """One story of a briefing: a headline and 1–6 cited sentences (none when listed under "More stories"), who
    covered it, and what changed."""

    id: str
    headline: str
    sentences: list[str]  #: each ends with its ``[n]`` markers (keys into ``Briefing.citations``)
    outlets: list[str]  #: independent outlets (near-duplicates collapsed)
    articles: list[str]  #: ids of the independent articles, most central first
    duplicates: dict[str, str] = field(default_factory=dict)  #: reprint id → the article it repeats
    newest: str = ""
    status: str = "new"  #: new | developing (relative to the previous brief)
    previous_headline: str = ""
    moved: list[MovedNumber] = field(default_factory=list)
    signals: Newsworthiness | None = None  #: why it ranks where it does
    sources: list[Source] = field(default_factory=list)  #: its independent articles, as in ``articles``
    centroid: list[float] = field(default_factory=list, repr=False)  #: for matching stories next time
    #: Who wrote its sentences in an LLM brief: "model" (the model's checked sentences) or "quoted" (the extractive
    #: story, quoted from the articles, when no sentence of the model's passed the checks); "" in an extractive brief.
    written_by: str = ""


@dataclass
class Briefing:
    """A daily brief: ranked stories whose every citation is a verbatim span of an article in the window."""

    date: str  #: the day the brief is for (ISO)
    since: str
    until: str
    engine: str
    stories: list[StorySummary]
    citations: list[Citation]
    n_articles: int
    generated: str = ""
    previous: str = ""  #: date of the brief compared against ("" for none)
    overview: list[str] = field(default_factory=list)  #: optional cited lead sentences (LLM reduce step)
    more: list[StorySummary] = field(default_factory=list)  #: further stories, listed by headline and sources

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Briefing:
        def story(s: dict[str, Any]) -> StorySummary:
            return StorySummary(
                **{
                    **s,
                    "moved": [MovedNumber(**m) for m in s.get("moved", [])],
                    "signals": Newsworthiness(**s["signals"]) if s.get("signals") else None,
                    "sources": [Source(**x) for x in s.get("sources", [])],
                }
            )

        return cls(
            **{
                **data,
                "stories": [story(s) for s in data["stories"]],
                "more": [story(s) for s in data.get("more", [])],
                "citations": [Citation(**c) for c in data["citations"]],
            }
        )

    @property
    def words(self) -> int:
        text = " ".join(
            [
                *self.overview,
                *(s.headline for s in [*self.stories, *self.more]),
                *(x for s in self.stories for x in s.sentences),
            ]
        )
        from rag.cite.cite import strip_markers

        return len(strip_markers(text).split())
