"""Ingestion: load → clean → chunk → embed → store, incrementally and safely re-runnable.

A run holds the right to write (the embedded store's lock, or a lease on a Chroma server; see
``rag.search.writers``) from start to end. It first repairs what a dead run left half-written, then streams its
inputs: an unchanged article (same content hash) is not re-embedded, a changed one replaces its chunks, an
exact duplicate of an article still in place under another id collapses into it, and a file renamed since
the last run moves its article to the new id with its vectors. Articles are committed a group at a time
(see ``rag.search.store``), so a run killed half-way leaves orphans that the next run's repair deletes before it
completes the work. ``prune`` drops stored articles that are no longer in the inputs, except under any path
that was skipped or unreadable this run.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.ingest.chunk import Splitter
from rag.ingest.load import content_hash, load_file, text_hash, too_big
from rag.search.embed import Embedder
from rag.search.lexical import Indexed, LexicalIndex
from rag.search.store import Store
from rag.search.storerecords import ArticleWrite, Committed
from rag.settings import MAX_ARTICLE_BYTES
from rag.types import Article, Skipped

#: Articles embedded per model call group: enough chunks for length-sorted batching to pay off...
GROUP = 24
#: ...and at most this much text, so one group's chunks and vectors stay small whatever the articles.
GROUP_BYTES = 4_000_000
#: Text held before embedding starts: most inputs fit, so the total is known up front; a larger input is
#: embedded as it streams in, so memory stays bounded.
BUFFER_BYTES = 32_000_000
#: The source of an uploaded file's article (``upload:<name>``): like a URL, there is no file to read again.
UPLOADED = "upload:"


@dataclass
class IngestReport:
    """What one ingest run did; ``skipped`` non-empty means some input was not ingested."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    renamed: int = 0  #: inputs found to be a renamed file: the article moves to the new id with its vectors
    pruned: int = 0
    not_pruned: int = 0  #: gone from the inputs, but kept: their path was skipped or unreadable this run
    repaired_chunks: int = 0
    chunks: int = 0
    embedded_tokens: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    sample_removed: int = 0  #: bundled sample articles removed: the store now holds the user's own
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
        if self.renamed:
            extras.append(f"{self.renamed} renamed (vectors kept)")
        if self.pruned:
            extras.append(f"{self.pruned} pruned")
        if self.not_pruned:
            extras.append(f"{self.not_pruned} kept despite --prune because their path was skipped this run")
        if self.duplicates:
            extras.append(f"{len(self.duplicates)} exact duplicate(s) collapsed")
        if self.repaired_chunks:
            extras.append(f"{self.repaired_chunks} orphaned chunk(s) from an interrupted run removed")
        if self.skipped:
            extras.append(f"{len(self.skipped)} input(s) skipped")
        if self.sample_removed:
            extras.append(f"the bundled sample ({self.sample_removed} article(s)) removed: the store holds yours now")
        return head + ("; " + ", ".join(extras) if extras else "")


Progress = Callable[[int, int], None]  # (articles done, articles to do so far)


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
    on_wait: Callable[[str], None] | None = None,
    max_bytes: int = MAX_ARTICLE_BYTES,
    lexical: LexicalIndex | None = None,
    sample: Collection[str] = (),
) -> IngestReport:
    """Ingest already-loaded articles (files, feeds, datasets all come through here).

    A store another run is writing raises StoreBusyError at once, or is waited for when ``on_wait`` is given
    (it is told why). Articles over ``max_bytes`` of text are skipped. ``lexical`` is told of each commit and
    deletion (it would otherwise catch up by itself on its next sync). ``sample`` names the bundled sample's
    article ids: a store holding only those loses them once this run adds an article of the user's own."""
    with store.writing(on_wait):
        run = _Run(store, embedder, chunker, progress, on_skip, max_bytes, lexical)
        only_sample = set() if rebuild else sample_only(store, sample)  # a rebuild starts from nothing
        report = run.go(items, prune=prune, rebuild=rebuild)
        mine = [aid for aid in run.added_ids if aid not in only_sample]
        if only_sample and mine and not only_sample & set(run.claimed):  # not when the sample was an input too
            run._delete(sorted(only_sample))
            report.sample_removed = len(only_sample)
        return report


def sample_only(store: Store, sample: Collection[str]) -> set[str]:
    """The sample's stored ids when the store holds nothing else (cheap: a count and a lookup by id), else
    an empty set."""
    if not sample:
        return set()
    n = store.count_articles()
    if not n or n > len(sample):
        return set()
    present = set(store.records(sorted(sample)))
    return present if len(present) == n else set()


@dataclass
class _Todo:
    article: Article
    content_hash: str
    text_hash: str
    size: int  #: bytes of text
    moved_from: str | None  #: a stored article with the same text whose file was renamed to this one
    existed: bool  #: a committed version was stored before this run (an update, not an addition)


#: Record lookups a run makes one at a time before it reads every record at once instead.
LOOKUPS = 200


