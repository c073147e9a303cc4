"""The web server's service: ``Desk``, what every endpoint calls (the pipeline, chat sessions, the brief and
example caches, adding articles), shared by all request threads; and the requests it takes (``AskRequest``,
``IngestRequest``), validated on the way in.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import threading
from collections import OrderedDict
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rag.answer.chat import Conversation
from rag.dates import parse_date
from rag.errors import EmptyCorpusError, EmptyWindowError, InputError
from rag.ingest import intake
from rag.ingest.fetch import is_http_url
from rag.pipeline import Pipeline, clean_question
from rag.search.status import status
from rag.settings import Settings
from rag.text import OnText
from rag.types import Answer, Filters
from rag.web.examples import example_questions
from rag.web.sessions import Sessions
from rag.web.weberrors import RequestError

MAX_QUESTION = 2000  #: characters, after whitespace is collapsed
MAX_BRIEFS = 32  #: briefs kept per store state (the LLM brief is slow and costs tokens)
MAX_INPUTS = 20  #: files, and URLs, in one ingest request


class AskRequest(BaseModel):
    """A question, and optionally a publication-date window (inclusive) and outlets (any case)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description=f"1 to {MAX_QUESTION:,} characters", examples=["How many troops were sent?"])
    since: dt.date | None = Field(None, description="only articles published on or after (YYYY-MM-DD)")
    until: dt.date | None = Field(None, description="only articles published on or before (YYYY-MM-DD)")
    outlets: list[str] = Field(default_factory=list, max_length=20, description="only these outlets")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        try:
            value = clean_question(value)
        except InputError as exc:
            raise ValueError(str(exc)) from None
        if len(value) > MAX_QUESTION:
            raise ValueError(f"the question is {len(value):,} characters long; the limit is {MAX_QUESTION:,}")
        return value

    @field_validator("since", "until", mode="before")
    @classmethod
    def _date(cls, value: Any) -> dt.date | None:
        return None if value in (None, "") else parse_date(value)

    @model_validator(mode="after")
    def _window(self) -> AskRequest:
        if self.since and self.until and self.since > self.until:
            raise ValueError("since is after until")
        return self

    def filters(self) -> Filters:
        return Filters(since=self.since, until=self.until, outlets=tuple(o for o in self.outlets if o.strip()))


