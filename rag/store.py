"""The store: Chroma, embedded on local disk or a Chroma server, holding chunks and their articles.

The only module that imports ``chromadb``. Two collections per index: ``<name>-chunks`` (one vector per
chunk, with the article's metadata and the chunk's offsets) and ``<name>-articles`` (one record per
article: full cleaned text, content hash, chunk count; its vector is the mean of its chunks').

The commit protocol, in two functions: ``put_articles`` writes an article's chunks, checks they are all
there, then writes its record, which is the commit; ``delete_articles`` removes records, then chunks.
Every chunk carries its article's content hash and the id of the run that wrote it, and readers see a
chunk only when its article's record is committed with the same hash: never a half-written article,
never an old text's chunk under a new record. What a dead run left half-written is removed by ``repair``
(see ``rag.writers`` for who counts as dead).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from rag.errors import RagError, StaleIndexError, StoreBusyError, StoreError
from rag.settings import Settings
from rag.storefaults import describe_failure
from rag.types import Article, Chunk, Filters, Holdings
from rag.writers import Leases, RunMarks, WriteLock

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
    source: str = ""  #: where it was read from (resolved file path, ``path:line``, or URL)
    run: str = ""  #: the run that committed it ("" before runs were recorded)
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
        self._run: str | None = None  #: this store's run id while it holds the right to write
        self._leases: Leases | None = None

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
            raise StaleIndexError(_describe(stored), _describe(self.fingerprint))

    def exists(self) -> bool:
        return self._open(create=False)

    def reset(self) -> None:
        """Drop both collections (``rag ingest --rebuild``)."""
        self._require_run()
        with self._guard("resetting"):
            existing = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
            for name in self._names():
                if name in existing:
                    self._client.delete_collection(name)
        self._chunks = self._articles = None

    @contextlib.contextmanager
    def writing(self, on_wait: Callable[[str], None] | None = None, *, alone: bool = False) -> Iterator[str]:
        """Hold the right to write for one run and yield its id, which is stamped on everything it writes.

        Embedded: the store's writer lock for the whole run; a busy store raises StoreBusyError at once, or is
        waited for when ``on_wait`` is given (it is told why). Server: a lease, renewed while the run lives;
        with ``alone``, StoreBusyError when another run holds one. Nested use joins the outer run."""
        if self._run is not None:
            yield self._run
            return
        run = uuid.uuid4().hex[:16]
        release: Callable[[bool], None]
        if self.settings.chroma_url:
            with self._guard("registering a writer with"):
                runs = f"{self.settings.collection}-runs"
                leases = Leases(self._client.get_or_create_collection(runs, embedding_function=None))
                if alone and leases.live():
                    raise StoreBusyError(
                        f"another run is writing to the store at {self.location}; wait for it to finish"
                    )
                leases.take(run)
            self._leases = leases

            def release(clean: bool) -> None:
                leases.release(clean=clean)

        else:
            lock = WriteLock(self.settings.data_dir / "chroma.lock", self.location)
            with self._guard("locking"):
                lock.acquire(on_wait)
            marks = self._marks
            try:
                marks.begin(run)
            except OSError as exc:
                lock.release()
                raise StoreError(describe_failure(exc, "locking", self.location, self.settings)) from None

            def release(clean: bool) -> None:
                if clean:
                    marks.end(run)  # a failed run's mark stays: the next run repairs after it
                lock.release()

        self._run = run
        clean = False
        try:
            yield run
            clean = True
        finally:
            self._run, self._leases = None, None
            release(clean)

    @property
    def _marks(self) -> RunMarks:
        return RunMarks(self.settings.data_dir / "chroma.runs")

    def unclean_runs(self) -> set[str]:
        """Runs that ended without finishing cleanly (killed, or failed mid-write), whose leftovers a repair
        must remove. Embedded: their marks; server: leases that outlived their runs."""
        if self._leases is not None:
            with self._guard("reading the runs of"):
                return self._leases.dead()
        return set() if self.settings.chroma_url else self._marks.unclean(self._run)

    def repair_if_needed(self) -> int:
        """``repair`` only when a run ended uncleanly since the last repair: an ingest into a healthy store
        then costs O(article), not a scan of every chunk."""
        return self.repair() if self.unclean_runs() else 0

    def _require_run(self) -> str:
        if self._run is None:
            raise RuntimeError("store writes need `with store.writing():` (the writer lock or lease)")
        return self._run

    def _live_runs(self) -> set[str]:
        """Runs that may still be writing. Embedded: only this one, as it holds the lock."""
        live = {self._require_run()}
        if self._leases is not None:
            live |= self._leases.live()
        return live

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Any Chroma failure becomes one StoreError line naming the cause and the fix."""
        try:
            yield
        except RagError:
            raise
        except Exception as exc:  # chromadb raises many types; all mean the same to the user
            raise StoreError(describe_failure(exc, doing, self.location, self.settings)) from None

    # -- writes: the commit protocol -------------------------------------------------------------------
    def put_articles(self, batch: list[ArticleWrite]) -> float:
        """Commit articles: write their chunks, check every one landed, then write their records (the commit).
        Returns the commit stamp written on the records (readers catch up from it: ``committed_since``).

        The one place articles become visible. Chunks are upserted over any stored version (readers keep
        seeing the old version's matching chunks until the new record lands); a shorter new version's
        surplus chunks are deleted after the commit. Writes are batched: one Chroma call per kind per batch,
        the costly part of ingestion after embedding."""
        if not batch:
            return 0.0
        run = self._require_run()
        self._open(create=True)
        first = batch[0].article.id
        with self._guard(f"writing {len(batch)} article(s) from {first} to"):
            ids = [w.article.id for w in batch]
            old = self._records(ids)
            chunks = [c for w in batch for c in w.chunks]
            hashes = {w.article.id: w.content_hash for w in batch}
            vectors = np.concatenate([w.vectors for w in batch]) if chunks else np.zeros((0, 1))
            self._put_chunks(chunks, vectors, hashes, run)
            self._check_chunks(chunks, vectors, hashes, run)
            stamp = time.time()
            self._articles.upsert(
                ids=ids,
                embeddings=[_mean(w.vectors).tolist() for w in batch],
                documents=[w.article.text for w in batch],
                metadatas=[
                    {**_article_meta(w.article, w.content_hash, w.text_hash, len(w.chunks), run), "committed_at": stamp}
                    for w in batch
                ],
            )
            surplus = [
                f"{w.article.id}:{i}"
                for w in batch
                if w.article.id in old
                for i in range(len(w.chunks), old[w.article.id].n_chunks)
            ]
            if surplus:
                self._chunks.delete(ids=surplus)
        return stamp

    def _put_chunks(self, chunks: list[Chunk], vectors: np.ndarray, hashes: dict[str, str], run: str) -> None:
        step = max(1, min(5000, self._client.get_max_batch_size()))
        for s in range(0, len(chunks), step):
            part = chunks[s : s + step]
            self._chunks.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[s : s + step].tolist(),
                documents=[c.text for c in part],
                metadatas=[_chunk_meta(c, hashes[c.article_id], run) for c in part],
            )

    def _check_chunks(self, chunks: list[Chunk], vectors: np.ndarray, hashes: dict[str, str], run: str) -> None:
        """Before committing, every chunk must be stored with its article's hash (on a server, a run that
        lost its lease may have had them removed by another run's repair): rewrite what is missing, once."""
        for attempt in range(2):
            found = self._chunks.get(ids=[c.id for c in chunks], include=["metadatas"])
            ok = {
                cid
                for cid, m in zip(found["ids"], found["metadatas"], strict=True)
                if m and m.get("content_hash") == hashes[str(m.get("article_id"))]
            }
            missing = [i for i, c in enumerate(chunks) if c.id not in ok]
            if not missing:
                return
            if attempt == 0:
                self._put_chunks([chunks[i] for i in missing], vectors[missing], hashes, run)
        raise StoreError(f"{len(missing)} chunk(s) did not stay in {self.location}; re-run the same command")

    def delete_articles(self, ids: list[str]) -> None:
        """Remove articles: records first (readers stop seeing them at once), then their chunks. The one
        place articles are removed (``--prune``, renamed files)."""
        if not ids or not self._open(create=False):
            return
        self._require_run()
        with self._guard(f"deleting {len(ids)} article(s) from"):
            self._articles.delete(ids=ids)
            for s in range(0, len(ids), 500):
                self._chunks.delete(where={"article_id": {"$in": ids[s : s + 500]}})

    def update_sources(self, sources: dict[str, str]) -> None:
        """Record where unchanged articles are read from now (a renamed file, a path spelled another way)."""
        if not sources or not self._open(create=False):
            return
        self._require_run()
        with self._guard("updating article sources in"):
            ids = list(sources)
            self._articles.update(ids=ids, metadatas=[{"source": sources[i]} for i in ids])

    def moved(self, old_id: str, article: Article, content_hash: str, text_hash: str) -> ArticleWrite | None:
        """``article`` with the chunks and vectors stored for ``old_id``, re-keyed, when that article has the
        same content (a renamed file keeps its vectors: nothing is re-embedded); None when it does not."""
        if not self._open(create=False):
            return None
        with self._guard("reading"):
            record = self._records([old_id]).get(old_id)
            if record is None or record.content_hash != content_hash:
                return None
            ids = [f"{old_id}:{i}" for i in range(record.n_chunks)]
            res = self._chunks.get(ids=ids, include=["metadatas", "documents", "embeddings"])
        rows = dict(
            zip(res["ids"], zip(res["documents"], res["metadatas"], res["embeddings"], strict=True), strict=True)
        )
        if any(cid not in rows for cid in ids):
            return None
        chunks = [
            chunk_from(f"{article.id}:{i}", rows[cid][0], {**rows[cid][1], "article_id": article.id})
            for i, cid in enumerate(ids)
        ]
        vectors = np.asarray([rows[cid][2] for cid in ids], dtype=np.float32)
        return ArticleWrite(article, chunks, vectors, content_hash, text_hash)

    def repair(self) -> int:
        """Delete what dead runs left half-written; returns the number of chunks deleted.

        A chunk stays when its article is committed with the same content hash and the chunk's index is
        within the article's count, or when the run that wrote it is alive. A committed article short of
        any chunk (its run died rewriting it) is uncommitted, so the next ingest of its file re-embeds it.
        On a server, reads go chunks → live runs → records, and candidates are re-read before deletion, so
        a run that committed meanwhile keeps its work."""
        dead = self.unclean_runs()
        if not self._open(create=False):
            self._forget(dead)
            return 0
        with self._guard("repairing"):
            chunks = [
                (cid, str(m.get("article_id")), m)
                for ids, metas, _ in self._pages(self._chunks, ["metadatas"])
                for cid, m in zip(ids, metas, strict=True)
            ]
            live = self._live_runs()
            records = self.committed()
            good = Counter(aid for _, aid, m in chunks if _matches(m, records.get(aid)))
            busy = {aid for _, aid, m in chunks if m.get("run") in live}
            broken = {a for a, c in records.items() if good[a] < c.n_chunks and a not in busy and c.run not in live}
            for aid in broken:  # uncommitted only if the record is still the dead run's
                self._articles.delete(ids=[aid], where={"run": records[aid].run} if records[aid].run else None)
            suspects = [
                (cid, aid, m)
                for cid, aid, m in chunks
                if m.get("run") not in live and (aid in broken or not _matches(m, records.get(aid)))
            ]
            # Re-read the suspects' records: an article committed since the snapshot keeps its chunks.
            now = self._records(sorted({aid for _, aid, _ in suspects}))
            orphans: dict[str, list[str]] = defaultdict(list)
            for cid, aid, m in suspects:
                if not _matches(m, now.get(aid)):
                    orphans[str(m.get("run", ""))].append(cid)
            for run, ids in orphans.items():  # only chunks still the dead run's: a live run may rewrite an id
                for s in range(0, len(ids), 1000):
                    self._chunks.delete(ids=ids[s : s + 1000], where={"run": run} if run else None)
        self._forget(dead)
        return sum(len(ids) for ids in orphans.values())

    def _forget(self, runs: set[str]) -> None:
        """The runs a completed repair cleaned up after are no longer unclean."""
        if self._leases is not None:
            with self._guard("updating the runs of"):
                self._leases.forget(runs)
        else:
            self._marks.forget(runs)

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
            for ids, metas, _ in self._pages(self._articles, include=["metadatas"], where=where):
                for aid, m in zip(ids, metas, strict=True):
                    out[aid] = _committed(m)
        return out

    def records(self, ids: list[str]) -> dict[str, Committed]:
        """The committed records of these articles, read by id (missing ids are not committed)."""
        if not ids or not self._open(create=False):
            return {}
        with self._guard("reading"):
            return self._records(ids)

    def records_with_text(self, text_hash: str) -> dict[str, Committed]:
        """The committed articles whose text has this hash (a duplicate, or a renamed file's old id)."""
        if not self._open(create=False):
            return {}
        with self._guard("reading"):
            res = self._articles.get(where={"text_hash": text_hash}, include=["metadatas"])
        return {aid: _committed(m) for aid, m in zip(res["ids"], res["metadatas"], strict=True)}

    def _records(self, ids: list[str]) -> dict[str, Committed]:
        """The committed records of these articles (missing ids are not committed)."""
        out: dict[str, Committed] = {}
        for s in range(0, len(ids), 1000):
            res = self._articles.get(ids=ids[s : s + 1000], include=["metadatas"])
            for aid, m in zip(res["ids"], res["metadatas"], strict=True):
                out[aid] = _committed(m)
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
        here too cost a third of a retrieval). With ``ids``, only those chunks are compared (exactly): a narrow
        filter's chunks, listed by the lexical index, search far faster so than through Chroma's ``where``."""
        if not self._open(create=False) or (ids is not None and not ids):
            return []
        with self._guard("searching"):
            res = self._chunks.query(
                query_embeddings=[vector.tolist()],
                n_results=k,
                ids=ids,
                where=None if ids is not None else where_clause(filters),
                include=["distances"],
            )
        return [(cid, float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk of every committed article (for rebuilding the lexical index from Chroma, the one
        source of truth)."""
        records = self.committed()
        if not records:
            return
        with self._guard("reading"):
            for ids, metas, docs in self._pages(self._chunks, include=["metadatas", "documents"]):
                for cid, meta, doc in zip(ids, metas, docs, strict=True):
                    if _matches(meta, records.get(str(meta.get("article_id")))):
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
                for ids, metas, docs in self._pages(self._chunks, include=["metadatas", "documents"], where=where)
                for cid, meta, doc in zip(ids, metas, docs, strict=True)
                if _matches(meta, records.get(str(meta.get("article_id"))))
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
            if _matches(m, records.get(str(m.get("article_id"))))
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
            for _, metas, _ in self._pages(self._articles, include=["metadatas"]):
                for m in metas:
                    day = _date(m.get("published"))
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
            for ids, metas, _ in self._pages(self._articles, include=["metadatas"]):
                for aid, m in zip(ids, metas, strict=True):
                    n += 1
                    outlets[str(m.get("outlet", ""))] += 1
                    day = _date(m.get("published"))
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


def _committed(m: dict[str, Any]) -> Committed:
    return Committed(
        str(m.get("content_hash", "")),
        str(m.get("text_hash", "")),
        int(m["n_chunks"]),
        str(m.get("source", "")),
        str(m.get("run", "")),
        float(m.get("committed_at", 0.0)),
    )


def _matches(chunk_meta: dict[str, Any], record: Committed | None) -> bool:
    """Whether a stored chunk belongs to its article's committed version (chunks written before content
    hashes were recorded match any version with enough chunks)."""
    if record is None or int(chunk_meta.get("index", 0)) >= record.n_chunks:
        return False
    return str(chunk_meta.get("content_hash", record.content_hash)) == record.content_hash


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


def _chunk_meta(c: Chunk, content_hash: str, run: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": c.article_id,
        "content_hash": content_hash,
        "run": run,
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


def _article_meta(a: Article, content_hash: str, text_hash: str, n_chunks: int, run: str) -> dict[str, Any]:
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
        "run": run,
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


def _describe(fp: dict[str, str]) -> str:
    if not fp:
        return "an unknown configuration"
    return ", ".join(f"{k}={v}" for k, v in sorted(fp.items()) if k != "schema") or "an unknown configuration"
