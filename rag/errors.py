"""The error hierarchy: one root, a few kinds, each message saying what to do next."""

from __future__ import annotations


class RagError(Exception):
    """Root of every error the library raises on purpose; the CLI prints it as one line."""

    exit_code = 1


class ConfigError(RagError):
    """A setting is missing or invalid."""

    exit_code = 2


class ProviderError(RagError):
    """The LLM or embedding provider failed (after retries when ``retryable``)."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class InputError(RagError):
    """A question or request the pipeline cannot take as it is (invalid text, nothing to ask)."""

    exit_code = 2


class Cancelled(RagError):
    """The caller went away (an SSE client disconnected): generation stopped, no further LLM calls."""


class StoreError(RagError):
    """The vector store cannot be reached or used."""


class StoreBusyError(StoreError):
    """Another run is writing to the store (embedded Chroma takes one writer at a time)."""


class StaleIndexError(StoreError):
    """The store was built with another embedder or chunking than the current settings."""

    def __init__(self, stored: str, current: str) -> None:
        super().__init__(
            f"the index was built with {stored} but the settings now use {current}; "
            "run `rag ingest --rebuild PATH...` to re-embed, or restore the old settings"
        )
        self.stored = stored
        self.current = current


class EmptyCorpusError(RagError):
    """There is nothing to search."""


class ModelFileError(RagError):
    """A pinned model or data file is missing or does not match its sha256."""


class EmptyWindowError(RagError):
    """No articles were published in the requested briefing window."""


class BriefCitationError(RagError):
    """A briefing citation does not resolve to a verbatim span of an article in its window (a bug)."""
