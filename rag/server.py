"""The web app and HTTP API behind ``rag serve``: ask (whole or streamed), chat, the briefing, articles with
the span to highlight, what the store holds, adding articles, health, and the chat page. Every failure is one
JSON shape: ``{"error": "<one line>"}``.

Endpoints are thin: they validate, call ``Desk`` (the pipeline, chat sessions and brief cache, shared by
all requests) in the thread pool, and turn its answers into JSON or server-sent events.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import importlib.resources
import json
import logging
import threading
import traceback
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from rag import intake
from rag.chat import Conversation
from rag.dates import parse_date
from rag.errors import Cancelled, EmptyCorpusError, EmptyWindowError, InputError, ProviderError, RagError, StoreError
from rag.examples import example_questions
from rag.fetch import is_http_url
from rag.pipeline import Pipeline, clean_question
from rag.provider import cancel_scope
from rag.sessions import Sessions
from rag.settings import Settings
from rag.status import status
from rag.text import OnText
from rag.types import Answer, Filters
from rag.webguard import MAX_BODY, Guard, ingest_body_limit

#: Swagger UI's files as the fastapi-offline package ships them (a version that reads OpenAPI 3.1).
SWAGGER_UI_DIR = Path(str(importlib.resources.files("fastapi_offline") / "static"))

WEB_DIR = Path(__file__).resolve().parent / "web"
MAX_QUESTION = 2000  #: characters, after whitespace is collapsed
MAX_BRIEFS = 32  #: briefs kept per store state (the LLM brief is slow and costs tokens)
SESSION_ID = r"^[A-Za-z0-9_-]{1,64}$"
MAX_INPUTS = 20  #: files, and URLs, in one ingest request
log = logging.getLogger("rag.server")


class RequestError(Exception):
    """A request the server cannot serve as asked (unknown article, span outside the text)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ErrorBody(BaseModel):
    error: str = Field(description="one line saying what went wrong and what to do")


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
    bundled corpus on first use when empty, like ``rag ask``), chat sessions, and a brief cache."""

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
        from rag.brief import brief_from_store
        from rag.briefrender import fragment

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
            "model": self.settings.model if self.pipeline.generator.name == "llm" else "",
            "store": "chroma server" if self.settings.chroma_url else "embedded",
            "conversations": len(self.sessions),
        }


# -- errors ----------------------------------------------------------------------------------------------


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class RedactedJSON(JSONResponse):
    """JSON whose rendered text has passed the redactor: a secret a model echoed never leaves the server."""

    redact: Callable[[str], str] = staticmethod(lambda text: text)

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return self.redact(text).encode("utf-8")


def describe(exc: BaseException, redact: Callable[[str], str]) -> tuple[int, str]:
    """(HTTP status, one-line message) for an error raised while serving a request."""
    if isinstance(exc, RequestError):
        return exc.status, str(exc)
    if isinstance(exc, RagError):
        status = 500
        if isinstance(exc, EmptyWindowError):
            status = 404
        elif isinstance(exc, InputError):
            status = 422
        elif isinstance(exc, Cancelled):
            status = 499  # the client closed the request; nobody reads this
        elif isinstance(exc, ProviderError):
            status = 502
        elif isinstance(exc, StoreError | EmptyCorpusError):
            status = 503
        return status, redact(str(exc))
    log.error("unexpected error:\n%s", redact("".join(traceback.format_exception(exc))))
    return 500, "internal error; the server log has the details"


def _validation_message(exc: RequestValidationError) -> tuple[int, str]:
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "")
        return 400, f"malformed JSON body{': ' + str(reason) if reason else ''}"
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in {"body", "query", "path"})
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    if not where and first.get("type") in {"missing", "model_attributes_type", "dict_type"}:
        return 422, 'the request body must be a JSON object such as {"question": "…"} (Content-Type: application/json)'
    if first.get("type") == "missing":
        message = "is required"
    return 422, f"{where}: {message}" if where else message


def _install_error_handlers(app: FastAPI, redact: Callable[[str], str]) -> None:
    async def validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(*_validation_message(exc))

    async def http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"nothing at {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        return error_response(exc.status_code, message, dict(exc.headers or {}))

    async def failure(_: Request, exc: Exception) -> JSONResponse:
        return error_response(*describe(exc, redact))

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(Exception, failure)  # a fallback: endpoints catch their own failures


class _RedactingFilter(logging.Filter):
    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        # Message and arguments each redacted, kept apart: formatters (uvicorn's access log) read the args.
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self.redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: self.redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install_log_redaction(redact: Callable[[str], str]) -> None:
    """Log lines of the server and of uvicorn pass the redactor (replacing any filter a previous app set)."""
    for name in ("rag", "rag.server", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        for f in [f for f in logger.filters if isinstance(f, _RedactingFilter)]:
            logger.removeFilter(f)
        logger.addFilter(_RedactingFilter(redact))


# -- streaming -------------------------------------------------------------------------------------------


def sse(event: str, data: Any, redact: Callable[[str], str] = lambda text: text) -> str:
    return redact(f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n")


def event_stream(work: Callable[[OnText], dict[str, Any]], redact: Callable[[str], str]) -> StreamingResponse:
    """Run ``work`` in the thread pool; send ``text`` events as it produces text, then ``answer`` (or
    ``error``). Events travel through one queue, so they arrive in the order they were produced. A client
    that hangs up cancels the work: its LLM stream is closed and no further LLM call starts."""

    async def events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        gone = threading.Event()

        def put(item: tuple[str, Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone (shutting down): nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def text(piece: str) -> None:
            if gone.is_set():
                raise Cancelled("the client went away")
            put(("text", {"text": piece}))

        def run() -> None:
            try:
                with cancel_scope(gone):
                    put(("answer", work(text)))
            except Cancelled:
                log.info("a client hung up; its answer was cancelled")
            except Exception as exc:
                status, message = describe(exc, redact)
                put(("error", {"error": message, "status": status}))

        task = asyncio.ensure_future(run_in_threadpool(run))
        _running.add(task)  # keep a reference until the work has noticed the cancellation and stopped
        task.add_done_callback(_running.discard)
        try:
            while True:
                event, data = await queue.get()
                yield sse(event, data, redact)
                if event != "text":
                    return
        finally:
            gone.set()

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


_running: set[asyncio.Future[None]] = set()


# -- the app ---------------------------------------------------------------------------------------------

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "malformed JSON, or a bad span",
        401: "the server has a token and the request did not carry it",
        404: "unknown article, conversation, or a date with no articles",
        413: f"the request body is over {MAX_BODY // 1024} KiB (/api/ingest: one largest file, base64-encoded)",
        422: "invalid field (empty or over-long question, bad date)",
        502: "the LLM failed",
        503: "the store cannot be reached",
    }.items()
}
SessionId = Annotated[str, PathParam(pattern=SESSION_ID, description="any id the client picks: A-Z a-z 0-9 _ -")]


def create_app(settings: Settings, *, pipeline: Pipeline | None = None, chat_model: Any = None) -> FastAPI:
    """The FastAPI app. Collaborators can be passed in (tests); anything not passed is built from settings."""
    if chat_model is None and settings.use_llm:
        from rag.provider import chat_model as make_chat_model

        chat_model = make_chat_model(settings)
    if pipeline is None:
        pipeline = Pipeline.from_settings(settings, chat_model=chat_model)
    desk = Desk(settings, pipeline, chat_model)
    redact = settings.redact
    install_log_redaction(redact)

    class Redacted(RedactedJSON):
        pass

    Redacted.redact = staticmethod(redact)

    def safely(work: Callable[[], dict[str, Any]]) -> JSONResponse:
        """Run ``work``; any failure becomes the JSON error (an unexpected one is logged here, redacted)."""
        try:
            return Redacted(work())
        except Exception as exc:
            return error_response(*describe(exc, redact))

    app = FastAPI(
        title="News desk",
        version="1",
        summary="Cited answers, conversations and daily briefings from news articles.",
        description='Every error is `{"error": "<one line>"}`. With `RAG_SERVER_TOKEN` set, every `/api` request '
        "needs `Authorization: Bearer <token>`.",
        docs_url=None,  # served below from the installed Swagger UI files: FastAPI's default loads a CDN
        redoc_url=None,
    )
    app.state.desk = desk
    _install_error_handlers(app, redact)
    app.add_middleware(Guard, token=settings.server_token, limits={"/api/ingest": ingest_body_limit(settings)})

    auth = [Depends(HTTPBearer(auto_error=False))] if settings.server_token else []
    api = APIRouter(prefix="/api", dependencies=auth, responses=ERRORS)

    @api.post("/ask", summary="Answer a question", response_model=None)
    def ask(request: AskRequest) -> JSONResponse:
        """The `Answer`: text with `[n]` markers, the citations they point at (verbatim spans), and as-of."""
        return safely(lambda: desk.ask(request))

    @api.post("/ask/stream", summary="Answer a question, streamed (server-sent events)", response_model=None)
    def ask_stream(request: AskRequest) -> StreamingResponse:
        """`event: text` with `{"text": …}` as the answer is produced, then one `event: answer` with the full
        Answer JSON, or `event: error` with `{"error": …, "status": …}`."""
        return event_stream(lambda on_text: desk.ask(request, on_text), redact)

    @api.post("/chat/{conversation_id}", summary="Ask within a conversation", response_model=None)
    def chat(conversation_id: SessionId, request: AskRequest) -> JSONResponse:
        """Follow-ups ("and last week?") are rewritten into standalone questions using the conversation's
        earlier turns. A new id starts a conversation; idle ones are forgotten after a few hours."""
        return safely(lambda: desk.chat(conversation_id, request))

    @api.post("/chat/{conversation_id}/stream", summary="Ask within a conversation, streamed", response_model=None)
    def chat_stream(conversation_id: SessionId, request: AskRequest) -> StreamingResponse:
        """The events of `/api/ask/stream`, within a conversation."""
        return event_stream(lambda on_text: desk.chat(conversation_id, request, on_text), redact)

    @api.delete("/chat/{conversation_id}", summary="Forget a conversation", status_code=204, response_model=None)
    def forget(conversation_id: SessionId) -> Response:
        if not desk.sessions.delete(conversation_id):
            return error_response(404, f"no conversation {conversation_id!r} (never started, or expired)")
        return Response(status_code=204)

    @api.get("/brief", summary="The daily briefing", response_model=None)
    def brief(
        date: Annotated[str | None, Query(description="YYYY-MM-DD; default the newest day")] = None,
    ) -> JSONResponse:
        """Stories of the day, most newsworthy first, each summarised in cited sentences (keys into `citations`);
        `html` is the same brief rendered as `rag brief --format html` renders it (without the page around it)."""
        try:
            day = parse_date(date) if date else None
        except ValueError as exc:
            return error_response(422, f"date: {exc}")
        return safely(lambda: desk.brief(day))

    @api.get("/articles/{article_id}", summary="An article, with the span to highlight", response_model=None)
    def article(
        article_id: str,
        start: Annotated[int | None, Query(ge=0, description="character offset of the span")] = None,
        end: Annotated[int | None, Query(ge=1, description="end offset (exclusive)")] = None,
    ) -> JSONResponse:
        """Article text and metadata; with `start` and `end` (a citation's), `highlight` is that span."""
        return safely(lambda: desk.article(article_id, start, end))

    @api.get("/status", summary="What the store holds, and example questions", response_model=None)
    def store_status() -> JSONResponse:
        """What `rag status --json` prints (location, collection, articles, chunks, first and last dates, outlets
        with their article counts, the newest article, the index fingerprint), and `examples`: up to four
        questions drawn from the newest articles, each answered from the article it was drawn from."""
        return safely(desk.status)

    @api.post("/ingest", summary="Add articles: uploaded files and article URLs", response_model=None)
    def ingest(request: IngestRequest) -> JSONResponse:
        """Files go through the loader of `rag ingest PATH` (same formats, skip reasons and size limits; their
        source is `upload:<name>`), URLs through the fetching of `rag ingest URL`. The answer is what
        `rag ingest --json` prints: counts, `skipped` inputs with their reasons, and the store's totals."""
        return safely(lambda: desk.ingest(request))

    @api.get("/health", summary="Store reachable, counts, engine", response_model=None)
    def health() -> JSONResponse:
        return safely(desk.health)

    app.include_router(api)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="News desk API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
        )

    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_UI_DIR), name="docs-assets")
    return app
