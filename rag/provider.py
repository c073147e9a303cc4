"""The LLM provider: the only module that knows ``openai`` and ``langchain_openai``, and the only place a
prompt meets a model (``ChatModel.complete`` / ``ChatModel.stream``).

``OPENAI_API_KEY`` selects OpenAI; ``OPENAI_BASE_URL`` points the same code at any OpenAI-compatible
server (Ollama, vLLM, llama.cpp). ``RAG_TIMEOUT`` is a deadline for the whole request, retries included
(429, 5xx and timeouts are retried with backoff, ``RAG_MAX_RETRIES``); what still fails becomes one
``ProviderError`` line that never contains a secret. A request runs inside a cancel scope: when its caller
goes away (``cancel_scope``), the stream is closed and no further call starts.
"""

from __future__ import annotations

import contextlib
import contextvars
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag.errors import Cancelled, ProviderError
from rag.ingest import tokens

if TYPE_CHECKING:
    from rag.prompts import Prompt
    from rag.settings import Settings

#: Local OpenAI-compatible servers accept any key; the client insists on one.
PLACEHOLDER_KEY = "not-needed"
_POLL = 0.1  #: seconds between checks for a cancelled caller while waiting for the model
_cancel: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("rag_cancel", default=None)


@dataclass
class Usage:
    """Tokens one or more model calls used, as the API reported them (``reported`` False: it did not)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    reported: bool = False

    def add(self, meta: Mapping[str, Any]) -> None:
        self.prompt_tokens += int(meta.get("input_tokens", 0) or 0)
        self.completion_tokens += int(meta.get("output_tokens", 0) or 0)
        self.reported = True


class ChatModel(Protocol):
    """A chat model as this project uses one: a prompt and its inputs in, text out, whole or streamed.
    ``temperature`` overrides the configured one (verification and judging run at 0); ``usage``, when given,
    receives the tokens the API reports for the call."""

    @property
    def name(self) -> str: ...

    def complete(
        self, prompt: Prompt, inputs: Mapping[str, str], *, temperature: float | None = None, usage: Usage | None = None
    ) -> str: ...

    def stream(
        self, prompt: Prompt, inputs: Mapping[str, str], *, temperature: float | None = None, usage: Usage | None = None
    ) -> Iterator[str]: ...


@contextlib.contextmanager
def cancel_scope(event: threading.Event) -> Iterator[None]:
    """Calls made inside stop (``Cancelled``) once ``event`` is set: streams close, no new call starts."""
    token = _cancel.set(event)
    try:
        yield
    finally:
        _cancel.reset(token)


def check_cancelled() -> None:
    event = _cancel.get()
    if event is not None and event.is_set():
        raise Cancelled("the client went away; generation stopped")


def _key(settings: Settings) -> str:
    return settings.openai_api_key or PLACEHOLDER_KEY


class OpenAIChat:
    """``ChatModel`` over the OpenAI chat-completions API (through ``langchain_openai``), with a
    whole-request deadline, our own retries within it, error mapping and cancellation."""

    def __init__(self, settings: Settings, *, max_tokens: int | None = None) -> None:
        """``max_tokens`` caps each reply (the local server's: a small model can run on to the context's end)."""
        from langchain_openai import ChatOpenAI

        self.settings = settings
        self._model = ChatOpenAI(
            model=settings.model,
            api_key=_key(settings),  # type: ignore[arg-type]
            base_url=settings.openai_base_url or None,
            temperature=settings.temperature,
            timeout=settings.timeout,
            max_retries=0,  # retried here, within the deadline
            streaming=True,
            stream_usage=True,
            max_tokens=max_tokens,  # type: ignore[call-arg]
        )

    @property
    def name(self) -> str:
        return self.settings.model

    def complete(
        self, prompt: Prompt, inputs: Mapping[str, str], *, temperature: float | None = None, usage: Usage | None = None
    ) -> str:
        return "".join(self.stream(prompt, inputs, temperature=temperature, usage=usage))

    def stream(
        self, prompt: Prompt, inputs: Mapping[str, str], *, temperature: float | None = None, usage: Usage | None = None
    ) -> Iterator[str]:
        messages = prompt.messages(inputs)
        settings = self.settings
        deadline = time.monotonic() + settings.timeout
        attempt = 0
        while True:
            attempt += 1
            check_cancelled()
            produced = False
            try:
                kwargs: dict[str, Any] = {"timeout": max(0.01, deadline - time.monotonic())}
                if temperature is not None:
                    kwargs["temperature"] = temperature
                for piece in _bounded(self._model.stream(messages, **kwargs), deadline, usage):
                    produced = True
                    yield piece
                return
            except (Cancelled, ProviderError):
                raise
            except Exception as exc:
                if not is_provider_failure(exc) and not isinstance(exc, TimeoutError):
                    raise
                error = provider_error(exc, settings, attempts=attempt)
                left = deadline - time.monotonic()
                if produced or not error.retryable or attempt > settings.max_retries or left <= 0:
                    raise error from None
                _sleep(min(0.5 * 2 ** (attempt - 1), left))


def _sleep(seconds: float) -> None:
    """Back off, but wake for a cancelled caller."""
    event = _cancel.get()
    if event is None:
        time.sleep(seconds)
    elif event.wait(seconds):
        check_cancelled()


def _bounded(chunks: Iterator[Any], deadline: float, usage: Usage | None = None) -> Iterator[str]:
    """The text of a LangChain chunk stream, read in a worker thread so the deadline and a cancelled caller
    are noticed even while the server sends nothing. Leaving early closes the stream (and its connection).
    The API's token counts (its last chunk, with ``stream_usage``) go to ``usage``."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def read() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    break
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    box.put(("text", text))
                meta = getattr(chunk, "usage_metadata", None)
                if usage is not None and meta:
                    usage.add(meta)
            box.put(("done", None))
        except BaseException as exc:
            box.put(("error", exc))
        finally:
            with contextlib.suppress(Exception):
                chunks.close()  # type: ignore[attr-defined]

    threading.Thread(target=read, daemon=True, name="llm-stream").start()
    try:
        while True:
            check_cancelled()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("deadline")
            try:
                kind, value = box.get(timeout=min(_POLL, left))
            except queue.Empty:
                continue
            if kind == "text":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()


