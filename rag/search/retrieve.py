"""Retrieval: hybrid dense (Chroma) + lexical (BM25) search, fused by weighted reciprocal rank, filtered
by date range and outlet, with per-article diversity.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.search.embed import Embedder
from rag.search.lexical import LexicalIndex
from rag.search.store import Store
from rag.types import Filters, Hit

#: Unfiltered results fetched per wanted result before falling back to a filtered Chroma query.
OVERFETCH = 4
#: A broad filter whose first over-fetch kept too few tries once more this many per wanted result (3,200 for
#: 50): at a million chunks that cost 60–150 ms (query and describing), against 7–13 s for Chroma's ``where``
#: on an outlet that 86% of the chunks pass.
WIDE_OVERFETCH = 64
#: A filter that at most this many chunks pass is searched over their ids (see ``Store.dense_ids``); a broader
#: one that too few pass for an over-fetch goes through Chroma's ``where``.
EXACT_LIMIT = 20_000
#: Extra candidates fetched per excluded article (about its number of chunks).
EXCLUDED_CHUNKS = 15


@dataclass(frozen=True)
class FusionConfig:
    mode: str = "hybrid"  #: hybrid, dense or lexical
    candidates: int = 50  #: taken from each side before fusion
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    per_article: int = 1  #: chunks of one article ranked before any other article's further chunks
    #: News prior: a third vote, up to ``recency_weight`` times a first rank, decaying with an article's
    #: age before the as-of date (the filter's end date, else the newest article in the store).
    recency_weight: float = 0.0
    half_life_days: float = 14.0
    #: The answerer's context also gets the lede (first chunk) of the ``ledes`` best articles: a news story
    #: puts its key facts first, and the chunk that matched the question is often a later one.
    ledes: int = 0


class Retriever:
    """Searches one store; ``mode`` chooses hybrid (default), dense-only or lexical-only."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        cache_dir: Path | None = None,
        config: FusionConfig | None = None,
        lexical: LexicalIndex | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config or FusionConfig()
        self._cache_dir = cache_dir
        self._lexical = lexical
        self._synced = lexical is not None
        self._pool: ThreadPoolExecutor | None = None  #: the dense side's thread (hybrid search)

    def open_lexical(self) -> LexicalIndex:
        """The lexical index, opened (under ``cache_dir``, in memory without one) but not yet caught up: what an
        ingest writes to, since its own repair or rebuild must come before any reading of the store."""
        if self._lexical is None:
            self._lexical = LexicalIndex.for_store(self.store, self._cache_dir)
        return self._lexical

    @property
    def lexical(self) -> LexicalIndex:
        """The lexical index, caught up with the store on first use."""
        index = self.open_lexical()
        if not self._synced:
            index.sync(self.store, wait=_first_sync_wait(index))
            self._synced = True
        return index

    def _threads(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="rag-dense")
        return self._pool

    def refresh(self) -> None:
        """Catch the lexical index up with the store (after an ingest, by this or another process)."""
        if self._lexical is not None:
            self._lexical.sync(self.store, wait=_first_sync_wait(self._lexical))
            self._synced = True

    def search(self, query: str, k: int = 6, filters: Filters | None = None, mode: str | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``query``; ``mode`` overrides the configured hybrid/dense/lexical.

        Candidates are fused as ids, with their article, date and outlet from the lexical index (which
        mirrors the store), and only the ``k`` chunks returned are read from Chroma: fetching documents for
        every candidate cost more than the search itself."""
        cfg = self.config
        mode = mode or cfg.mode
        dense: list[str] = []
        lexical: list[str] = []
        exclude = filters.exclude if filters is not None else frozenset()
        # Hidden articles are dropped after the search: fetch enough more that the rest still fill the lists.
        pool = cfg.candidates + EXCLUDED_CHUNKS * len(exclude)
        similarity: dict[str, float] = {}
        bm25: dict[str, float] = {}
        # Hybrid: the dense side (embedding, Chroma) runs on a thread while tantivy searches: both release the
        # GIL for most of their work, so on two cores the sides overlap.
        index = self.lexical if mode in {"hybrid", "lexical"} else None
        dense_side = self._threads().submit(self._dense, query, pool, filters) if mode == "hybrid" else None
        if index is not None:
            bm25 = dict(index.search(query, pool, filters))
            lexical = list(bm25)
        if mode in {"hybrid", "dense"}:
            found = dense_side.result() if dense_side is not None else self._dense(query, pool, filters)
            similarity = {cid: 1.0 - distance for cid, distance in found}
            dense = [cid for cid, _ in found]
        about = self._describe(dense + lexical)
        if exclude:
            about = {cid: a for cid, a in about.items() if a[0] not in exclude}
            dense = [cid for cid in dense if cid in about][: cfg.candidates]
            lexical = [cid for cid in lexical if cid in about][: cfg.candidates]

        dense_rank = {cid: r for r, cid in enumerate(dense, start=1) if cid in about}
        lexical_rank = {cid: r for r, cid in enumerate(lexical, start=1) if cid in about}
        fused: dict[str, float] = {}
        for cid, r in dense_rank.items():
            fused[cid] = fused.get(cid, 0.0) + cfg.dense_weight / (cfg.rrf_k + r)
        for cid, r in lexical_rank.items():
            fused[cid] = fused.get(cid, 0.0) + cfg.lexical_weight / (cfg.rrf_k + r)
        if cfg.recency_weight > 0:
            anchor = self._anchor(filters)
            for cid in fused:
                published = about[cid][1]
                if anchor is not None and published is not None:
                    age = max(0, (anchor - published).days)
                    fused[cid] += cfg.recency_weight * 0.5 ** (age / cfg.half_life_days) / (cfg.rrf_k + 1)
        order = sorted(fused, key=lambda cid: -fused[cid])

        # Diversity: each article's best chunks first (up to ``per_article``), its further chunks after
        # every other article's, so a one-article corpus still fills ``k`` but many articles spread out.
        first: list[str] = []
        rest: list[str] = []
        per_article: dict[str, int] = {}
        for cid in order:
            seen = per_article.get(about[cid][0], 0)
            (first if seen < cfg.per_article else rest).append(cid)
            per_article[about[cid][0]] = seen + 1
        chosen = (first + rest)[:k]
        chunks = {c.id: c for c in self.store.get_chunks(chosen)}
        return [
            Hit(chunks[cid], fused[cid], dense_rank.get(cid), lexical_rank.get(cid), similarity.get(cid), bm25.get(cid))
            for cid in chosen
            if cid in chunks
        ]

    def context(self, query: str, k: int = 6, filters: Filters | None = None) -> list[Hit]:
        """What the answerer reads: the ``k`` best chunks, with the ledes of the best ``config.ledes`` articles
        placed before their article's first chunk (each keeps its article's score)."""
        hits = self.search(query, k, filters)
        articles = list(dict.fromkeys(h.chunk.article_id for h in hits))[: self.config.ledes]
        have = {h.chunk.id for h in hits}
        ledes = {
            c.article_id: c
            for c in self.store.get_chunks([f"{a}:0" for a in articles if f"{a}:0" not in have])
            if c.start == 0
        }
        out: list[Hit] = []
        for h in hits:
            lede = ledes.pop(h.chunk.article_id, None)
            if lede is not None:
                out.append(Hit(lede, h.score))
            out.append(h)
        return out

    def _dense(self, query: str, k: int, filters: Filters | None) -> list[tuple[str, float]]:
        """The ``k`` nearest (chunk id, distance) passing ``filters``. Chroma's filtered search is several times
        slower than an unfiltered one, so a broad filter (one that at least 1/``OVERFETCH`` of the chunks pass)
        over-fetches unfiltered and filters on the lexical index's copy of the metadata; a narrower one, or a
        broad one that kept too few, is searched over the ids the lexical index lists (``Store.dense_ids``), and
        only a filter passing more than ``EXACT_LIMIT`` chunks goes through Chroma's ``where``."""
        vector = self.embedder.embed_query(query)
        if filters is None or not filters.active:
            return self.store.dense_ids(vector, k)
        index = self.lexical
        passing = index.count(filters)
        if passing * OVERFETCH >= len(index):  # about k * OVERFETCH * passing / total of the pool pass
            # Near-duplicates (syndicated copies of one story) crowd the nearest chunks, so a broad filter may
            # keep too few of them: a wider over-fetch still costs tens of ms, Chroma's ``where`` seconds.
            for factor in (OVERFETCH, WIDE_OVERFETCH):
                kept, complete = self._overfetch(vector, k, filters, k * factor)
                if complete:
                    return kept
        # Search just the chunks that pass, as the lexical index lists them (Chroma's own filtered search took
        # 0.4–1 s at 100k chunks and 4–7 s for a week at 1M; see ``Store.dense_ids`` for how ids are searched).
        ids = index.matching(filters, EXACT_LIMIT) if passing <= EXACT_LIMIT else None
        if ids is None:
            return self.store.dense_ids(vector, k, filters)
        found = self.store.dense_ids(vector, k, ids=ids)
        if len(found) < k:  # too few listed: the index may lack what another writer added since it caught up
            more, _ = self._overfetch(vector, k, filters, k * OVERFETCH)
            found = sorted(dict(more + found).items(), key=lambda item: item[1])[:k]
        return found

    def _overfetch(self, vector: np.ndarray, k: int, filters: Filters, n: int) -> tuple[list[tuple[str, float]], bool]:
        """Of the unfiltered ``n`` nearest, those passing ``filters``, at most ``k``, and whether that is all the
        search can give (``k`` of them, or the store holds fewer than ``n`` chunks)."""
        pool = self.store.dense_ids(vector, n)
        about = self._describe([cid for cid, _ in pool])
        kept = [(cid, d) for cid, d in pool if cid in about and filters.matches(about[cid][1], about[cid][2])]
        return kept[:k], len(kept) >= k or len(pool) < n

    def _describe(self, ids: list[str]) -> dict[str, tuple[str, dt.date | None, str]]:
        """(article id, publication date, outlet) per chunk id, from the lexical index; chunks it does not
        know (another writer added them since it caught up) are read from the store; vanished ids are left out."""
        wanted = list(dict.fromkeys(ids))
        out = self.lexical.describe(wanted)
        for c in self.store.get_chunks([cid for cid in wanted if cid not in out]):
            out[c.id] = (c.article_id, c.published, c.outlet.lower())
        return out

    def _anchor(self, filters: Filters | None) -> dt.date | None:
        if filters is not None and filters.until is not None:
            return filters.until
        return self.lexical.newest_day()


def _first_sync_wait(index: LexicalIndex) -> float:
    """An empty index must be built before it can answer; one that has content may leave catching up to the
    process holding its writer (that process is keeping it current) and search what it has."""
    return 600.0 if len(index) == 0 else 0.0
