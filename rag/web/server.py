"""The web app behind ``rag serve``: its routes (ask, whole or streamed; chat; the briefing; articles with the
span to highlight; what the store holds; adding articles; health; the chat page and the API docs) and what
wraps them (the Guard, the error handlers, log redaction).

Routes are thin: they validate, call ``Desk`` (``rag.web.desk``: the pipeline, chat sessions and caches, shared by
all requests) in the thread pool, and turn its answers into JSON or server-sent events (``rag.web.sse``). Every
failure is one JSON shape, ``{"error": "<one line>"}`` (``rag.web.weberrors``).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles

from rag.dates import parse_date
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.web.desk import AskRequest, Desk, IngestRequest
from rag.web.sse import event_stream
from rag.web.weberrors import (
    ErrorBody,
    RedactedJSON,
    describe,
    error_response,
    install_error_handlers,
    install_log_redaction,
)
from rag.web.webguard import MAX_BODY, Guard, ingest_body_limit

#: Swagger UI's files as the fastapi-offline package ships them (a version that reads OpenAPI 3.1).
SWAGGER_UI_DIR = Path(str(importlib.resources.files("fastapi_offline") / "static"))

WEB_DIR = Path(__file__).resolve().parent / "static"
SESSION_ID = r"^[A-Za-z0-9_-]{1,64}$"

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
    install_error_handlers(app, redact)
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
