"""The LLM provider: the only module that knows ``openai`` and ``langchain_openai``.

``OPENAI_API_KEY`` selects OpenAI; ``OPENAI_BASE_URL`` points the same code at any OpenAI-compatible
server (Ollama, vLLM, llama.cpp). Retries on 429, 5xx and timeouts are the client's (exponential backoff,
``RAG_MAX_RETRIES``); what still fails becomes one ``ProviderError`` line that never contains the key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from rag import tokens
from rag.errors import ProviderError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from rag.settings import Settings

#: Local OpenAI-compatible servers accept any key; the client insists on one.
PLACEHOLDER_KEY = "not-needed"


def _key(settings: Settings) -> str:
    return settings.openai_api_key or PLACEHOLDER_KEY


def chat_model(settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.model,
        api_key=_key(settings),  # type: ignore[arg-type]
        base_url=settings.openai_base_url or None,
        temperature=settings.temperature,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        streaming=True,
        stream_usage=True,
    )


def describe_endpoint(settings: Settings) -> str:
    return settings.openai_base_url or "api.openai.com"


def provider_error(exc: BaseException, settings: Settings, what: str = "the LLM", where: str = "") -> ProviderError:
    """One line naming the endpoint and the failure, never the key."""
    import openai

    where = where or describe_endpoint(settings)
    tries = f" after {settings.max_retries + 1} attempt(s)"
    if isinstance(exc, openai.APITimeoutError):
        msg, retryable, status = f"timed out{tries} (RAG_TIMEOUT={settings.timeout:g}s)", True, None
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
    return ProviderError(settings.redact(f"{what} at {where} {msg}"), retryable=retryable, status=status)


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else str(inner)
        return str(message or "")[:200]
    return ""


def is_provider_failure(exc: BaseException) -> bool:
    import openai

    return isinstance(exc, openai.OpenAIError)


def stream_chat(model: BaseChatModel, messages: list[Any], settings: Settings) -> Iterator[str]:
    """Text deltas of a chat completion, failures mapped to ProviderError."""
    try:
        for chunk in model.stream(messages):
            text = chunk.content if isinstance(chunk.content, str) else ""
            if text:
                yield text
    except Exception as exc:
        if is_provider_failure(exc):
            raise provider_error(exc, settings) from None
        raise


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
            max_retries=settings.max_retries,
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
        try:
            for part in self._requests(texts):
                res = self._client.embeddings.create(model=self._model, input=part)
                vectors.extend(d.embedding for d in sorted(res.data, key=lambda d: d.index))
        except Exception as exc:
            if is_provider_failure(exc):
                where = self._settings.embeddings_url or describe_endpoint(self._settings)
                error = provider_error(exc, self._settings, "the embeddings server", where)
                raise ProviderError(
                    f"{error}; an interrupted ingest keeps what it committed: run it again to resume",
                    retryable=error.retryable,
                    status=error.status,
                ) from None
            raise
        arr = np.asarray(vectors, dtype=np.float32)
        if not len(arr):
            return arr.reshape(0, 0)
        return arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)

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
