"""A long-lived ingest process for the fault suite: loads the model once, then runs the commands it reads.

One JSON command per stdin line: ``{"data_dir", "paths", "chroma_url"?, "collection"?, "wait"?, "prune"?}``
runs an ingest through the library, as ``rag ingest`` does; ``"repair_only": true`` runs just a starting run's
repair. Events go to stdout, one JSON line each: ``ready``;
``progress`` after every committed group (the signal the suite kills on, rather than a sleep); then ``done``
with the report, or ``error`` with the one-line message. Repeated rounds pay no start-up cost.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from rag.settings import Settings


def emit(event: str, **data: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def main() -> None:
    embedder = LocalMiniLM()
    embedder.embed(["warm up"])
    emit("ready")
    for line in sys.stdin:
        cmd = json.loads(line)
        settings = Settings.from_env(
            env={},
            data_dir=Path(cmd["data_dir"]),
            chroma_url=cmd.get("chroma_url", ""),
            collection=cmd.get("collection", "news"),
            corpus_dir=Path(cmd["data_dir"]) / "no-corpus",
        )
        try:
            pipeline = Pipeline.from_settings(settings, embedder=embedder, generator=_NoAnswers())
            if cmd.get("repair_only"):
                with pipeline.store.writing():
                    emit("done", added=0, unchanged=0, repaired=pipeline.store.repair())
                continue
            report = pipeline.ingest(
                [Path(p) for p in cmd["paths"]],
                prune=cmd.get("prune", False),
                progress=lambda done, total: emit("progress", done=done, total=total),
                on_wait=(lambda message: emit("waiting", message=message)) if cmd.get("wait") else None,
            )
        except RagError as exc:
            emit("error", kind=type(exc).__name__, message=str(exc))
            continue
        emit("done", added=report.added, unchanged=report.unchanged, repaired=report.repaired_chunks)


class _NoAnswers:
    name = "none"

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the fault worker only ingests")


if __name__ == "__main__":
    main()
