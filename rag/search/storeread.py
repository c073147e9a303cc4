"""Reading the store: the index's two Chroma collections, opened only under the fingerprint they were built
with (embedder + chunking), and every read sees committed articles only.

Two collections per index: ``<name>-chunks`` (one vector per chunk, with the article's metadata and the
chunk's offsets) and ``<name>-articles`` (one record per article: full cleaned text, content hash, chunk
count; its vector is the mean of its chunks'). A chunk is read only when its article's record is committed
with the same content hash (``rag.search.storerecords.matches``): never a half-written article, never an old
text's chunk under a new record. Writing is ``rag.search.store``'s.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

from rag.errors import StaleIndexError
from rag.search.chroma import ReadOnlyClient, connect, pages
from rag.search.storefaults import guard
from rag.search.storerecords import (
    SCHEMA,
    ArticleWrite,
    Committed,
    article_from,
    chunk_from,
    committed_from,
    describe_fingerprint,
    matches,
    stored_date,
    where_clause,
)
from rag.settings import Settings
from rag.types import Article, Chunk, Filters, Holdings

#: Up to this many ids, ``dense_ids(ids=…)`` compares the query with each one's vector, read from Chroma (about
#: 70–100 µs per id at a million chunks: 80–100 ms for 1,061, 125 ms for 1,814). More go to Chroma's HNSW search
#: restricted to those ids: fast when thousands pass (86 ms for 1,814 ids at 1M chunks, 38 ms for 11,752), but
#: when few do it walks most of the graph looking for enough of them (1.4–2.3 s for 150 ids or fewer).
EXACT_IDS = 1_500


class StoreReader:
    """Chunks and articles in Chroma, guarded by an index fingerprint (embedder + chunking), read as committed."""

    def __init__(self, settings: Settings, fingerprint: dict[str, str], *, read_only: bool = False) -> None:
        """``read_only``: the caller expects to read only, so an embedded store may open through Chroma's engine
        alone (``rag.search.chroma.ReadOnlyClient``, a second less to start); a write still works, as
        ``Store.writing`` switches to the full client first."""
        self.settings = settings
        self.fingerprint = {"schema": str(SCHEMA), **fingerprint}
        self._client = connect(settings, read_only=read_only)
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
        with self._guard("opening"):
            existing = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
            if chunks_name not in existing and not create:
                return False
            if articles_name not in existing and isinstance(self._client, ReadOnlyClient):
                return False  # half-created: opened for writing, the full client completes it
            meta = {f"rag_{k}": v for k, v in self.fingerprint.items()}
            config = {"hnsw": {"space": "cosine"}}
            # get-or-create, not create: two runs may create a new store on a server at the same moment
            chunks = self._client.get_or_create_collection(
                chunks_name, metadata=meta, configuration=config, embedding_function=None
            )
            self._check_fingerprint(chunks.metadata or {})
            articles = self._client.get_or_create_collection(
                articles_name, metadata=meta, configuration=config, embedding_function=None
            )
        self._chunks, self._articles = chunks, articles
        return True

    def _check_fingerprint(self, stored_meta: dict[str, Any]) -> None:
        stored = {k.removeprefix("rag_"): str(v) for k, v in stored_meta.items() if k.startswith("rag_")}
        if stored != self.fingerprint:
            raise StaleIndexError(describe_fingerprint(stored), describe_fingerprint(self.fingerprint))

    def exists(self) -> bool:
        return self._open(create=False)

    def _guard(self, doing: str) -> contextlib.AbstractContextManager[None]:
        """Any Chroma failure becomes one StoreError line naming the cause and the fix."""
        return guard(doing, self.location, self.settings)

    # -- reads: committed articles only ----------------------------------------------------------------
    def committed(self) -> dict[str, Committed]:
        """Every fully ingested article: id → hashes, chunk count, source."""
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
        with self._guard("reading"):
            for ids, metas, _ in pages(self._articles, include=["metadatas"], where=where):
                for aid, m in zip(ids, metas, strict=True):
                    out[aid] = committed_from(m)
        return out

    def records(self, ids: list[str]) -> dict[str, Committed]:
        """The committed records of these articles, read by id (missing ids are not committed)."""
        if not ids or not self._open(create=False):
            return {}
        with self._guard("reading"):
            return self._records(ids)

    def stored_urls(self, urls: list[str]) -> set[str]:
        """Which of these exact URLs a committed article is stored under (a feed poll's check of its links:
        one lookup per feed, not a read of every stored URL)."""
        if not urls or not self._open(create=False):
            return set()
        out: set[str] = set()
        with self._guard("reading"):
            for s in range(0, len(urls), 1000):
                res = self._articles.get(where={"url": {"$in": urls[s : s + 1000]}}, include=["metadatas"])
                out.update(str(m.get("url", "")) for m in res["metadatas"])
        return out

    def records_with_text(self, text_hash: str) -> dict[str, Committed]:
        """The committed articles whose text has this hash (a duplicate, or a renamed file's old id)."""
        if not self._open(create=False):
            return {}
        with self._guard("reading"):
            res = self._articles.get(where={"text_hash": text_hash}, include=["metadatas"])
        return {aid: committed_from(m) for aid, m in zip(res["ids"], res["metadatas"], strict=True)}

    def _records(self, ids: list[str]) -> dict[str, Committed]:
        """The committed records of these articles (missing ids are not committed)."""
        out: dict[str, Committed] = {}
        for s in range(0, len(ids), 1000):
            res = self._articles.get(ids=ids[s : s + 1000], include=["metadatas"])
            for aid, m in zip(res["ids"], res["metadatas"], strict=True):
                out[aid] = committed_from(m)
        return out

    def count_chunks(self) -> int:
        """Stored chunks, including any that a running or interrupted ingest has not committed."""
        if not self._open(create=False):
            return 0
        with self._guard("reading"):
            return int(self._chunks.count())

    def count_articles(self) -> int:
        """Committed articles."""
        if not self._open(create=False):
            return 0
        with self._guard("reading"):
            return int(self._articles.count())

    def dense_ids(
        self, vector: np.ndarray, k: int, filters: Filters | None = None, *, ids: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` nearest chunk ids with their distances, nothing else: several times faster than a query
        that also reads documents and metadata, for callers that hold those already (the retriever's lexical
        index has every chunk's article, date and outlet). Ids only: a caller reads chunks through
        ``get_chunks`` or an index built from ``iter_chunks``, which leave out what is not committed (checking
        here too cost a third of a retrieval). With ``ids``, only those chunks are candidates: a narrow filter's
        chunks, listed by the lexical index, search far faster so than through Chroma's ``where``; up to
        ``EXACT_IDS`` of them are compared exactly, more through Chroma's HNSW search restricted to them."""
        if not self._open(create=False) or (ids is not None and not ids):
            return []
        if ids is not None and len(ids) <= EXACT_IDS:
            return self._nearest_among(vector, k, ids)
        with self._guard("searching"):
            res = self._chunks.query(
                query_embeddings=[vector.tolist()],
                n_results=k,
                ids=ids,
                where=None if ids is not None else where_clause(filters),
                include=["distances"],
            )
        return [(cid, float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def _nearest_among(self, vector: np.ndarray, k: int, ids: list[str]) -> list[tuple[str, float]]:
        """The ``k`` of these chunks nearest ``vector``, compared exactly with each stored vector (Chroma's cosine
        distance, 1 − cosine similarity)."""
        with self._guard("searching"):
            res = self._chunks.get(ids=ids, include=["embeddings"])
        if not res["ids"]:
            return []
        vectors = np.asarray(res["embeddings"], dtype=np.float32)
        query = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1) * float(np.linalg.norm(query))
        distances = 1.0 - (vectors @ query) / np.maximum(norms, 1e-12)
        order = np.argsort(distances, kind="stable")[:k]
        return [(str(res["ids"][i]), float(distances[i])) for i in order]

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk of every committed article (for rebuilding the lexical index from Chroma, the one
        source of truth)."""
        records = self.committed()
        if not records:
            return
        with self._guard("reading"):
            for ids, metas, docs in pages(self._chunks, include=["metadatas", "documents"]):
                for cid, meta, doc in zip(ids, metas, docs, strict=True):
                    if matches(meta, records.get(str(meta.get("article_id")))):
                        yield chunk_from(cid, doc, meta)

    def chunks_of(self, article_ids: list[str]) -> list[Chunk]:
        """Every stored chunk of these articles (for indexing them elsewhere)."""
        if not article_ids or not self._open(create=False):
            return []
        where = {"article_id": {"$in": article_ids}}
        with self._guard("reading"):
            records = self._records(article_ids)
            return [
                chunk_from(cid, doc, meta)
                for ids, metas, docs in pages(self._chunks, include=["metadatas", "documents"], where=where)
                for cid, meta, doc in zip(ids, metas, docs, strict=True)
                if matches(meta, records.get(str(meta.get("article_id"))))
            ]

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        """These chunks, in this order, leaving out any that are not part of a committed article."""
        if not ids or not self._open(create=False):
            return []
        with self._guard("reading"):
            res = self._chunks.get(ids=ids, include=["metadatas", "documents"])
            records = self._records(sorted({str(m.get("article_id")) for m in res["metadatas"]}))
        found = {
            cid: chunk_from(cid, d, m)
            for cid, d, m in zip(res["ids"], res["documents"], res["metadatas"], strict=True)
            if matches(m, records.get(str(m.get("article_id"))))
        }
        return [found[i] for i in ids if i in found]

    def get_article(self, article_id: str) -> Article | None:
        if not self._open(create=False):
            return None
        with self._guard("reading"):
            res = self._articles.get(ids=[article_id], include=["metadatas", "documents"])
        if not res["ids"]:
            return None
        return article_from(res["ids"][0], res["documents"][0], res["metadatas"][0])

    def iter_articles(self, filters: Filters | None = None) -> Iterator[Article]:
        if not self._open(create=False):
            return
        with self._guard("reading"):
            for ids, metas, docs in pages(
                self._articles, include=["metadatas", "documents"], where=where_clause(filters)
            ):
                for aid, meta, doc in zip(ids, metas, docs, strict=True):
                    yield article_from(aid, doc, meta)

    def iter_writes(self) -> Iterator[ArticleWrite]:
        """Every committed article as it was written: text, chunks, their stored vectors and hashes (for
        copying a store, e.g. the scale benchmark's replicas: nothing is re-embedded)."""
        if not self._open(create=False):
            return
        for ids, metas, docs in pages(self._articles, include=["metadatas", "documents"]):
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
        with self._guard("reading"):
            for s in range(0, len(ids), 1000):
                res = self._articles.get(ids=ids[s : s + 1000], include=["embeddings"])
                for aid, vec in zip(res["ids"], res["embeddings"], strict=True):
                    out[aid] = np.asarray(vec, dtype=np.float32)
        return out

    def newest_date(self) -> dt.date | None:
        """The latest publication date in the store (the default briefing day)."""
        if not self._open(create=False):
            return None
        newest = None
        with self._guard("reading"):
            for _, metas, _ in pages(self._articles, include=["metadatas"]):
                for m in metas:
                    day = stored_date(m.get("published"))
                    if day and (newest is None or day > newest):
                        newest = day
        return newest

    def holdings(self) -> Holdings:
        """What the store holds (``rag status``, the web page), from article metadata: no text is read."""
        if not self._open(create=False):
            return Holdings()
        outlets: Counter[str] = Counter()
        first = last = None
        newest: tuple[dt.date, str, dict[str, Any]] | None = None
        n = 0
        with self._guard("reading"):
            for ids, metas, _ in pages(self._articles, include=["metadatas"]):
                for aid, m in zip(ids, metas, strict=True):
                    n += 1
                    outlets[str(m.get("outlet", ""))] += 1
                    day = stored_date(m.get("published"))
                    if day is None:
                        continue
                    first = day if first is None or day < first else first
                    last = day if last is None or day > last else last
                    if newest is None or (day, aid) > newest[:2]:
                        newest = (day, aid, m)
        return Holdings(
            articles=n,
            chunks=self.count_chunks(),
            first=first,
            last=last,
            outlets=dict(sorted(outlets.items(), key=lambda kv: (-kv[1], kv[0]))),
            newest=article_from(newest[1], None, newest[2]) if newest else None,
        )
