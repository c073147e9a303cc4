"""The lexical side of retrieval: BM25 over chunk texts in a tantivy index, kept in step with the store.

The index is derived from the store (Chroma stays the one source of truth) and never rebuilt whole: an
ingest adds or deletes its own articles' chunks (O(article)), and ``sync`` catches up with what any other
process committed, by the commit stamps on the store's article records (a high-water mark) and, when the
article counts disagree, by comparing content hashes. So a run killed between the store's commit and the
index's is repaired on the next open, and processes sharing a Chroma server each keep a local copy that
follows it. Nothing is pickled: tantivy's own files, committed atomically.

The analyzer (``rag.text.terms``) is ours: the same stemming and stopwords index the chunks and weigh question
words for the answerers.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tantivy

from rag.errors import StoreError
from rag.ingest.chunk import embed_header
from rag.search.storerecords import day_number, from_day_number
from rag.text import terms
from rag.types import Chunk, Filters

if TYPE_CHECKING:
    from rag.search.store import Store

#: Bump when the schema or the analyzer changes: the index directory name includes it.
LEXICAL_VERSION = 2
#: Catch-up re-reads articles committed this long before the high-water mark: commits by other processes
#: can land out of stamp order (a slow write, clocks a little apart).
SLACK_SECONDS = 120.0
#: How long a write waits for another process's tantivy writer before leaving the work to the next sync.
LOCK_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Indexed:
    """One committed article as the index holds it: its chunks, content hash and the store's commit stamp."""

    article_id: str
    content_hash: str
    committed_at: float
    chunks: list[Chunk]


@dataclass
class SyncReport:
    """What ``sync`` did: articles (re)indexed and removed, and whether it had to compare every article."""

    indexed: int = 0
    removed: int = 0
    full: bool = False
    skipped: bool = False  #: another process held the writer: nothing applied this time
    seconds: float = 0.0


@dataclass
class Written:
    """What the last write to the index did: articles replaced or added, their chunks, articles deleted."""

    articles: int = 0
    chunks: int = 0
    deleted: int = 0


@dataclass
class _State:
    """Per-searcher values worth caching: they change only when the index does."""

    searcher: Any
    docs: int
    idf: dict[str, float] = field(default_factory=dict)
    newest: list[dt.date | None] = field(default_factory=list)  #: empty until asked


