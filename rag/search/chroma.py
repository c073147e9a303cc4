"""The Chroma client: an embedded store on local disk or a Chroma server, and reading a collection page by
page. The only module that imports ``chromadb``.

A command that only reads an embedded store (``rag ask``) can open it through Chroma's own engine without the
client's Python layer (``read_only=True``): importing ``chromadb`` costs about 1.3 s of CPU (it loads every
embedding-function integration, OpenTelemetry and the HTTP and async clients), its Rust engine
(``chromadb_rust_bindings``, the same engine ``PersistentClient`` drives) about 40 ms. The read-only client is
used only with a chromadb release it was tested against (``LIGHT_RELEASES``) and on a store that exists; in
every other case, and when it cannot open the store, ``connect`` opens the full client (whose errors name the
cause). A store writing through it switches to the full client first (``rag.search.store.Store.writing``).
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.errors import StoreError
from rag.search.storefaults import describe_failure
from rag.settings import Settings

#: chromadb releases (major.minor) whose engine bindings the read-only client was tested against: their
#: ``Bindings`` constructor and its ``list_collections``, ``count``, ``get`` and ``query`` signatures.
LIGHT_RELEASES = ("1.5",)
_TENANT, _DATABASE = "default_tenant", "default_database"


def connect(settings: Settings, *, read_only: bool = False) -> Any:
    """The Chroma client of the settings: a Chroma server (``RAG_CHROMA_URL``) or an embedded store in the
    data folder; ``StoreError`` saying why when it cannot be reached or opened. ``read_only``: an existing
    embedded store is opened through the engine alone when it can be (see the module's docstring)."""
    if read_only and not settings.chroma_url:
        light = open_read_only(settings.data_dir / "chroma")
        if light is not None:
            return light
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


def open_read_only(path: Path) -> ReadOnlyClient | None:
    """The embedded store at ``path`` opened read-only through Chroma's engine, or None when it does not exist
    yet, the engine is not a release of ``LIGHT_RELEASES``, or it cannot open the store."""
    sqlite = path / "chroma.sqlite3"
    if not sqlite.is_file() or chroma_release() not in LIGHT_RELEASES:
        return None
    try:
        import resource

        import chromadb_rust_bindings as engine

        config = engine.SqliteDBConfig(
            hash_type=engine.MigrationHash.MD5,  # chromadb's default ``migrations_hash_algorithm``
            migration_mode=engine.MigrationMode.Validate,  # a store needing a migration: the full client applies it
            url=str(sqlite),
        )
        bindings = engine.Bindings(
            allow_reset=False,
            sqlite_db_config=config,
            persist_path=str(path),
            hnsw_cache_size=resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 5,  # as chromadb sizes it
        )
    except Exception:
        return None
    return ReadOnlyClient(bindings)


def chroma_release() -> str:
    """The installed chromadb's major.minor, from its package metadata (the engine's own ``get_version``
    imports chromadb, which is what this client avoids)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return ".".join(version("chromadb").split(".")[:2])
    except PackageNotFoundError:
        return ""


class ReadOnlyClient:
    """The few reads the store makes, on Chroma's engine directly: listing and opening collections, counting,
    getting and querying, with the results shaped as the full client's (dicts of lists). Writes raise."""

    def __init__(self, bindings: Any) -> None:
        self._bindings = bindings

    def list_collections(self) -> list[str]:
        return [c.name for c in self._bindings.list_collections(None, 0, _TENANT, _DATABASE)]

    def get_or_create_collection(self, name: str, **_: Any) -> ReadOnlyCollection:
        """The existing collection ``name`` (this client creates nothing: a missing one is an error)."""
        model = self._bindings.get_collection(name, _TENANT, _DATABASE)
        return ReadOnlyCollection(self._bindings, str(model.id), model.name, model.metadata)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the read-only Chroma client has no {name!r}: writes need the full client")


class ReadOnlyCollection:
    def __init__(self, bindings: Any, cid: str, name: str, metadata: dict[str, Any] | None) -> None:
        self._bindings, self.id, self.name, self.metadata = bindings, cid, name, metadata

    def count(self) -> int:
        return int(self._bindings.count(self.id, _TENANT, _DATABASE))

    def get(
        self,
        ids: list[str] | None = None,
        where: dict[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        include: Sequence[str] = ("metadatas", "documents"),
    ) -> dict[str, Any]:
        res = self._bindings.get(
            self.id, ids, _where(where), limit, offset or 0, None, list(include), _TENANT, _DATABASE
        )
        return _shaped(res, include, nested=False)

    def query(
        self,
        query_embeddings: list[list[float]],
        n_results: int = 10,
        ids: list[str] | None = None,
        where: dict[str, Any] | None = None,
        include: Sequence[str] = ("metadatas", "documents", "distances"),
    ) -> dict[str, Any]:
        res = self._bindings.query(
            self.id, ids, query_embeddings, n_results, _where(where), None, list(include), _TENANT, _DATABASE
        )
        return _shaped(res, include, nested=True)


def _where(where: dict[str, Any] | None) -> str | None:
    return json.dumps(where) if where else None


def _shaped(res: Any, include: Sequence[str], *, nested: bool) -> dict[str, Any]:
    """The engine's response as the full client returns it: what ``include`` asked for, vectors as arrays."""
    out: dict[str, Any] = {"ids": res.ids}
    for key in ("metadatas", "documents", "distances", "embeddings"):
        value = getattr(res, key, None) if key in include else None
        if key == "embeddings" and value is not None:
            import numpy as np

            value = (
                [[np.asarray(v, dtype=np.float32) for v in row] for row in value]
                if nested
                else np.asarray(value, dtype=np.float32)
            )
        out[key] = value
    return out
