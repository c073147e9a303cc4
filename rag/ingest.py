"""Ingestion: load → clean → chunk → embed → store, incrementally and safely re-runnable.

Unchanged articles (same content hash) are not re-embedded; a changed article replaces its chunks; exact
duplicates under another id collapse into the first; ``prune`` drops stored articles that are no longer in
the inputs. Each article is committed on its own (see ``rag.store``), so a run killed half-way leaves
orphans that the next run's ``repair`` deletes before it completes the work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rag.chunk import Budget, Chunker, Splitter
from rag.embed import Embedder
from rag.lexical import Indexed, LexicalIndex
from rag.load import Skipped, content_hash, text_hash
from rag.store import ArticleWrite, Store
from rag.types import Article

#: Articles embedded per model call group: enough chunks for length-sorted batching to pay off.
GROUP = 24


@dataclass
class IngestReport:
    """What one ingest run did; ``skipped`` non-empty means some input was not ingested."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0
    repaired_chunks: int = 0
    chunks: int = 0
    embedded_tokens: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    duplicates: list[tuple[str, str]] = field(default_factory=list)  #: (source, id it duplicates)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.added + self.updated

    def summary(self) -> str:
        if not self.changed and not self.pruned:
            head = f"nothing to embed: {self.unchanged} article(s) unchanged"
        else:
            rate = f", {self.embedded_tokens / self.embed_seconds:,.0f} tokens/s" if self.embed_seconds else ""
            head = (
                f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged; "
                f"{self.chunks} chunks embedded in {self.seconds:.1f}s{rate}"
            )
        extras = []
        if self.pruned:
            extras.append(f"{self.pruned} pruned")
        if self.duplicates:
            extras.append(f"{len(self.duplicates)} exact duplicate(s) collapsed")
        if self.repaired_chunks:
            extras.append(f"{self.repaired_chunks} orphaned chunk(s) from an interrupted run removed")
        if self.skipped:
            extras.append(f"{len(self.skipped)} input(s) skipped")
        return head + ("; " + ", ".join(extras) if extras else "")


Progress = Callable[[int, int], None]  # (articles done, articles to do)


def make_chunker(chunk_tokens: int, overlap: int, embedder: Embedder) -> Chunker:
    return Chunker(
        chunk_tokens, overlap, Budget(embedder.count_tokens, embedder.max_tokens, embedder.count_tokens_many)
    )


def index_fingerprint(embedder: Embedder, chunker: Splitter) -> dict[str, str]:
    return {"embedder": embedder.fingerprint, "chunking": chunker.fingerprint}


def ingest_items(
    items: Iterable[Article | Skipped],
    *,
    store: Store,
    embedder: Embedder,
    chunker: Splitter,
    prune: bool = False,
    rebuild: bool = False,
    progress: Progress | None = None,
    on_skip: Callable[[Skipped], None] | None = None,
    lexical: LexicalIndex | None = None,
) -> IngestReport:
    """Ingest already-loaded articles (files, feeds, datasets all come through here). ``lexical`` is told
    of each commit and deletion (it would otherwise catch up by itself on its next sync)."""
    started = time.perf_counter()
    report = IngestReport()
    if rebuild:
        store.reset()
        if lexical is not None:
            lexical.reset()
    report.repaired_chunks = store.repair()
    committed = store.committed()
    by_text = {c.text_hash: aid for aid, c in committed.items()}

    seen: dict[str, str] = {}  # id → source, for this run
    todo: list[tuple[Article, str, str]] = []
    skipped_files: set[str] = set()
    for item in items:
        if isinstance(item, Skipped):
            report.skipped.append(item)
            skipped_files.add(item.source.split(":")[0])
            if on_skip:
                on_skip(item)
            continue
        if item.id in seen:
            skip = Skipped(item.source, f"id {item.id!r} already used by {seen[item.id]}")
            report.skipped.append(skip)
            if on_skip:
                on_skip(skip)
            continue
        seen[item.id] = item.source
        t_hash = text_hash(item.text)
        twin = by_text.get(t_hash)
        if twin is not None and twin != item.id:
            report.duplicates.append((item.source, twin))
            seen.setdefault(twin, item.source)  # keep the twin alive under --prune
            continue
        by_text[t_hash] = item.id
        c_hash = content_hash(item)
        old = committed.get(item.id)
        if old is not None and old.content_hash == c_hash:
            report.unchanged += 1
            continue
        todo.append((item, c_hash, t_hash))

    if progress:
        progress(0, len(todo))
    done = 0
    for g in range(0, len(todo), GROUP):
        group = todo[g : g + GROUP]
        chunked = [(a, chunker.split(a)) for a, _, _ in group]
        t0 = time.perf_counter()
        vectors = embedder.embed([chunker.embed_input(c) for _, chunks in chunked for c in chunks])
        report.embed_seconds += time.perf_counter() - t0
        writes, offset = [], 0
        for (article, chunks), (_, c_hash, t_hash) in zip(chunked, group, strict=True):
            writes.append(ArticleWrite(article, chunks, vectors[offset : offset + len(chunks)], c_hash, t_hash))
            offset += len(chunks)
        stamp = store.put_articles(writes, replace=any(w.article.id in committed for w in writes))
        if lexical is not None:
            lexical.add(Indexed(w.article.id, w.content_hash, stamp, w.chunks) for w in writes)
        for w in writes:
            existed = w.article.id in committed
            report.updated += existed
            report.added += not existed
            report.chunks += len(w.chunks)
            report.embedded_tokens += sum(c.n_tokens for c in w.chunks)
        done += len(writes)
        if progress:
            progress(done, len(todo))

    if prune:
        gone = [aid for aid in committed if aid not in seen and not _from_skipped_file(store, aid, skipped_files)]
        store.delete_articles(gone)
        if lexical is not None:
            lexical.delete(gone)
        report.pruned = len(gone)
    report.seconds = time.perf_counter() - started
    return report


def _from_skipped_file(store: Store, article_id: str, skipped_files: set[str]) -> bool:
    """An article whose file failed to load this time is not gone: --prune must keep it."""
    if not skipped_files:
        return False
    article = store.get_article(article_id)
    return article is not None and article.source.split(":")[0] in skipped_files
