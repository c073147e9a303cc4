"""The Chroma client: an embedded store on local disk or a Chroma server, and reading a collection page by
page. The only module that imports ``chromadb``."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from rag.errors import StoreError
from rag.search.storefaults import describe_failure
from rag.settings import Settings


def connect(settings: Settings) -> Any:
    """The Chroma client of the settings: a Chroma server (``RAG_CHROMA_URL``) or an embedded store in the
    data folder; ``StoreError`` saying why when it cannot be reached or opened."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            parts = urlsplit(settings.chroma_url)
            https = parts.scheme == "https"
            client = chromadb.HttpClient(
                host=parts.hostname or "localhost",
                port=parts.port or (443 if https else 8000),
                ssl=https,
                settings=chroma_settings,
            )
            client.heartbeat()
            return client
        path = settings.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        # Two processes opening a store that is still being created collide ("table collections already
        # exists"): opening is serialised by a lock held for the few milliseconds it takes.
        try:
            guard = (settings.data_dir / "chroma.init.lock").open("a")
        except OSError:  # a read-only store: nobody can be creating it
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        with guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        where = settings.chroma_url or str(settings.data_dir / "chroma")
        hint = "; is `chroma run` up at that address?" if settings.chroma_url else ""
        raise StoreError(describe_failure(exc, "opening", where, settings) + hint) from None


def pages(
    collection: Any, include: list[str], where: dict[str, Any] | None = None, size: int = 2000
) -> Iterator[tuple[list[str], list[dict[str, Any]], list[str]]]:
    """A collection read a page at a time: (ids, metadatas, documents) per page; empty metadata and
    documents where ``include`` leaves them out."""
    offset = 0
    while True:
        res = collection.get(include=include, limit=size, offset=offset, where=where)
        ids = res["ids"]
        if not ids:
            return
        metas = res.get("metadatas") or [{}] * len(ids)
        docs = res.get("documents") or [""] * len(ids)
        yield ids, metas, docs
        if len(ids) < size:
            return
        offset += size
