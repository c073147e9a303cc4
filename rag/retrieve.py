"""Retrieval: hybrid dense (Chroma) + lexical (BM25) search, fused by weighted reciprocal rank, filtered
by date range and outlet, with per-article diversity.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from rag.embed import Embedder
from rag.lexical import LexicalIndex, load_index
from rag.store import Store
from rag.types import Chunk, Filters, Hit


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

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            self._lexical = load_index(self.store, self._cache_dir)
        return self._lexical

    def refresh(self) -> None:
        """Forget the lexical index (after an ingest), to be rebuilt or reloaded on next use."""
        self._lexical = None

    def search(self, query: str, k: int = 6, filters: Filters | None = None, mode: str | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``query``; ``mode`` overrides the configured hybrid/dense/lexical."""
        cfg = self.config
        mode = mode or cfg.mode
        dense: list[tuple[Chunk, float]] = []
        lexical: list[tuple[str, float]] = []
        if mode in {"hybrid", "dense"}:
            dense = self.store.dense(self.embedder.embed_query(query), cfg.candidates, filters)
        if mode in {"hybrid", "lexical"}:
            lexical = self.lexical.search(query, cfg.candidates, filters)
        chunks = {c.id: c for c, _ in dense}
        missing = [cid for cid, _ in lexical if cid not in chunks]
        chunks.update({c.id: c for c in self.store.get_chunks(missing)})

        dense_rank = {c.id: r for r, (c, _) in enumerate(dense, start=1)}
        lexical_rank = {cid: r for r, (cid, _) in enumerate(lexical, start=1)}
        fused: dict[str, float] = {}
        for cid, r in dense_rank.items():
            fused[cid] = fused.get(cid, 0.0) + cfg.dense_weight / (cfg.rrf_k + r)
        for cid, r in lexical_rank.items():
            fused[cid] = fused.get(cid, 0.0) + cfg.lexical_weight / (cfg.rrf_k + r)
        if cfg.recency_weight > 0:
            anchor = self._anchor(filters)
            for cid in fused:
                published = chunks[cid].published if cid in chunks else None
                if anchor is not None and published is not None:
                    age = max(0, (anchor - published).days)
                    fused[cid] += cfg.recency_weight * 0.5 ** (age / cfg.half_life_days) / (cfg.rrf_k + 1)
        order = sorted((cid for cid in fused if cid in chunks), key=lambda cid: -fused[cid])

        # Diversity: each article's best chunks first (up to ``per_article``), its further chunks after
        # every other article's, so a one-article corpus still fills ``k`` but many articles spread out.
        first: list[str] = []
        rest: list[str] = []
        per_article: dict[str, int] = {}
        for cid in order:
            seen = per_article.get(chunks[cid].article_id, 0)
            (first if seen < cfg.per_article else rest).append(cid)
            per_article[chunks[cid].article_id] = seen + 1
        hits = [Hit(chunks[cid], fused[cid], dense_rank.get(cid), lexical_rank.get(cid)) for cid in (first + rest)[:k]]
        return hits

    def _anchor(self, filters: Filters | None) -> dt.date | None:
        if filters is not None and filters.until is not None:
            return filters.until
        days = self.lexical.days
        newest = int(days.max()) if len(days) else -1
        return dt.date(1970, 1, 1) + dt.timedelta(days=newest) if newest >= 0 else None