class _Known:
    """The store's committed records as one run needs them. A small run (a feed poll adding a few articles)
    looks each input up by id and by text hash, so adding an article costs O(article), not O(store); after
    ``LOOKUPS`` lookups, one read of every record is cheaper, and a prune needs them all anyway."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._by_id: dict[str, Committed | None] = {}
        self._by_text: dict[str, str | None] = {}
        self._all: dict[str, Committed] | None = None
        self._lookups = 0

    def _lookup(self) -> bool:
        """Count a lookup; whether every record is now in memory."""
        self._lookups += 1
        if self._all is None and self._lookups > LOOKUPS:
            self.all()
        return self._all is not None

    def get(self, article_id: str) -> Committed | None:
        if article_id not in self._by_id and not self._lookup():
            self._by_id[article_id] = self.store.records([article_id]).get(article_id)
        if self._all is not None and article_id not in self._by_id:
            return self._all.get(article_id)
        return self._by_id[article_id]

    def holding(self, t_hash: str) -> str | None:
        """A committed article with this text, if any (the latest committed when several are)."""
        if t_hash not in self._by_text and not self._lookup():
            found = self.store.records_with_text(t_hash)
            self._by_id.update(found)
            self._by_text[t_hash] = max(found, key=lambda a: (found[a].committed_at, a)) if found else None
        return self._by_text.get(t_hash)

    def all(self) -> dict[str, Committed]:
        """Every committed record (read once; what the run looked up before keeps its first answer)."""
        if self._all is None:
            self._all = self.store.committed()
            for aid, c in sorted(self._all.items(), key=lambda kv: kv[1].committed_at):
                self._by_text.setdefault(c.text_hash, aid)
            for aid in self._all:
                self._by_id.setdefault(aid, self._all[aid])
        return self._all


class _Run:
    """One ingest run's decisions: which input is new, changed, unchanged, a duplicate or a rename."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        chunker: Splitter,
        progress: Progress | None,
        on_skip: Callable[[Skipped], None] | None,
        max_bytes: int,
        lexical: LexicalIndex | None = None,
    ) -> None:
        self.store, self.embedder, self.chunker, self.lexical = store, embedder, chunker, lexical
        self.progress, self.on_skip, self.max_bytes = progress, on_skip, max_bytes
        self.report = IngestReport()
        self.known = _Known(store)  #: the store's committed records, looked up as needed
        self.by_text: dict[str, str] = {}  #: text hash → the article id of this run's input holding that text
        self.claimed: dict[str, tuple[str, str]] = {}  #: this run's ids → (source, text hash)
        self.keep: set[str] = set()  #: stored articles duplicated by this run's inputs: not pruned
        self.moved: set[str] = set()  #: stored ids whose file was renamed this run
        self.sources: dict[str, str] = {}  #: unchanged articles now read from another path
        self.skip_paths: list[Path] = []
        self.held: dict[str, str] = {}  #: stored id → text hash its file reads as now (see ``holds``)
        self.pending: list[_Todo] = []
        self.pending_bytes = 0
        self.done = 0
        self.started = False
        self.added_ids: list[str] = []  #: articles this run added (not updates)

    def go(self, items: Iterable[Article | Skipped], *, prune: bool, rebuild: bool) -> IngestReport:
        t0 = time.perf_counter()
        if rebuild:
            self.store.reset()
            if self.lexical is not None:
                self.lexical.reset()
        self.report.repaired_chunks = self.store.repair_if_needed()
        for item in items:
            self.take(item)
            if self.pending_bytes > BUFFER_BYTES:
                self.flush(until=BUFFER_BYTES // 2)
        self.flush(until=0)
        self.store.update_sources(self.sources)
        renamed = [aid for aid in self.moved if aid not in self.claimed]  # old ids no file holds any more
        self._delete(renamed)
        if prune:
            self.prune(renamed)
        self.report.seconds = time.perf_counter() - t0
        return self.report

    def skip(self, item: Skipped) -> None:
        self.report.skipped.append(item)
        path = _source_path(item.source)
        if path is not None:
            self.skip_paths.append(path)
        if self.on_skip:
            self.on_skip(item)

    def take(self, item: Article | Skipped) -> None:
        if isinstance(item, Skipped):
            self.skip(item)
            return
        size = len(item.text.encode())
        if size > self.max_bytes:
            self.skip(Skipped(item.source, too_big(size, self.max_bytes)))
            return
        if item.id in self.claimed:
            self.skip(Skipped(item.source, f"id {item.id!r} already used by {self.claimed[item.id][0]}"))
            return
        t_hash = text_hash(item.text)
        self.claimed[item.id] = (item.source, t_hash)
        twin = self.by_text.get(t_hash) or self.known.holding(t_hash)
        moved_from = None
        if twin is not None and twin != item.id:
            if self.holds(twin, t_hash):
                self.report.duplicates.append((item.source, twin))
                self.keep.add(twin)
                return
            moved_from = twin  # the file that held this text now holds another, or is gone: a rename
            self.moved.add(twin)
            self.report.renamed += 1
        self.by_text[t_hash] = item.id
        c_hash = content_hash(item)
        old = self.known.get(item.id)
        if old is not None and old.content_hash == c_hash:
            self.report.unchanged += 1
            if old.source != item.source:
                self.sources[item.id] = item.source
            return
        self.pending.append(_Todo(item, c_hash, t_hash, size, moved_from, old is not None))
        self.pending_bytes += size

    def holds(self, article_id: str, t_hash: str) -> bool:
        """Whether ``article_id`` still holds this text: claimed with it this run, or its file still reads
        so (a URL cannot be checked and counts as holding it)."""
        if article_id in self.claimed:
            return self.claimed[article_id][1] == t_hash
        if article_id not in self.held:
            record = self.known.get(article_id)
            self.held[article_id] = self._reread(record.source) if record is not None else ""
        return self.held[article_id] == t_hash or self.held[article_id] == "?"

    def _reread(self, source: str) -> str:
        """The text hash the stored source reads as now: "" when it is gone, "?" when it cannot be checked."""
        path = _source_path(source)
        if path is None:
            return "?"
        if not path.exists():
            return ""
        line = source.rsplit(":", 1)[1] if str(path) != source and ":" in source else None
        for item in load_file(path, max_bytes=self.max_bytes):
            if line is None or item.source.endswith(f":{line}"):
                return text_hash(item.text) if isinstance(item, Article) else "?"
        return ""

    def flush(self, until: int) -> None:
        """Embed and commit pending articles, a group at a time, until at most ``until`` bytes are pending."""
        while self.pending and (until == 0 or self.pending_bytes > until):
            if not self.started and self.progress:
                self.progress(0, len(self.pending))
            self.started = True
            n, size = 1, self.pending[0].size
            while n < min(GROUP, len(self.pending)) and size + self.pending[n].size <= GROUP_BYTES:
                size += self.pending[n].size
                n += 1
            group, self.pending = self.pending[:n], self.pending[n:]
            self.pending_bytes -= size
            self.commit(group)
            self.done += len(group)
            if self.progress:
                self.progress(self.done, self.done + len(self.pending))

    def commit(self, group: list[_Todo]) -> None:
        writes: list[ArticleWrite] = []
        fresh: list[_Todo] = []
        for todo in group:
            reused = None
            if todo.moved_from is not None:
                reused = self.store.moved(todo.moved_from, todo.article, todo.content_hash, todo.text_hash)
            if reused is not None:
                writes.append(reused)
            else:
                fresh.append(todo)
        chunked = [(t, self.chunker.split(t.article)) for t in fresh]
        texts = [self.chunker.embed_input(c) for _, chunks in chunked for c in chunks]
        t0 = time.perf_counter()
        vectors = self.embedder.embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        self.report.embed_seconds += time.perf_counter() - t0
        offset = 0
        for todo, chunks in chunked:
            part = vectors[offset : offset + len(chunks)] if chunks else np.zeros((0, 1), dtype=np.float32)
            writes.append(ArticleWrite(todo.article, chunks, part, todo.content_hash, todo.text_hash))
            offset += len(chunks)
            self.report.chunks += len(chunks)
            self.report.embedded_tokens += sum(c.n_tokens for c in chunks)
        stamp = self.store.put_articles(writes)
        if self.lexical is not None:
            self.lexical.add(Indexed(w.article.id, w.content_hash, stamp, w.chunks) for w in writes)
        for todo in group:
            self.report.updated += todo.existed
            self.report.added += not todo.existed
            if not todo.existed:
                self.added_ids.append(todo.article.id)

    def prune(self, renamed: list[str]) -> None:
        """Delete stored articles no input claimed, except those under a path skipped this run."""
        stored = self.known.all()
        gone = [aid for aid in stored if aid not in self.claimed and aid not in self.keep and aid not in renamed]
        kept = [aid for aid in gone if self.under_skip(stored[aid].source)]
        self._delete([aid for aid in gone if aid not in kept])
        self.report.pruned = len(gone) - len(kept)
        self.report.not_pruned = len(kept)

    def _delete(self, ids: list[str]) -> None:
        self.store.delete_articles(ids)
        if self.lexical is not None and ids:
            self.lexical.delete(ids)

    def under_skip(self, source: str) -> bool:
        path = _source_path(source)
        return path is not None and any(path == s or s in path.parents for s in self.skip_paths)


def _source_path(source: str) -> Path | None:
    """The file or folder a source names (``path:line`` for a JSONL record), resolved; None for a URL or an
    upload."""
    if not source or source.startswith(UPLOADED) or re.match(r"[a-z][a-z0-9+.-]*://", source):
        return None
    m = re.fullmatch(r"(.+):(\d+)", source)
    path = m.group(1) if m and not os.path.exists(source) else source
    return Path(os.path.realpath(path))
