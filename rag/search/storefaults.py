"""What a store failure means: Chroma's and the system's messages for a full disk, a read-only store and a
damaged store, turned into one line that names the cause and the fix.

Embedded Chroma reports a full disk only as "Error in compaction: Failed to apply logs…", so that message
counts as a full disk when little space is left where the store lives.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
from collections.abc import Iterator

from rag.errors import RagError, StoreError
from rag.settings import Settings

_DISK_FULL = ("no space left", "disk is full", "database or disk is full", "quota exceeded")
#: What embedded Chroma says when it cannot write its segments, a full disk being the usual cause.
_CANNOT_WRITE = ("error in compaction", "failed to apply logs")
_READ_ONLY = ("readonly database", "read-only file system", "permission denied", "operation not permitted")
_DAMAGED = ("not a database", "malformed", "hnsw", "error finding id", "error getting embedding", "corrupt")


def describe_failure(exc: Exception, doing: str, location: str, settings: Settings) -> str:
    """One line naming what failed, the likely cause and the fix."""
    reason = _reason(exc)
    text = " ".join(str(e).lower() for e in (exc, exc.__cause__, exc.__context__) if e is not None)
    head = f"{doing} the store at {location} failed ({reason})"
    rerun = "re-run the same command: it completes the interrupted work"
    full = any(s in text for s in _DISK_FULL) or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC)
    if not full and any(s in text for s in _CANNOT_WRITE):
        if settings.chroma_url:
            return f"{head}: the Chroma server could not write (is its disk full?); free space there, then {rerun}"
        full = _free_bytes(settings) < 256 * 1024 * 1024
    if full:
        return f"{head}: the disk is full; free some space, then {rerun}"
    if any(s in text for s in _READ_ONLY):
        return f"{head}: the store is read-only; make it writable, or set RAG_DATA_DIR to a writable folder"
    if any(s in text for s in _DAMAGED):
        return f"{head}: the store is damaged; move {location} aside and rebuild it with `rag ingest --rebuild PATH...`"
    return head


@contextlib.contextmanager
def guard(doing: str, location: str, settings: Settings) -> Iterator[None]:
    """Any Chroma failure inside becomes one StoreError line naming the cause and the fix."""
    try:
        yield
    except RagError:
        raise
    except Exception as exc:  # chromadb raises many types; all mean the same to the user
        raise StoreError(describe_failure(exc, doing, location, settings)) from None


def _free_bytes(settings: Settings) -> int:
    try:
        return shutil.disk_usage(settings.data_dir).free
    except OSError:
        return 1 << 62


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
