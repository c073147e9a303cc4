"""Intake: what a user hands in to be ingested (files, folders, article URLs, a feeds file, uploaded files)
turned into one stream of ``Article | Skipped``, ingested, and reported in the shape ``rag ingest --json`` prints.

``rag ingest`` and the web page's "Add articles" both come through here, so both get the same loader, skip
reasons and size limits, the same fetching of pages, and the same ingest run (writer lock, repair, sample
removal). An uploaded file is written to a private temporary folder under its sanitised name and loaded from
there like any file; its articles and skips name it ``upload:<name>``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import Any

from rag.errors import ConfigError
from rag.ingest.ingest import UPLOADED, IngestReport, Progress
from rag.ingest.load import load_file, load_paths
from rag.pipeline import Pipeline
from rag.search.store import Store
from rag.types import Article, Skipped

MAX_NAME = 100  #: characters kept of an uploaded file's name
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class Upload:
    """A file sent over HTTP: the name it was chosen under, and its bytes."""

    name: str
    content: bytes


@dataclass(frozen=True)
class Inputs:
    """What one ingest reads: files and folders, article URLs, a feeds file to poll, and uploaded files."""

    paths: tuple[Path, ...] = ()
    urls: tuple[str, ...] = ()
    feeds: Path | None = None
    uploads: tuple[Upload, ...] = ()
    prune: bool = False
    rebuild: bool = False

    @classmethod
    def parse(
        cls, targets: Sequence[str], *, feeds: Path | None = None, prune: bool = False, rebuild: bool = False
    ) -> Inputs:
        """The inputs of ``rag ingest TARGET...``: http(s) targets are URLs, the rest paths that must exist.
        ``ConfigError`` when there is nothing to read, a path is missing, or pruning would reach a URL."""
        urls = tuple(t for t in targets if t.startswith(("http://", "https://")))
        inputs = cls(tuple(Path(t) for t in targets if t not in urls), urls, feeds, prune=prune, rebuild=rebuild)
        inputs.check()
        return inputs

    def check(self) -> None:
        if not self.paths and not self.urls and not self.feeds and not self.uploads:
            raise ConfigError("nothing to ingest: give files, folders, URLs or --feeds FILE")
        missing = [p for p in self.paths if not p.exists()]
        if missing:
            raise ConfigError(f"no such file or folder: {missing[0]}")
        if self.prune and (self.urls or self.feeds or self.uploads):
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
    with contextlib.ExitStack() as stack:
        folder = (
            Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rag-upload-"))) if inputs.uploads else None
        )
        return pipeline.ingest_items(
            items(pipeline, inputs, folder),
            prune=inputs.prune,
            rebuild=inputs.rebuild,
            progress=progress,
            on_skip=on_skip,
            on_wait=on_wait,
        )


def items(pipeline: Pipeline, inputs: Inputs, folder: Path | None = None) -> Iterable[Article | Skipped]:
    """The item stream of ``inputs`` (uploads are written under ``folder``, a private temporary folder). A bad
    feeds file is a ``ConfigError`` here, before anything is read."""
    settings = pipeline.settings
    state = settings.feeds_state_path
    if inputs.rebuild:
        state.unlink(missing_ok=True)  # the poll state must not claim articles the rebuilt store lacks
    stream: Iterable[Article | Skipped] = load_paths(inputs.paths, settings.max_article_bytes)
    if inputs.uploads:
        if folder is None:
            raise ValueError("uploads need a folder to be written to")
        stream = chain(stream, uploaded(inputs.uploads, folder, settings.max_article_bytes))
    if inputs.urls or inputs.feeds:
        from rag.ingest.feeds import fetch_urls, load_feeds_file, nothing_known, poll_feeds, stored_links

        if inputs.urls:
            stream = chain(stream, fetch_urls(inputs.urls, state))
        if inputs.feeds:
            config = load_feeds_file(inputs.feeds)
            known = nothing_known if inputs.rebuild else stored_links(pipeline.store)
            stream = chain(stream, poll_feeds(config, state, known=known))
    return stream


def uploaded(uploads: Iterable[Upload], folder: Path, max_bytes: int) -> Iterator[Article | Skipped]:
    """The articles of uploaded files, each loaded by ``rag.ingest.load.load_file`` from a copy under ``folder``."""
    for n, upload in enumerate(uploads):
        name = safe_name(upload.name)
        path = folder / str(n) / name  # a folder each: two uploads of one name do not overwrite each other
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_bytes(upload.content)
        try:
            for item in load_file(path, PurePosixPath(name), max_bytes):
                yield _renamed(item, str(path), f"{UPLOADED}{name}")
        finally:
            path.unlink(missing_ok=True)


def safe_name(name: str) -> str:
    """An uploaded file's name as stored: its last path part, letters, digits and ``._ -`` only, never
    hidden or empty; the suffix (which says how to read the file) is kept."""
    base = re.split(r"[/\\]", name)[-1]
    clean = _UNSAFE.sub("-", base).strip(" .-") or "upload"
    suffix = PurePosixPath(clean).suffix
    if len(clean) > MAX_NAME:
        clean = clean[: MAX_NAME - len(suffix)].rstrip(" .-") + suffix
    return clean


def _renamed(item: Article | Skipped, path: str, source: str) -> Article | Skipped:
    """``item`` with the temporary path it was read from replaced by ``source`` (``upload:<name>``)."""
    if isinstance(item, Skipped):
        return Skipped(item.source.replace(path, source, 1), item.reason.replace(path, source))
    return dataclasses.replace(item, source=item.source.replace(path, source, 1))


def report_dict(report: IngestReport, store: Store) -> dict[str, Any]:
    """What ``rag ingest --json`` prints and ``POST /api/ingest`` answers: the report, then the store's counts."""
    data = {k: v for k, v in vars(report).items() if k not in {"skipped", "duplicates"}}
    data["skipped"] = [{"source": s.source, "reason": s.reason} for s in report.skipped]
    data["duplicates"] = [{"source": s, "duplicate_of": d} for s, d in report.duplicates]
    data["store"] = {"articles": store.count_articles(), "chunks": store.count_chunks()}
    return data