def chat_model(settings: Settings, on_phase: Callable[[str], None] | None = None) -> ChatModel:
    """The configured chat model: the local llama.cpp one with ``RAG_GENERATOR=local`` (``on_phase`` hears about
    its cold load), else the OpenAI-compatible one."""
    if settings.use_local:
        from rag.local.model import LocalChat

        return LocalChat(settings, on_phase)
    return OpenAIChat(settings)


def describe_endpoint(settings: Settings) -> str:
    from rag.redact import strip_credentials

    return strip_credentials(settings.openai_base_url) or "api.openai.com"


def provider_error(
    exc: BaseException, settings: Settings, attempts: int | None = None, what: str = "the LLM", where: str = ""
) -> ProviderError:
    """One line naming the endpoint and the failure, never a secret (redacted after it is assembled)."""
    import openai

    where = where or describe_endpoint(settings)
    tries = f" after {attempts if attempts is not None else settings.max_retries + 1} attempt(s)"
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        msg, retryable, status = f"timed out{tries} (RAG_TIMEOUT={settings.timeout:g}s for the request)", True, None
    elif isinstance(exc, openai.APIConnectionError):
        msg, retryable, status = f"could not be reached{tries}", True, None
    elif isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status == 429 or status >= 500
        detail = _detail(exc)
        msg = f"answered HTTP {status}{tries if retryable else ''}{': ' + detail if detail else ''}"
        if status == 401:
            msg += "; check OPENAI_API_KEY"
        elif status == 404:
            msg += f"; check RAG_MODEL ({settings.model}) and OPENAI_BASE_URL"
    else:
        msg, retryable, status = f"failed: {type(exc).__name__}", False, None
    line = " ".join(settings.redact(f"{what} at {where} {msg}").split())
    return ProviderError(line[:400], retryable=retryable, status=status)


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else str(inner)
        return str(message or "")
    return ""


def is_provider_failure(exc: BaseException) -> bool:
    import openai

    return isinstance(exc, openai.OpenAIError)


#: Tokens per embeddings request at most (OpenAI allows 300k; self-hosted servers often less).
EMBED_REQUEST_TOKENS = 64_000


class OpenAIEmbedder:
    """OpenAI or any OpenAI-compatible embeddings server (vLLM, TEI, Ollama…); ``RAG_EMBEDDER=openai``.

    The server is ``RAG_EMBEDDINGS_URL``, else ``OPENAI_BASE_URL``, else OpenAI. Texts go in requests of at
    most ``RAG_EMBED_BATCH`` texts and ``EMBED_REQUEST_TOKENS`` tokens; 429, 5xx and timeouts are retried
    with backoff (``RAG_MAX_RETRIES``). What still fails stops the ingest with what was committed kept, so
    running it again resumes."""

    def __init__(self, settings: Settings) -> None:
        import openai

        self._settings = settings
        self._model = settings.openai_embedding_model
        self._batch = settings.embed_batch
        self._client = openai.OpenAI(
            api_key=_key(settings),
            base_url=settings.embeddings_url or settings.openai_base_url or None,
            timeout=settings.timeout,
            max_retries=0,  # retried here, within the deadline
        )

    @property
    def fingerprint(self) -> str:
        return f"openai:{self._model}"

    @property
    def max_tokens(self) -> int:
        return 8191

    def count_tokens(self, text: str) -> int:
        return tokens.count(text)

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        return tokens.count_many(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors: list[list[float]] = []
        for part in self._requests(texts):
            vectors.extend(self._request(part))
        arr = np.asarray(vectors, dtype=np.float32)
        if not len(arr):
            return arr.reshape(0, 0)
        return arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)

    def _request(self, texts: list[str]) -> list[list[float]]:
        """One request, retried within one ``RAG_TIMEOUT`` deadline."""
        deadline = time.monotonic() + self._settings.timeout
        attempt = 0
        while True:
            attempt += 1
            check_cancelled()
            try:
                res = self._client.embeddings.create(
                    model=self._model, input=texts, timeout=max(0.01, deadline - time.monotonic())
                )
                return [d.embedding for d in sorted(res.data, key=lambda d: d.index)]
            except Exception as exc:
                if not is_provider_failure(exc):
                    raise
                from rag.redact import strip_credentials

                where = strip_credentials(self._settings.embeddings_url) or describe_endpoint(self._settings)
                error = provider_error(exc, self._settings, attempt, "the embeddings server", where)
                left = deadline - time.monotonic()
                if not error.retryable or attempt > self._settings.max_retries or left <= 0:
                    raise ProviderError(
                        f"{error}; an interrupted ingest keeps what it committed: run it again to resume",
                        retryable=error.retryable,
                        status=error.status,
                    ) from None
                _sleep(min(0.5 * 2 ** (attempt - 1), left))

    def _requests(self, texts: list[str]) -> Iterator[list[str]]:
        """Consecutive slices of ``texts`` within the per-request count and token limits."""
        part: list[str] = []
        budget = 0
        for text, n in zip(texts, self.count_tokens_many(texts), strict=True):
            if part and (len(part) >= self._batch or budget + n > EMBED_REQUEST_TOKENS):
                yield part
                part, budget = [], 0
            part.append(text)
            budget += n
        if part:
            yield part