class UploadedFile(BaseModel):
    """A file to ingest, as a browser reads it: its name (the suffix says how to read it) and its bytes."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255, examples=["council-budget.md"])
    content: str = Field(description="the file's bytes, base64-encoded")

    @field_validator("content")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("is not base64-encoded data") from None
        return value

    def upload(self) -> intake.Upload:
        return intake.Upload(self.name, base64.b64decode(self.content))


class IngestRequest(BaseModel):
    """Articles to add: files (Markdown/text with front matter, JSONL records, saved HTML) and article URLs."""

    model_config = ConfigDict(extra="forbid")

    files: list[UploadedFile] = Field(default_factory=list, max_length=MAX_INPUTS)
    urls: list[str] = Field(default_factory=list, max_length=MAX_INPUTS, examples=[["https://example.com/news/1"]])

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        value = [u.strip() for u in value if u.strip()]
        for url in value:
            if not is_http_url(url):
                raise ValueError(f"{url[:200]!r} is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _something(self) -> IngestRequest:
        if not self.files and not self.urls:
            raise ValueError('nothing to ingest: give "files" or "urls"')
        return self

    def inputs(self) -> intake.Inputs:
        return intake.Inputs(urls=tuple(self.urls), uploads=tuple(f.upload() for f in self.files))


class Desk:
    """What the endpoints call, shared by every request thread: the pipeline (its store is filled with the
    bundled corpus on first use when empty, like ``rag ask``), chat sessions, the brief and example-question
    caches (dropped whenever the store changes), and the page's ingests, one at a time."""

    def __init__(self, settings: Settings, pipeline: Pipeline, chat_model: Any) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.chat_model = chat_model
        self.sessions = Sessions(lambda: Conversation(pipeline, chat_model=chat_model))
        self._lock = threading.Lock()
        self._writing = threading.Lock()  #: held by an ingest from the page: one at a time
        self._chunks = -1  #: the store's chunk count when last synced; -1 before first use
        self._briefs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._examples: list[str] | None = None  #: example questions for the store as last synced

    def ready(self) -> Pipeline:
        """The pipeline, its store non-empty and its lexical index current (another process may ingest). While
        an ingest of this server runs, requests read the store as it stands; the sync waits for its end."""
        if self.pipeline.store.count_chunks() != self._chunks and not self._writing.locked():
            with self._lock:
                count = self.pipeline.store.count_chunks()
                if count != self._chunks:
                    self.pipeline.ensure_corpus()
                    self.pipeline.retriever.refresh()
                    _ = self.pipeline.retriever.lexical  # built once here, not by racing requests
                    self._briefs.clear()
                    self._examples = None
                    self._chunks = self.pipeline.store.count_chunks()
        return self.pipeline

    def status(self) -> dict[str, Any]:
        """What ``rag status --json`` reports, and ``examples``: questions drawn from the newest articles."""
        try:
            pipeline = self.ready()
        except EmptyCorpusError:  # nothing to draw examples from; the page offers to add articles
            return {**status(self.pipeline.store), "examples": []}
        data = status(pipeline.store)
        with self._lock:
            examples = self._examples
        if examples is None:
            examples = example_questions(pipeline)
            with self._lock:
                self._examples = examples
        return {**data, "examples": examples}

    def ingest(self, request: IngestRequest) -> dict[str, Any]:
        """Add the request's files and URLs as ``rag ingest`` adds files and URLs; the report as its ``--json``."""
        inputs = request.inputs()
        with self._writing:
            try:
                report = intake.ingest(self.pipeline, inputs)
                return intake.report_dict(report, self.pipeline.store)
            finally:
                with self._lock:
                    self._chunks = -1  # the next request syncs the lexical index; briefs and examples are redone
                    self._briefs.clear()
                    self._examples = None

    def ask(self, request: AskRequest, on_text: OnText | None = None) -> dict[str, Any]:
        return self.ready().ask(request.question, filters=request.filters(), on_text=on_text).to_dict()

    def chat(self, session_id: str, request: AskRequest, on_text: OnText | None = None) -> dict[str, Any]:
        self.ready()
        session = self.sessions.get(session_id)
        with session.lock:
            convo = session.conversation
            convo.filters = request.filters()
            answer: Answer = convo.ask(request.question, on_text=on_text)
            return {**answer.to_dict(), "conversation_id": session_id, "turns": len(convo.turns)}

    def brief(self, day: dt.date | None) -> dict[str, Any]:
        from rag.brief.brief import brief_from_store
        from rag.brief.briefrender import fragment

        pipeline = self.ready()
        key = day.isoformat() if day else "newest"
        with self._lock:
            if key in self._briefs:
                return self._briefs[key]
        try:
            brief = brief_from_store(
                pipeline, date=day, previous_dir=self.settings.briefs_dir, chat_model=self.chat_model
            )
        except EmptyWindowError:
            # The library's message is written for the command line (it names flags); say it in the API's terms.
            newest = pipeline.store.newest_date()
            if newest is None:
                raise EmptyWindowError("the store has no dated articles yet; add some, then ask again") from None
            raise EmptyWindowError(
                f"no articles published on {day}; the newest day with articles is {newest} (date={newest})"
            ) from None
        data = {**brief.to_dict(), "html": fragment(brief)}  # the page shows what `rag brief --format html` writes
        for story in data["stories"]:
            story.pop("centroid", None)  # 384 numbers per story, for matching the next brief; no use to a client
        with self._lock:
            self._briefs[key] = data
            while len(self._briefs) > MAX_BRIEFS:
                self._briefs.popitem(last=False)
        return data

    def article(self, article_id: str, start: int | None, end: int | None) -> dict[str, Any]:
        article = self.ready().store.get_article(article_id)
        if article is None:
            raise RequestError(404, f"no article with id {article_id!r}")
        highlight = None
        if start is not None or end is not None:
            if start is None or end is None:
                raise RequestError(400, "give both start and end to highlight a span, or neither")
            if not 0 <= start < end <= len(article.text):
                raise RequestError(
                    400, f"the span {start}–{end} is not inside the article's {len(article.text):,} characters"
                )
            highlight = {"start": start, "end": end, "quote": article.text[start:end]}
        return {
            "id": article.id,
            "title": article.title,
            "outlet": article.outlet,
            "url": article.url,
            "published": article.published_iso,
            "authors": list(article.authors),
            "text": article.text,
            "highlight": highlight,
        }

    def health(self) -> dict[str, Any]:
        store = self.pipeline.store
        newest = store.newest_date()
        return {
            "status": "ok",
            "articles": store.count_articles(),
            "chunks": store.count_chunks(),
            "newest": newest.isoformat() if newest else "",
            "engine": self.pipeline.generator.name,
            "model": self.settings.model_label if self.pipeline.generator.name in {"llm", "local"} else "",
            "store": "chroma server" if self.settings.chroma_url else "embedded",
            "conversations": len(self.sessions),
        }
