"""The store: Chroma, embedded on local disk or a Chroma server, holding chunks and their articles.

The only module that imports ``chromadb``. Two collections per index: ``<name>-chunks`` (one vector per
chunk, with the article's metadata and the chunk's offsets) and ``<name>-articles`` (one record per
article: full cleaned text, content hash, chunk count; its vector is the mean of its chunks'). An article
record is written only after all its chunks, so it is the commit marker: chunks without one are orphans
from an interrupted run and ``repair`` deletes them.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from rag.errors import StaleIndexError, StoreError
from rag.settings import Settings
from rag.types import Article, Chunk, Filters

SCHEMA = 1
_EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    """Dates are stored as days since 1970-01-01 so Chroma can range-filter them."""
    return (day - _EPOCH).days


def from_day_number(n: int) -> dt.date | None:
    """The date of a stored day number; None for the "unknown" mark (negative)."""
    return _EPOCH + dt.timedelta(days=n) if n >= 0 else None


@dataclass(frozen=True)
class Committed:
    """What the store knows about an ingested article, enough to decide whether to re-ingest it."""

    content_hash: str
    text_hash: str
    n_chunks: int
    committed_at: float = 0.0  #: when the record was written (0 for records from before the stamp existed)


@dataclass(frozen=True)
class ArticleWrite:
    """One article ready to store: its chunks, their vectors (row per chunk) and its hashes."""

    article: Article
    chunks: list[Chunk]
    vectors: np.ndarray
    content_hash: str
    text_hash: str


def _mean(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


class Store:
    """Chunks and articles in Chroma, guarded by an index fingerprint (embedder + chunking)."""

    def __init__(self, settings: Settings, fingerprint: dict[str, str]) -> None:
        self.settings = settings
        self.fingerprint = {"schema": str(SCHEMA), **fingerprint}
        self._client = _connect(settings)
        self._chunks: Any = None
        self._articles: Any = None

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def location(self) -> str:
        return self.settings.chroma_url or str(self.settings.data_dir / "chroma")

    def _names(self) -> tuple[str, str]:
        return f"{self.settings.collection}-chunks", f"{self.settings.collection}-articles"

    def _open(self, create: bool) -> bool:
        """Attach to both collections; create them when asked. False when they do not exist yet."""
        if self._chunks is not None:
            return True
        chunks_name, articles_name = self._names()
        try:
            existing = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
            if chunks_name not in existing and not create:
                return False
            meta = {f"rag_{k}": v for k, v in self.fingerprint.items()}
            config = {"hnsw": {"space": "cosine"}}
            if chunks_name in existing:
                chunks = self._client.get_collection(chunks_name, embedding_function=None)
                self._check_fingerprint(chunks.metadata or {})
            else:
                chunks = self._client.create_collection(
                    chunks_name, metadata=meta, configuration=config, embedding_function=None
                )
            articles = self._client.get_or_create_collection(
                articles_name, metadata=meta, configuration=config, embedding_function=None
            )
        except StaleIndexError:
            raise
        except Exception as exc:  # chromadb raises many types; all mean the same to the user
            raise StoreError(f"cannot open the Chroma store at {self.location}: {_reason(exc)}") from None
        self._chunks, self._articles = chunks, articles
        return True

    def _check_fingerprint(self, stored_meta: dict[str, Any]) -> None:
        stored = {k.removeprefix("rag_"): str(v) for k, v in stored_meta.items() if k.startswith("rag_")}
        if stored != self.fingerprint:
            raise StaleIndexError(_describe(stored), _describe(self.fingerprint))

    def exists(self) -> bool:
        return self._open(create=False)

    def reset(self) -> None:
        """Drop both collections (``rag ingest --rebuild``)."""
        existing = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
        for name in self._names():
            if name in existing:
                self._client.delete_collection(name)
        self._chunks = self._articles = None

    # -- writes ----------------------------------------------------------------------------------------
    def put_articles(self, batch: list[ArticleWrite], *, replace: bool = True) -> float:
        """Write articles and their chunks; article records go last, as the commit markers. Returns the
        commit stamp written on the records (readers catch up from it: ``committed_since``).

        ``replace`` first removes stored versions (False only when none of the ids is committed: an
        uncommitted id can only have orphan chunks, which ``repair`` has already removed). Writes are
        batched: one Chroma call per kind per batch, the costly part of ingestion after embedding."""
        if not batch:
            return 0.0
        self._open(create=True)
        try:
            if replace:
                ids = [w.article.id for w in batch]
                self._articles.delete(ids=ids)
                self._chunks.delete(where={"article_id": {"$in": ids}})
            chunks = [c for w in batch for c in w.chunks]
            vectors = np.concatenate([w.vectors for w in batch]) if chunks else np.zeros((0, 1))
            step = max(1, min(5000, self._client.get_max_batch_size()))
            for s in range(0, len(chunks), step):
                part = chunks[s : s + step]
                self._chunks.add(
                    ids=[c.id for c in part],
                    embeddings=vectors[s : s + step].tolist(),
                    documents=[c.text for c in part],
                    metadatas=[_chunk_meta(c) for c in part],
                )
            stamp = time.time()
            self._articles.add(
                ids=[w.article.id for w in batch],
                embeddings=[_mean(w.vectors).tolist() for w in batch],
                documents=[w.article.text for w in batch],
                metadatas=[
                    {**_article_meta(w.article, w.content_hash, w.text_hash, len(w.chunks)), "committed_at": stamp}
                    for w in batch
                ],
            )
            return stamp
        except Exception as exc:
            first = batch[0].article.id
            raise StoreError(
                f"writing {len(batch)} article(s) from {first} to {self.location} failed: {_reason(exc)}"
            ) from None

    def delete_articles(self, ids: list[str]) -> None:
        if not ids or not self._open(create=False):
            return
        self._articles.delete(ids=ids)
        for article_id in ids:
            self._chunks.delete(where={"article_id": article_id})

    def repair(self) -> int:
        """Delete chunks left by an interrupted run (no committed article, or beyond its chunk count)."""
        if not self._open(create=False):
            return 0
        committed = self.committed()
        orphans: list[str] = []
        for ids, metas, _ in self._pages(self._chunks, include=["metadatas"]):
            for cid, meta in zip(ids, metas, strict=True):
                entry = committed.get(str(meta.get("article_id")))
                if entry is None or int(meta.get("index", 0)) >= entry.n_chunks:
                    orphans.append(cid)
        for s in range(0, len(orphans), 1000):
            self._chunks.delete(ids=orphans[s : s + 1000])
        return len(orphans)

    # -- reads -----------------------------------------------------------------------------------------
    def committed(self) -> dict[str, Committed]:
        """Every fully ingested article: id → hashes and chunk count."""
        if not self._open(create=False):
            return {}
        return self._committed_where(None)

    def committed_since(self, stamp: float) -> dict[str, Committed]:
        """The articles whose commit stamp is after ``stamp`` (how a derived index catches up cheaply)."""
        if not self._open(create=False):
            return {}
        return self._committed_where({"committed_at": {"$gt": stamp}})

    def _committed_where(self, where: dict[str, Any] | None) -> dict[str, Committed]:
        out: dict[str, Committed] = {}
        for ids, metas, _ in self._pages(self._articles, include=["metadatas"], where=where):
            for aid, m in zip(ids, metas, strict=True):
                out[aid] = Committed(
                    str(m.get("content_hash", "")),
                    str(m.get("text_hash", "")),
                    int(m["n_chunks"]),
                    float(m.get("committed_at", 0.0)),
                )
        return out

    def count_chunks(self) -> int:
        return int(self._chunks.count()) if self._open(create=False) else 0

    def count_articles(self) -> int:
        return int(self._articles.count()) if self._open(create=False) else 0

    def dense_ids(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """The ``k`` nearest chunk ids with their distances, nothing else: several times faster than a query
        that also reads documents and metadata, for callers that hold those already (the retriever's lexical
        index has every chunk's article, date and outlet)."""
        if not self._open(create=False):
            return []
        try:
            res = self._chunks.query(
                query_embeddings=[vector.tolist()], n_results=k, where=where_clause(filters), include=["distances"]
            )
        except Exception as exc:
            raise StoreError(f"searching {self.location} failed: {_reason(exc)}") from None
        return [(cid, float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every stored chunk (for rebuilding the lexical index from Chroma, the one source of truth)."""
        if not self._open(create=False):
            return
        for ids, metas, docs in self._pages(self._chunks, include=["metadatas", "documents"]):
            for cid, meta, doc in zip(ids, metas, docs, strict=True):
                yield chunk_from(cid, doc, meta)

    def chunks_of(self, article_ids: list[str]) -> list[Chunk]:
        """Every stored chunk of these articles (for indexing them elsewhere)."""
        if not article_ids or not self._open(create=False):
            return []
        where = {"article_id": {"$in": article_ids}}
        return [
            chunk_from(cid, doc, meta)
            for ids, metas, docs in self._pages(self._chunks, include=["metadatas", "documents"], where=where)
            for cid, meta, doc in zip(ids, metas, docs, strict=True)
        ]

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        if not ids or not self._open(create=False):
            return []
        res = self._chunks.get(ids=ids, include=["metadatas", "documents"])
        found = {
            cid: chunk_from(cid, d, m) for cid, d, m in zip(res["ids"], res["documents"], res["metadatas"], strict=True)
        }
        return [found[i] for i in ids if i in found]

    def get_article(self, article_id: str) -> Article | None:
        if not self._open(create=False):
            return None
        res = self._articles.get(ids=[article_id], include=["metadatas", "documents"])
        if not res["ids"]:
            return None
        return article_from(res["ids"][0], res["documents"][0], res["metadatas"][0])

    def iter_articles(self, filters: Filters | None = None) -> Iterator[Article]:
        if not self._open(create=False):
            return
        for ids, metas, docs in self._pages(
            self._articles, include=["metadatas", "documents"], where=where_clause(filters)
        ):
            for aid, meta, doc in zip(ids, metas, docs, strict=True):
                yield article_from(aid, doc, meta)

    def iter_writes(self) -> Iterator[ArticleWrite]:
        """Every committed article as it was written: text, chunks, their stored vectors and hashes (for
        copying a store, e.g. the scale benchmark's replicas: nothing is re-embedded)."""
        if not self._open(create=False):
            return
        for ids, metas, docs in self._pages(self._articles, include=["metadatas", "documents"]):
            for aid, meta, doc in zip(ids, metas, docs, strict=True):
                res = self._chunks.get(where={"article_id": aid}, include=["metadatas", "documents", "embeddings"])
                rows = sorted(
                    zip(res["ids"], res["documents"], res["metadatas"], res["embeddings"], strict=True),
                    key=lambda r: int(r[2]["index"]),
                )
                chunks = [chunk_from(cid, d, m) for cid, d, m, _ in rows if int(m["index"]) < int(meta["n_chunks"])]
                vectors = np.asarray([v for _, _, m, v in rows if int(m["index"]) < int(meta["n_chunks"])])
                yield ArticleWrite(
                    article_from(aid, doc, meta), chunks, vectors, str(meta["content_hash"]), str(meta["text_hash"])
                )

    def article_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The stored article vectors (mean of each article's chunk vectors), for grouping articles."""
        if not ids or not self._open(create=False):
            return {}
        out: dict[str, np.ndarray] = {}
        for s in range(0, len(ids), 1000):
            res = self._articles.get(ids=ids[s : s + 1000], include=["embeddings"])
            for aid, vec in zip(res["ids"], res["embeddings"], strict=True):
                out[aid] = np.asarray(vec, dtype=np.float32)
        return out

    def newest_date(self) -> dt.date | None:
        """The latest publication date in the store (the default briefing day)."""
        newest = None
        for _, metas, _ in self._pages(self._articles, include=["metadatas"]) if self._open(create=False) else []:
            for m in metas:
                day = _date(m.get("published"))
                if day and (newest is None or day > newest):
                    newest = day
        return newest

    @staticmethod
    def _pages(
        collection: Any, include: list[str], where: dict[str, Any] | None = None, size: int = 2000
    ) -> Iterator[tuple[list[str], list[dict[str, Any]], list[str]]]:
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


def where_clause(filters: Filters | None) -> dict[str, Any] | None:
    if filters is None or not filters.active:
        return None
    parts: list[dict[str, Any]] = []
    if filters.since:
        parts.append({"published_day": {"$gte": day_number(filters.since)}})
    if filters.until:
        parts.append({"published_day": {"$lte": day_number(filters.until)}})
    if filters.outlets:
        parts.append({"outlet_key": {"$in": sorted({o.lower() for o in filters.outlets})}})
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _chunk_meta(c: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": c.article_id,
        "index": c.index,
        "start": c.start,
        "end": c.end,
        "title": c.title,
        "outlet": c.outlet,
        "outlet_key": c.outlet.lower(),
        "url": c.url,
        "published": c.published.isoformat() if c.published else "",
        "n_tokens": c.n_tokens,
    }
    if c.published:
        meta["published_day"] = day_number(c.published)
    return meta


def _article_meta(a: Article, content_hash: str, text_hash: str, n_chunks: int) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "title": a.title,
        "outlet": a.outlet,
        "outlet_key": a.outlet.lower(),
        "url": a.url,
        "published": a.published_iso,
        "authors": json.dumps(list(a.authors)),
        "source": a.source,
        "content_hash": content_hash,
        "text_hash": text_hash,
        "n_chunks": n_chunks,
    }
    if a.published:
        meta["published_day"] = day_number(a.published)
    return meta


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def chunk_from(cid: str, doc: str | None, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        id=cid,
        article_id=str(meta["article_id"]),
        index=int(meta["index"]),
        text=doc or "",
        start=int(meta["start"]),
        end=int(meta["end"]),
        title=str(meta.get("title", "")),
        outlet=str(meta.get("outlet", "")),
        url=str(meta.get("url", "")),
        published=_date(meta.get("published")),
        n_tokens=int(meta.get("n_tokens", 0)),
    )


def article_from(aid: str, doc: str | None, meta: dict[str, Any]) -> Article:
    return Article(
        id=aid,
        title=str(meta.get("title", "")),
        text=doc or "",
        outlet=str(meta.get("outlet", "")),
        url=str(meta.get("url", "")),
        published=_date(meta.get("published")),
        authors=tuple(json.loads(meta.get("authors") or "[]")),
        source=str(meta.get("source", "")),
    )


def _connect(settings: Settings) -> Any:
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
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        where = settings.chroma_url or str(settings.data_dir / "chroma")
        hint = "; is `chroma run` up at that address?" if settings.chroma_url else ""
        raise StoreError(f"cannot open the Chroma store at {where}: {_reason(exc)}{hint}") from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def _describe(fp: dict[str, str]) -> str:
    if not fp:
        return "an unknown configuration"
    return ", ".join(f"{k}={v}" for k, v in sorted(fp.items()) if k != "schema") or "an unknown configuration"
