"""What a failure looks like from outside the web server: one JSON shape, ``{"error": "<one line>"}``, with the
HTTP status for each kind of library error; responses and log lines that have passed the redactor.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from rag.errors import Cancelled, EmptyCorpusError, EmptyWindowError, InputError, ProviderError, RagError, StoreError

log = logging.getLogger("rag.web.server")


class RequestError(Exception):
    """A request the server cannot serve as asked (unknown article, span outside the text)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ErrorBody(BaseModel):
    error: str = Field(description="one line saying what went wrong and what to do")


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


def install_error_handlers(app: FastAPI, redact: Callable[[str], str]) -> None:
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
    for name in ("rag", "rag.web.server", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        for f in [f for f in logger.filters if isinstance(f, _RedactingFilter)]:
            logger.removeFilter(f)
        logger.addFilter(_RedactingFilter(redact))
