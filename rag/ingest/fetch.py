"""HTTP for feeds and pages: timeouts, retries with backoff, a size cap, and conditional requests.

The one module that imports ``httpx``. Connection errors, timeouts, 429 and 5xx are retried with
exponential backoff (a server's ``Retry-After`` is honoured, capped); other 4xx are not. Every failure is a
``FetchError`` whose message is one line, the URL and the reason ("HTTP 404", "timed out after 3
attempts", "response larger than 5 MB"), never a traceback.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from importlib import metadata
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from rag.errors import RagError

MAX_BYTES = 5 * 1024 * 1024
BACKOFF_SECONDS = 0.5  #: wait before the first retry; doubled for each further one
MAX_WAIT_SECONDS = 10.0  #: cap on one wait, a server's Retry-After included
MAX_REDIRECTS = 10


def _user_agent() -> str:
    try:
        version = metadata.version("news-desk-rag")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"news-desk-rag/{version} (news feed reader; python-httpx)"


USER_AGENT = _user_agent()


class FetchError(RagError):
    """One URL could not be fetched; ``str()`` is ``"URL: reason"``, ``reason`` alone is kept too."""

    def __init__(self, url: str, reason: str, *, transient: bool = False, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.transient = transient  #: True when trying again later may succeed (timeouts, 429, 5xx)
        self.status = status


@dataclass(frozen=True)
class Validators:
    """What a server said identifies its response: sent back so an unchanged resource costs a 304."""

    etag: str = ""
    last_modified: str = ""

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


@dataclass(frozen=True)
class Fetched:
    """A successful response: 200 with its body, or 304 (``not_modified``) with none."""

    url: str  #: as requested
    final_url: str  #: after redirects
    status: int
    body: bytes
    content_type: str  #: media type, lower case, without parameters ("" when the server sent none)
    validators: Validators

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


class _Retryable(Exception):
    def __init__(self, kind: str, *, status: int | None = None, wait: float | None = None) -> None:
        super().__init__(kind)
        self.kind = kind  #: "timed out", "HTTP 503", "connection failed (…)"
        self.status = status
        self.wait = wait


class Fetcher:
    """A small HTTP client: ``get(url, validators=...)`` returns a ``Fetched`` or raises ``FetchError``."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        max_bytes: int = MAX_BYTES,
        backoff: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.retries = max(0, retries)
        self.max_bytes = max_bytes
        self.backoff = BACKOFF_SECONDS if backoff is None else backoff
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, *, validators: Validators | None = None, accept: str = "*/*") -> Fetched:
        """GET ``url`` (conditionally when ``validators`` are given), retrying what may be temporary."""
        if not is_http_url(url):
            raise FetchError(url, "not an http(s) URL")
        headers = {"Accept": accept, **(validators.headers() if validators else {})}
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._once(url, headers, validators or Validators())
            except _Retryable as exc:
                if attempt == attempts:
                    tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
                    raise FetchError(url, f"{exc.kind} after {tries}", transient=True, status=exc.status) from None
                wait = exc.wait if exc.wait is not None else self.backoff * 2 ** (attempt - 1)
                time.sleep(min(MAX_WAIT_SECONDS, max(0.0, wait)))
        raise AssertionError("unreachable")

    def _once(self, url: str, headers: dict[str, str], sent: Validators) -> Fetched:
        deadline = time.monotonic() + self.timeout * 3  # a server trickling bytes must not hold us forever
        try:
            with self._client.stream("GET", url, headers=headers) as resp:
                status = resp.status_code
                if status == 429 or status >= 500:
                    raise _Retryable(f"HTTP {status}", status=status, wait=_retry_after(resp))
                if status == 304:
                    return Fetched(url, str(resp.url), 304, b"", "", _validators(resp) or sent)
                if not 200 <= status < 300:
                    raise FetchError(url, f"HTTP {status}", status=status)
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(url, f"response larger than {_size(self.max_bytes)}")
                body = bytearray()
                for piece in resp.iter_bytes():
                    body += piece
                    if len(body) > self.max_bytes:
                        raise FetchError(url, f"response larger than {_size(self.max_bytes)}")
                    if time.monotonic() > deadline:
                        raise _Retryable("timed out")
                media = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
                return Fetched(url, str(resp.url), status, bytes(body), media, _validators(resp))
        except httpx.TimeoutException:
            raise _Retryable("timed out") from None
        except httpx.TooManyRedirects:
            raise FetchError(url, f"more than {MAX_REDIRECTS} redirects") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed ({one_line(str(exc)) or type(exc).__name__})") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(url, one_line(str(exc)) or type(exc).__name__) from None


def _validators(resp: httpx.Response) -> Validators:
    return Validators(resp.headers.get("ETag", ""), resp.headers.get("Last-Modified", ""))


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


def one_line(text: str, limit: int = 200) -> str:
    """Whitespace collapsed to single spaces and cut to ``limit`` characters: safe for a one-line message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
