"""The store: Chroma, embedded on local disk or a Chroma server, holding chunks and their articles; reads
are ``rag.search.storeread``'s, and this module writes.

The commit protocol, in two functions: ``put_articles`` writes an article's chunks, checks they are all
there, then writes its record, which is the commit; ``delete_articles`` removes records, then chunks.
Every chunk carries its article's content hash and the id of the run that wrote it, and readers see a
chunk only when its article's record is committed with the same hash: never a half-written article,
never an old text's chunk under a new record. What a dead run left half-written is removed by ``repair``
(see ``rag.search.writers`` for who counts as dead).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np

from rag.errors import StoreError
from rag.search.chroma import ReadOnlyClient, connect, pages
from rag.search.storeread import StoreReader
from rag.search.storerecords import ArticleWrite, article_meta, article_vector, chunk_from, chunk_meta, matches
from rag.search.writers import Runs
from rag.settings import Settings
from rag.types import Article, Chunk


class Store(StoreReader):
    """The store that is also written: runs, the commit protocol and the repair after runs that died."""

    def __init__(self, settings: Settings, fingerprint: dict[str, str], *, read_only: bool = False) -> None:
        super().__init__(settings, fingerprint, read_only=read_only)
        self._runs = Runs(settings, self._client, self.location)

    # -- runs and writes: the commit protocol -------------------------------------------------------
    def reset(self) -> None:
        """Drop both collections (``rag ingest --rebuild``)."""
        self._require_run()
        with self._guard("resetting"):
            existing = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
            for name in self._names():
                if name in existing:
                    self._client.delete_collection(name)
        self._chunks = self._articles = None

    def writing(
        self, on_wait: Callable[[str], None] | None = None, *, alone: bool = False
    ) -> contextlib.AbstractContextManager[str]:
        """Hold the right to write for one run (``with store.writing() as run:``); see ``Runs.writing``."""
        self._writable()
        return self._runs.writing(on_wait, alone=alone, holds_data=self.exists)

    def _writable(self) -> None:
        """A store opened read-only (through Chroma's engine alone) reopens with the full client before its
        first write; the engine's read-only handle is closed first, so one process never holds two."""
        if not isinstance(self._client, ReadOnlyClient):
            return
        self._chunks = self._articles = None
        self._client = self._runs.client = None
        self._client = self._runs.client = connect(self.settings)

    def unclean_runs(self) -> set[str]:
        """Runs that ended without finishing cleanly, whose leftovers a repair must remove."""
        return self._runs.unclean()

    def repair_if_needed(self) -> int:
        """``repair`` only when a run ended uncleanly since the last repair: an ingest into a healthy store
        then costs O(article), not a scan of every chunk."""
        return self.repair() if self.unclean_runs() else 0

    def _require_run(self) -> str:
        return self._runs.require()

    def _live_runs(self) -> set[str]:
        return self._runs.live()

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
                embeddings=[article_vector(w.vectors).tolist() for w in batch],
                documents=[w.article.text for w in batch],
                metadatas=[
                    {**article_meta(w.article, w.content_hash, w.text_hash, len(w.chunks), run), "committed_at": stamp}
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
                metadatas=[chunk_meta(c, hashes[c.article_id], run) for c in part],
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
            self._runs.forget(dead)
            return 0
        with self._guard("repairing"):
            chunks = [
                (cid, str(m.get("article_id")), m)
                for ids, metas, _ in pages(self._chunks, ["metadatas"])
                for cid, m in zip(ids, metas, strict=True)
            ]
            live = self._live_runs()
            records = self.committed()
            good = Counter(aid for _, aid, m in chunks if matches(m, records.get(aid)))
            busy = {aid for _, aid, m in chunks if m.get("run") in live}
            broken = {a for a, c in records.items() if good[a] < c.n_chunks and a not in busy and c.run not in live}
            for aid in broken:  # uncommitted only if the record is still the dead run's
                self._articles.delete(ids=[aid], where={"run": records[aid].run} if records[aid].run else None)
            suspects = [
                (cid, aid, m)
                for cid, aid, m in chunks
                if m.get("run") not in live and (aid in broken or not matches(m, records.get(aid)))
            ]
            # Re-read the suspects' records: an article committed since the snapshot keeps its chunks.
            now = self._records(sorted({aid for _, aid, _ in suspects}))
            orphans: dict[str, list[str]] = defaultdict(list)
            for cid, aid, m in suspects:
                if not matches(m, now.get(aid)):
                    orphans[str(m.get("run", ""))].append(cid)
            for run, ids in orphans.items():  # only chunks still the dead run's: a live run may rewrite an id
                for s in range(0, len(ids), 1000):
                    self._chunks.delete(ids=ids[s : s + 1000], where={"run": run} if run else None)
        self._runs.forget(dead)
        return sum(len(ids) for ids in orphans.values())
