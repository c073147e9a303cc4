"""The fault suite's tools: small corpora, a store's audited contents, and long-lived ingest workers.

``audit`` reads a store the way the issue defines "nothing lost": its committed articles and their content
hashes, the chunk ids that belong to them, chunks that belong to nothing, committed articles missing a
chunk, and chunks whose vector cannot be read or is not found by a search with itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from rag.search.store import Store
from tests.conftest import PROJECT, cli_env, make_settings, write

WORDS = (
    "council budget election storm ferry court ruling vote senator market shares rally protest drought harvest "
    "flood bridge school teacher hospital nurse airline strike union contract tariff port mayor river museum"
).split()


def corpus(path: Path, n: int, *, prefix: str = "syn", seed: int = 7) -> Path:
    """A JSONL file of ``n`` short articles (one chunk each), every sentence unique, ids ``prefix-0000``."""
    rng = random.Random(f"{prefix}-{seed}")
    lines = []
    for i in range(n):
        sents = [
            f"The {rng.choice(WORDS)} {rng.choice(WORDS)} in district {rng.randint(1, 999)} "
            f"affected {rng.randint(100, 99999)} people in {prefix} report {i}, officials said."
            for _ in range(3)
        ]
        record = {"id": f"{prefix}-{i:04d}", "title": f"{prefix} report {i}", "published": "2024-10-01"}
        lines.append(json.dumps({**record, "text": " ".join(sents)}))
    return write(path, "\n".join(lines) + "\n")


@dataclass
class Audit:
    """What a store holds, checked chunk by chunk."""

    articles: dict[str, str]  #: committed article id → content hash
    chunks: set[str]  #: ids of chunks that belong to a committed article's version
    stray: int  #: stored chunks belonging to no committed article (orphans)
    incomplete: list[str]  #: committed articles missing one of their chunks
    lost_vectors: int  #: chunks whose vector cannot be read, or is not found searching with itself

    def lost(self, clean: Audit) -> dict[str, int]:
        """Differences from a clean ingest of the same inputs: every count must be zero."""
        return {
            "articles lost": len(clean.articles.keys() - self.articles.keys()),
            "hashes differ": sum(self.articles[a] != h for a, h in clean.articles.items() if a in self.articles),
            "chunks lost": len(clean.chunks - self.chunks),
            "vectors lost": self.lost_vectors,
            "extra or stray": len(self.articles.keys() - clean.articles.keys())
            + len(self.chunks - clean.chunks)
            + self.stray
            + len(self.incomplete),
        }


def audit(store: Store) -> Audit:
    committed = store.committed()
    if not store.exists():
        return Audit({}, set(), 0, [], 0)
    raw = store._chunks.get(include=["metadatas"])
    members: set[str] = set()
    have: Counter[str] = Counter()
    stray = 0
    for cid, meta in zip(raw["ids"], raw["metadatas"], strict=True):
        record = committed.get(str(meta["article_id"]))
        if record and meta.get("content_hash") == record.content_hash and int(meta["index"]) < record.n_chunks:
            members.add(cid)
            have[record_id(cid)] += 1
        else:
            stray += 1
    incomplete = [aid for aid, c in committed.items() if have[aid] != c.n_chunks]
    return Audit(
        {aid: c.content_hash for aid, c in committed.items()},
        members,
        stray,
        incomplete,
        _lost_vectors(store, sorted(members)),
    )


def record_id(chunk_id: str) -> str:
    return chunk_id.rsplit(":", 1)[0]


def _lost_vectors(store: Store, ids: list[str]) -> int:
    lost = 0
    for s in range(0, len(ids), 100):
        part = ids[s : s + 100]
        try:
            got = store._chunks.get(ids=part, include=["embeddings"])
            vectors = dict(zip(got["ids"], got["embeddings"], strict=True))
        except Exception:  # the corruption this suite guards against: "Error finding id"
            vectors = {}
            for cid in part:
                with contextlib.suppress(Exception):
                    vectors[cid] = store._chunks.get(ids=[cid], include=["embeddings"])["embeddings"][0]
        found = [cid for cid in part if cid in vectors]
        lost += len(part) - len(found)
        if found:
            res = store._chunks.query(query_embeddings=[list(vectors[c]) for c in found], n_results=3, include=[])
            lost += sum(cid not in near for cid, near in zip(found, res["ids"], strict=True))
    return lost


def audit_dir(data_dir: Path, embedder: LocalMiniLM, **settings: Any) -> Audit:
    """Audit the store under ``data_dir`` (or on the Chroma server named in ``settings``)."""
    return audit(
        Pipeline.from_settings(make_settings(data_dir.parent, data_dir=data_dir, **settings), embedder=embedder).store
    )


_CLEAN: dict[tuple[str, ...], Audit] = {}


def clean(paths: list[Path], embedder: LocalMiniLM, tmp: Path) -> Audit:
    """The reference: a fresh ingest of ``paths`` in one uninterrupted run (cached per input list)."""
    key = tuple(str(p) for p in paths)
    if key not in _CLEAN:
        data = tmp / f"clean-{len(_CLEAN)}"
        p = Pipeline.from_settings(make_settings(tmp, data_dir=data), embedder=embedder)
        p.ingest(paths)
        _CLEAN[key] = audit(p.store)
    return _CLEAN[key]


@dataclass
class Results:
    """Rows of the "what was lost" table: fault class → runs and summed losses."""

    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, fault: str, lost: dict[str, int]) -> None:
        row = self.rows.setdefault(fault, {"runs": 0})
        row["runs"] += 1
        for k, v in lost.items():
            row[k] = row.get(k, 0) + v

    def table(self) -> str:
        cols = ["runs", "articles lost", "hashes differ", "chunks lost", "vectors lost", "extra or stray"]
        lines = ["| fault | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for fault, row in self.rows.items():
            lines.append(f"| {fault} | " + " | ".join(str(row.get(c, 0)) for c in cols) + " |")
        return "\n".join(lines)


class Worker:
    """``python -m tests.faultworker``: one ingest process, many commands, events read with timeouts."""

    def __init__(self, tmp: Path, **env: str) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faultworker"],
            env=cli_env(tmp, **env),
            cwd=PROJECT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(tmp / "worker.log").open("a"),
            text=True,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._ready = False

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put({"event": "exit"})

    def send(self, **cmd: Any) -> None:
        if not self._ready:
            self.until("ready")
            self._ready = True
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd, default=str) + "\n")  # paths as strings
        self.proc.stdin.flush()

    def next(self, timeout: float = 600) -> dict[str, Any]:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event from the ingest worker in {timeout}s") from None

    def until(self, *kinds: str, timeout: float = 600) -> dict[str, Any]:
        """The next event of one of ``kinds`` (an unexpected exit fails)."""
        while True:
            event = self.next(timeout)
            if event["event"] in kinds:
                return event
            if event["event"] == "exit":
                raise AssertionError(f"the ingest worker exited while waiting for {kinds}")

    def finish(self) -> dict[str, Any]:
        return self.until("done", "error")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(predicate: Any, timeout: float = 600, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def without_caps(caps: str, needs: str) -> list[str]:
    """The command prefix that drops these capabilities (``setpriv``'s ``-cap,-cap`` list) when running as root,
    who otherwise reads and writes anywhere; [] for anyone else. Skips the test when root has no setpriv."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip(f"as root, {needs} needs setpriv(1) to drop CAP_DAC_OVERRIDE")
    return ["setpriv", "--bounding-set", caps]
