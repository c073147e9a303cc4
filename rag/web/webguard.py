"""Who may talk to the web server, and what every response carries: the bind rule, the bearer token, the
Host check, request-size caps and security headers.

Without a token the server answers only on loopback and only to requests whose Host header names loopback
(a web page elsewhere cannot reach it through DNS rebinding). With a token (``RAG_SERVER_TOKEN``), every
``/api`` request must carry ``Authorization: Bearer <token>``; the token travels in a header, never in a URL,
so it reaches no access log, and the page keeps it in the tab's ``sessionStorage`` only.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from rag.errors import ConfigError
from rag.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MIN_TOKEN = 16
MAX_BODY = 64 * 1024  #: bytes; a question is at most a few thousand characters
TOKEN_HINT = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
#: The page loads only its own files and talks only to its own origin; inline scripts and handlers never run.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
#: The API docs page: the same, except the inline start-up script and styles Swagger UI needs.
DOCS_CSP = PAGE_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything


def check_bind(host: str, settings: Settings) -> None:
    """Refuse to serve beyond loopback without a token, and refuse a token too short to be one."""
    token = settings.server_token
    if token and len(token) < MIN_TOKEN:
        raise ConfigError(
            f"RAG_SERVER_TOKEN is too short ({len(token)} characters, at least {MIN_TOKEN}); make one with {TOKEN_HINT}"
        )
    if not token and not is_loopback(host):
        raise ConfigError(
            f"serving on {host} would open the API beyond this machine: set RAG_SERVER_TOKEN first "
            f"(make one with {TOKEN_HINT}), or serve on 127.0.0.1"
        )


def ingest_body_limit(settings: Settings) -> int:
    """The body cap of ``POST /api/ingest``: one file of the largest size the loader reads (saved HTML,
    ``HTML_FACTOR`` times ``RAG_MAX_ARTICLE_BYTES``) base64-encoded, and ``MAX_BODY`` for the JSON around it.
    A file a little over its limit still arrives, and is skipped with the loader's reason."""
    from rag.ingest.load import HTML_FACTOR

    largest = settings.max_article_bytes * HTML_FACTOR
    return 4 * -(-largest // 3) + MAX_BODY


def too_large(limit: int) -> str:
    return f"the request body is over {limit // 1024:,} KiB"


def _hostname(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[: host_header.find("]") + 1]
    return host_header.rsplit(":", 1)[0]


class Guard:
    """ASGI middleware applying the rules above to every HTTP request."""

    def __init__(self, app: ASGIApp, token: str, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.token = token.encode()
        self.limits = limits or {}  #: path → body cap in bytes, for the paths that take more than MAX_BODY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        extra = list(_HEADERS)
        if path.startswith("/api"):
            extra.append((b"cache-control", b"no-store"))
        elif path.startswith("/docs"):  # Swagger UI's page starts itself with an inline script
            extra.append((b"content-security-policy", DOCS_CSP.encode()))
        else:
            extra.append((b"content-security-policy", PAGE_CSP.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in have)]
            await send(message)

        received = 0
        limit = self.limits.get(path, MAX_BODY)

        async def receive_at_most_limit() -> Message:
            """A body sent without Content-Length (chunked) is cut off at the same size."""
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, too_large(limit))
            return message

        problem = self.check(path, headers, limit)
        if problem is None:
            await self.app(scope, receive_at_most_limit, send_with_headers)
            return
        status, error, more = problem
        body = json.dumps({"error": error}, separators=(",", ":")).encode()
        await send_with_headers(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *more,
                ],
            }
        )
        await send_with_headers({"type": "http.response.body", "body": body})

    def check(
        self, path: str, headers: dict[str, str], limit: int = MAX_BODY
    ) -> tuple[int, str, list[tuple[bytes, bytes]]] | None:
        """(status, message, extra headers) when the request is refused, else None."""
        if not self.token and not is_loopback(_hostname(headers.get("host", ""))):
            return 400, "this server answers on localhost only (set RAG_SERVER_TOKEN to serve other hosts)", []
        if self.token and (path == "/api" or path.startswith("/api/")):
            scheme, _, given = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token):
                return (
                    401,
                    "this server needs its token: send the header Authorization: Bearer <RAG_SERVER_TOKEN>",
                    [(b"www-authenticate", b"Bearer")],
                )
        length = headers.get("content-length", "0")
        if not length.isdigit():
            return 400, "bad Content-Length header", []
        if int(length) > limit:
            return 413, too_large(limit), []
        return None
