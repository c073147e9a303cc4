"""Intake: what a user hands in to be ingested (files, folders, article URLs, a feeds file) turned into one
stream of ``Article | Skipped``, ingested, and reported in the shape ``rag ingest --json`` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.ingest import IngestReport, Progress
from rag.load import load_paths
from rag.pipeline import Pipeline
from rag.store import Store
from rag.types import Article, Skipped


@dataclass(frozen=True)
class Inputs:
    """What one ingest reads: files and folders, article URLs and a feeds file to poll."""

    paths: tuple[Path, ...] = ()
    urls: tuple[str, ...] = ()
    feeds: Path | None = None
    prune: bool = False
    rebuild: bool = False

    @classmethod
    def parse(
        cls, targets: Sequence[str], *, feeds: Path | None = None, prune: bool = False, rebuild: bool = False
    ) -> Inputs:
        """The inputs of ``rag ingest TARGET...``: http(s) targets are URLs, the rest paths that must exist.
        ``ConfigError`` when there is nothing to read, a path is missing, or pruning would reach a URL."""
        urls = tuple(t for t in targets if t.startswith(("http://", "https://")))
        inputs = cls(tuple(Path(t) for t in targets if t not in urls), urls, feeds, prune, rebuild)
        inputs.check()
        return inputs

    def check(self) -> None:
        if not self.paths and not self.urls and not self.feeds:
            raise ConfigError("nothing to ingest: give files, folders, URLs or --feeds FILE")
        missing = [p for p in self.paths if not p.exists()]
        if missing:
            raise ConfigError(f"no such file or folder: {missing[0]}")
        if self.prune and (self.urls or self.feeds):
            raise ConfigError("--prune works with files and folders only (fetched articles are never pruned)")


def ingest(
    pipeline: Pipeline,
    inputs: Inputs,
    *,
    progress: Progress | None = None,
    on_skip: Callable[[Skipped], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> IngestReport:
    """Read ``inputs`` into ``pipeline``'s store. A store another run is writing raises ``StoreBusyError`` at
    once, or is waited for when ``on_wait`` is given."""
    inputs.check()
    return pipeline.ingest_items(
        items(pipeline, inputs),
        prune=inputs.prune,
        rebuild=inputs.rebuild,
        progress=progress,
        on_skip=on_skip,
        on_wait=on_wait,
    )


def items(pipeline: Pipeline, inputs: Inputs) -> Iterable[Article | Skipped]:
    """The item stream of ``inputs``. A bad feeds file is a ``ConfigError`` here, before anything is read."""
    settings = pipeline.settings
    state = settings.feeds_state_path
    if inputs.rebuild:
        state.unlink(missing_ok=True)  # the poll state must not claim articles the rebuilt store lacks
    stream: Iterable[Article | Skipped] = load_paths(inputs.paths, settings.max_article_bytes)
    if inputs.urls or inputs.feeds:
        from rag.feeds import fetch_urls, load_feeds_file, poll_feeds

        if inputs.urls:
            stream = chain(stream, fetch_urls(inputs.urls, state))
        if inputs.feeds:
            config = load_feeds_file(inputs.feeds)
            store = pipeline.store
            known = frozenset(a.url for a in store.iter_articles() if a.url) if not inputs.rebuild else frozenset()
            stream = chain(stream, poll_feeds(config, state, known_urls=known))
    return stream


def report_dict(report: IngestReport, store: Store) -> dict[str, Any]:
    """What ``rag ingest --json`` prints and ``POST /api/ingest`` answers: the report, then the store's counts."""
    data = {k: v for k, v in vars(report).items() if k not in {"skipped", "duplicates"}}
    data["skipped"] = [{"source": s.source, "reason": s.reason} for s in report.skipped]
    data["duplicates"] = [{"source": s, "duplicate_of": d} for s, d in report.duplicates]
    data["store"] = {"articles": store.count_articles(), "chunks": store.count_chunks()}
    return data