def _schema() -> Any:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("article", stored=True, tokenizer_name="raw", index_option="basic")
    # Pre-analysed with ``terms``: tantivy only splits on whitespace and counts.
    sb.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
    sb.add_integer_field("first", indexed=True)  #: 1 on an article's first chunk: one doc per article
    sb.add_integer_field("day", stored=True, indexed=True, fast=True)  #: -1 when undated
    sb.add_text_field("outlet", stored=True, tokenizer_name="raw", index_option="basic")  #: lower-cased
    sb.add_text_field("hash", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_float_field("stamp", stored=True, fast=True)  #: the store's commit stamp of the article
    return sb.build()


class LexicalIndex:
    """BM25 (tantivy: k1 1.2, b 0.75) over chunk texts with their titles, filtered by date and outlet.

    ``path`` None keeps the index in memory (built by ``sync``); otherwise it persists there."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._schema = _schema()
        self._index = self._open()
        self._state: _State | None = None
        self.written = Written()  #: the last write, for benchmarks and tests ("what did adding one touch")

    @classmethod
    def for_store(cls, store: Store, root: Path | None) -> LexicalIndex:
        """The index for this store (location, collection and fingerprint) under ``root``, in memory if None.

        Leftover pickle caches of earlier versions are deleted, never read: unpickling runs code."""
        if root is None:
            return cls(None)
        for stale in root.glob("*.pkl"):
            stale.unlink(missing_ok=True)
        where = store.location if store.settings.chroma_url else str(Path(store.location).resolve())
        key = f"{LEXICAL_VERSION}|{where}|{store.settings.collection}|{sorted(store.fingerprint.items())}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        return cls(root / f"{store.settings.collection}-{digest}")

    def _open(self) -> Any:
        if self.path is None:
            return tantivy.Index(self._schema)
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            return tantivy.Index(self._schema, path=str(self.path), reuse=True)
        except (OSError, ValueError):  # unreadable (a foreign or damaged directory): rebuilt by sync
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.mkdir(parents=True, exist_ok=True)
            return tantivy.Index(self._schema, path=str(self.path), reuse=False)

    # -- reads -----------------------------------------------------------------------------------------
    @property
    def _current(self) -> _State:
        if self._state is None:
            searcher = self._index.searcher()
            self._state = _State(searcher, int(searcher.num_docs))
        return self._state

    def __len__(self) -> int:
        """Chunks in the index."""
        return self._current.docs

    def articles(self) -> int:
        """Articles in the index."""
        return int(self._current.searcher.search(self._first(), 1, count=True).count)

    def idf(self, term: str) -> float:
        """BM25 idf of an analysed term, as the search weighs it (cached until the index changes)."""
        state = self._current
        value = state.idf.get(term)
        if value is None:
            df = int(state.searcher.doc_freq("body", term))
            n = max(state.docs, 1)
            value = state.idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return value

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, score) with a positive score, filtered like the dense side."""
        words = sorted(set(terms(query)))
        if not words or k <= 0:
            return []
        q = tantivy.Query
        text = q.boolean_query([(tantivy.Occur.Should, q.term_query(self._schema, "body", w)) for w in words])
        musts = [(tantivy.Occur.Must, text)]
        musts += [(tantivy.Occur.Must, q.const_score_query(f, 0.0)) for f in self._filter_queries(filters)]
        state = self._current
        found = state.searcher.search(q.boolean_query(musts), k, count=False)
        return [(state.searcher.doc(addr)["id"][0], float(score)) for score, addr in found.hits if score > 0]

    def count(self, filters: Filters) -> int:
        """How many chunks pass ``filters`` (every chunk when none is active)."""
        musts = [(tantivy.Occur.Must, f) for f in self._filter_queries(filters)]
        if not musts:
            return len(self)
        searcher = self._current.searcher
        return int(searcher.search(tantivy.Query.boolean_query(musts), 1, count=True).count)

    def matching(self, filters: Filters, limit: int) -> list[str] | None:
        """The ids of every chunk passing ``filters`` (a date range, outlets), or None when more than ``limit``
        do: a narrow filter's candidates for an exact dense search over just those ids."""
        musts = [(tantivy.Occur.Must, f) for f in self._filter_queries(filters)]
        if not musts or limit < 1:
            return None
        searcher = self._current.searcher
        found = searcher.search(tantivy.Query.boolean_query(musts), limit, count=True)
        if found.count > limit:
            return None
        return [searcher.doc(addr)["id"][0] for _, addr in found.hits]

    def describe(self, chunk_ids: list[str]) -> dict[str, tuple[str, dt.date | None, str]]:
        """(article id, publication date, lower-cased outlet) of each chunk the index holds."""
        if not chunk_ids:
            return {}
        state = self._current
        found = state.searcher.search(tantivy.Query.term_set_query(self._schema, "id", chunk_ids), len(chunk_ids))
        out: dict[str, tuple[str, dt.date | None, str]] = {}
        for _, addr in found.hits:
            doc = state.searcher.doc(addr)
            out[doc["id"][0]] = (doc["article"][0], from_day_number(int(doc["day"][0])), doc["outlet"][0])
        return out

    def newest_day(self) -> dt.date | None:
        """The latest publication date indexed (the recency prior's default anchor)."""
        state = self._current
        if not state.newest:
            found = state.searcher.search(tantivy.Query.all_query(), 1, count=False, order_by_field="day")
            state.newest.append(from_day_number(int(found.hits[0][0])) if found.hits else None)
        return state.newest[0]

    def high_water_mark(self) -> float:
        """The newest store commit stamp indexed (0 when empty)."""
        state = self._current
        found = state.searcher.search(tantivy.Query.all_query(), 1, count=False, order_by_field="stamp")
        return float(found.hits[0][0]) if found.hits else 0.0

    def hashes(self, article_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Content hash per indexed article (of the given ids, or of all)."""
        q = tantivy.Query
        ids = None if article_ids is None else list(article_ids)
        query = self._first()
        if ids is not None:
            if not ids:
                return {}
            query = q.boolean_query(
                [(tantivy.Occur.Must, query), (tantivy.Occur.Must, q.term_set_query(self._schema, "article", ids))]
            )
        searcher = self._current.searcher
        limit = len(ids) if ids is not None else max(1, self.articles())
        found = searcher.search(query, limit, count=False)
        out = {}
        for _, addr in found.hits:
            doc = searcher.doc(addr)
            out[doc["article"][0]] = doc["hash"][0]
        return out

    def _first(self) -> Any:
        return tantivy.Query.term_query(self._schema, "first", 1)

    def _filter_queries(self, f: Filters | None) -> list[Any]:
        if f is None or not f.active:
            return []
        q, out = tantivy.Query, []
        if f.since or f.until:  # an undated chunk (-1) never passes a date filter
            lo = max(day_number(f.since), 0) if f.since else 0
            hi = day_number(f.until) if f.until else None
            out.append(q.range_query(self._schema, "day", tantivy.FieldType.Integer, lo, hi))
        if f.outlets:
            out.append(q.term_set_query(self._schema, "outlet", sorted({o.lower() for o in f.outlets})))
        return out

    # -- writes ----------------------------------------------------------------------------------------
    def add(self, articles: Iterable[Indexed], *, wait: float = LOCK_WAIT_SECONDS) -> bool:
        """Index committed articles, replacing any older version of each. False when another process held
        the writer for ``wait`` seconds: the next ``sync`` (any process's) picks the articles up."""
        with self._writer(wait) as writer:
            if writer is None:
                return False
            self._put(writer, articles)
        return True

    def delete(self, article_ids: Iterable[str], *, wait: float = LOCK_WAIT_SECONDS) -> bool:
        with self._writer(wait) as writer:
            if writer is None:
                return False
            self._remove(writer, article_ids)
        return True

    def _put(self, writer: Any, articles: Iterable[Indexed]) -> None:
        for a in articles:
            writer.delete_documents_by_term("article", a.article_id)
            for doc in _documents(a):
                writer.add_document(doc)
            self.written.articles += 1
            self.written.chunks += len(a.chunks)

    def _remove(self, writer: Any, article_ids: Iterable[str]) -> None:
        for aid in article_ids:
            writer.delete_documents_by_term("article", aid)
            self.written.deleted += 1

    def reset(self) -> None:
        """Empty the index (``rag ingest --rebuild``)."""
        with self._writer(LOCK_WAIT_SECONDS) as writer:
            if writer is not None:
                writer.delete_all_documents()

    @contextmanager
    def _writer(self, wait: float) -> Iterator[Any]:
        """A tantivy writer, committed and released on exit (merges finish before the lock is given up)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                writer = self._index.writer(heap_size=64_000_000, num_threads=1)
                break
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise StoreError(f"cannot write the lexical index at {self.path}: {exc}") from None
                if time.monotonic() >= deadline:
                    yield None
                    return
                time.sleep(0.05)
        self.written = Written()
        try:
            yield writer
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()
            self._index.reload()
            self._state = None

    # -- keeping up with the store ---------------------------------------------------------------------
    def sync(self, store: Store, *, wait: float = 0.0) -> SyncReport:
        """Catch up with the store's committed articles: those stamped since the high-water mark (minus
        ``SLACK_SECONDS``) whose content hash differs are re-indexed; when the article counts still differ
        (a deletion, a killed run, a store written by an older version) every article's hash is compared.
        ``wait`` is how long to wait for another process's writer (0: leave the work to it, search as is)."""
        t0 = time.perf_counter()
        report = SyncReport()
        self._index.reload()
        self._state = None
        recent = store.committed_since(self.high_water_mark() - SLACK_SECONDS)
        mine = self.hashes(recent)
        todo = [aid for aid, c in recent.items() if mine.get(aid) != c.content_hash]
        removed: list[str] = []
        if store.count_articles() != self.articles() + sum(aid not in mine for aid in todo):
            report.full = True
            committed = store.committed()
            mine = self.hashes()
            todo = [aid for aid, c in committed.items() if mine.get(aid) != c.content_hash]
            removed = [aid for aid in mine if aid not in committed]
            recent = committed
        if todo or removed:
            with self._writer(wait) as writer:
                if writer is None:
                    report.skipped = True
                else:
                    self._remove(writer, removed)
                    self._put(writer, _from_store(store, {aid: recent[aid] for aid in todo}))
                    report.indexed, report.removed = len(todo), len(removed)
        report.seconds = time.perf_counter() - t0
        return report


def _from_store(store: Store, wanted: dict[str, Any]) -> Iterator[Indexed]:
    """The wanted committed articles with their chunks, read from the store a page of articles at a time;
    chunks beyond an article's committed count (a killed run's leftovers) are left out."""
    ids = list(wanted)
    for s in range(0, len(ids), 500):
        part = ids[s : s + 500]
        by_article: dict[str, list[Chunk]] = {aid: [] for aid in part}
        for c in store.chunks_of(part):
            if c.index < wanted[c.article_id].n_chunks:
                by_article[c.article_id].append(c)
        for aid in part:
            c = wanted[aid]
            yield Indexed(aid, c.content_hash, c.committed_at, sorted(by_article[aid], key=lambda ch: ch.index))


@functools.lru_cache(maxsize=16384)
def _analysed(title: str, text: str) -> str:
    """A chunk's index terms as tantivy reads them (cached: a replaced article mostly repeats its chunks)."""
    return " ".join(terms(embed_header(title) + text))


def _documents(a: Indexed) -> Iterator[Any]:
    for c in a.chunks:
        yield tantivy.Document(
            id=c.id,
            article=a.article_id,
            body=_analysed(c.title, c.text),
            first=int(c.index == 0),
            day=day_number(c.published) if c.published else -1,
            outlet=c.outlet.lower(),
            hash=a.content_hash,
            stamp=float(a.committed_at),
        )
