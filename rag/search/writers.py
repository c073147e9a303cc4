"""Who may write a store: one writer at a time on an embedded store, leased runs on a Chroma server.

Embedded Chroma loses vectors when two processes write to it at once, so a writing run holds an exclusive
advisory lock (``flock``) on ``<data dir>/chroma.lock`` from start to end; the kernel drops it when the
process ends, however it ends. A second writer fails at once or waits; readers never take the lock.

A Chroma server can be written from several machines, where no lock can be shared. There each run keeps a
lease record (run id, host, pid, heartbeat) that it renews while it runs, and stamps its run id on everything
it writes. A run is dead when its lease is gone, has not been renewed for ``LEASE_TTL`` seconds, or names a
process on this host that no longer exists; only what dead runs left half-written counts as orphaned.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rag.errors import StoreBusyError, StoreError
from rag.search.storefaults import describe_failure, guard
from rag.settings import Settings

#: A lease not renewed for this long belongs to a dead run (machines' clocks must agree to within it).
LEASE_TTL = 120.0
#: How often a live run renews its lease.
HEARTBEAT = 15.0


class WriteLock:
    """The embedded store's writer lock: an exclusive ``flock`` on a file beside the store."""

    def __init__(self, path: Path, store: str) -> None:
        self.path = path
        self.store = store
        self._fd: int | None = None

    def acquire(self, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the lock; if another process holds it, raise StoreBusyError, or wait when ``on_wait`` is given
        (it is told why first). OSError when the lock file cannot be written."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self.holder(fd)
            if on_wait is None:
                os.close(fd)
                raise StoreBusyError(
                    f"another run ({holder}) is writing to the store at {self.store}; "
                    "wait for it to finish, or re-run with --wait"
                ) from None
            on_wait(f"waiting for another run ({holder}) to finish writing to {self.store}…")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:  # Ctrl-C while waiting
                os.close(fd)
                raise
        with contextlib.suppress(OSError):  # who holds it is only for the message a waiting run prints
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}, since {dt.datetime.now():%H:%M:%S}".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the descriptor releases the flock
        self._fd = None

    @staticmethod
    def holder(fd: int) -> str:
        with contextlib.suppress(OSError):
            text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            if text:
                return text
        return "pid unknown"


class RunMarks:
    """The embedded store's record of runs that have not ended cleanly: a file per run in
    ``<data dir>/chroma.runs/``, written when the run takes the lock and removed when it ends without an
    error. A file whose run is not this one names a run that was killed or failed mid-write: the next run
    repairs. No folder at all means a store written before runs were marked, which is repaired once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def begin(self, run: str, holds_data: Callable[[], bool] = lambda: True) -> None:
        """Mark ``run`` as writing. The first run on a store that already holds data (``holds_data``) also marks
        it for one repair; a new store has nothing from before the marks, and its next run must not scan it all."""
        first = not self.folder.is_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        if first and holds_data():
            (self.folder / "legacy").write_text("repair once: written before runs were marked\n", encoding="utf-8")
        (self.folder / run).write_text(f"pid {os.getpid()}\n", encoding="utf-8")

    def end(self, run: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.folder / run).unlink()

    def unclean(self, current: str | None) -> set[str]:
        if not self.folder.is_dir():
            return set()
        return {p.name for p in self.folder.iterdir() if p.name != current and not p.name.startswith(".")}

    def forget(self, runs: set[str]) -> None:
        for run in runs:
            with contextlib.suppress(FileNotFoundError):
                (self.folder / run).unlink()


class Leases:
    """Run leases kept as records of a Chroma collection (handed over by the store, which owns Chroma)."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection
        self.run: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self, run: str) -> None:
        """Record ``run`` as live and keep renewing it from a background thread until ``release``. The leases
        of dead runs stay until a repair has cleaned up after them (``dead``, ``forget``)."""
        meta = {"host": socket.gethostname(), "pid": os.getpid(), "pstart": _process_start(os.getpid())}
        self.collection.upsert(ids=[run], embeddings=[[1.0]], metadatas=[{**meta, "beat": time.time()}])
        self.run = run
        self._thread = threading.Thread(target=self._renew, name="rag-lease", daemon=True)
        self._thread.start()

    def release(self, *, clean: bool = True) -> None:
        """Stop renewing. A clean end deletes the lease; a run that failed leaves it to expire, so the next
        run sees a dead run and repairs after it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.run is not None and clean:
            with contextlib.suppress(Exception):  # an expired lease is as good as a deleted one
                self.collection.delete(ids=[self.run])
        self.run = None

    def dead(self) -> set[str]:
        """Runs whose lease outlived them: they may have left half-written articles."""
        return set(self.collection.get(include=[])["ids"]) - self.live()

    def forget(self, runs: set[str]) -> None:
        """Drop dead runs' leases once a repair has removed what they left."""
        if runs:
            self.collection.delete(ids=sorted(runs))

    def live(self) -> set[str]:
        """Ids of runs that may still be writing (this one included)."""
        res = self.collection.get(include=["metadatas"])
        now, host = time.time(), socket.gethostname()
        out: set[str] = set()
        for run, meta in zip(res["ids"], res["metadatas"] or [], strict=False):
            meta = meta or {}
            if now - float(meta.get("beat", 0)) > LEASE_TTL:
                continue
            if meta.get("host") == host and not _alive(int(meta.get("pid", 0)), str(meta.get("pstart", ""))):
                continue
            out.add(run)
        return out

    def _renew(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            with contextlib.suppress(Exception):  # a failed renewal shows up in the run's own next write
                self.collection.update(ids=[self.run], metadatas=[{"beat": time.time()}])


class Runs:
    """The runs writing one store. A run holds the right to write (embedded: the writer lock; server: a lease)
    and, embedded, a mark that stays when it does not end cleanly; an unclean run's leftovers are removed by the
    store's repair, which then forgets it."""

    def __init__(self, settings: Settings, client: Any, location: str) -> None:
        self.settings, self.client, self.location = settings, client, location
        self.run: str | None = None  #: this process's run while it holds the right to write
        self.leases: Leases | None = None  #: a server's leases, while this process's run holds one

    @contextlib.contextmanager
    def writing(
        self,
        on_wait: Callable[[str], None] | None = None,
        *,
        alone: bool = False,
        holds_data: Callable[[], bool] = lambda: True,
    ) -> Iterator[str]:
        """Hold the right to write for one run and yield its id, which is stamped on everything it writes.

        Embedded: the store's writer lock for the whole run; a busy store raises StoreBusyError at once, or is
        waited for when ``on_wait`` is given (it is told why). Server: a lease, renewed while the run lives;
        with ``alone``, StoreBusyError when another run holds one. Nested use joins the outer run."""
        if self.run is not None:
            yield self.run
            return
        run = uuid.uuid4().hex[:16]
        release: Callable[[bool], None]
        if self.settings.chroma_url:
            with self._guard("registering a writer with"):
                runs = f"{self.settings.collection}-runs"
                leases = Leases(self.client.get_or_create_collection(runs, embedding_function=None))
                if alone and leases.live():
                    raise StoreBusyError(
                        f"another run is writing to the store at {self.location}; wait for it to finish"
                    )
                leases.take(run)
            self.leases = leases

            def release(clean: bool) -> None:
                leases.release(clean=clean)

        else:
            lock = WriteLock(self.settings.data_dir / "chroma.lock", self.location)
            with self._guard("locking"):
                lock.acquire(on_wait)
            marks = self.marks
            try:
                marks.begin(run, holds_data)
            except OSError as exc:
                lock.release()
                raise StoreError(describe_failure(exc, "locking", self.location, self.settings)) from None

            def release(clean: bool) -> None:
                if clean:
                    marks.end(run)  # a failed run's mark stays: the next run repairs after it
                lock.release()

        self.run = run
        clean = False
        try:
            yield run
            clean = True
        finally:
            self.run, self.leases = None, None
            release(clean)

    @property
    def marks(self) -> RunMarks:
        return RunMarks(self.settings.data_dir / "chroma.runs")

    def unclean(self) -> set[str]:
        """Runs that ended without finishing cleanly (killed, or failed mid-write), whose leftovers a repair
        must remove. Embedded: their marks; server: leases that outlived their runs."""
        if self.leases is not None:
            with self._guard("reading the runs of"):
                return self.leases.dead()
        return set() if self.settings.chroma_url else self.marks.unclean(self.run)

    def require(self) -> str:
        if self.run is None:
            raise RuntimeError("store writes need `with store.writing():` (the writer lock or lease)")
        return self.run

    def live(self) -> set[str]:
        """Runs that may still be writing. Embedded: only this one, as it holds the lock."""
        live = {self.require()}
        if self.leases is not None:
            live |= self.leases.live()
        return live

    def forget(self, runs: set[str]) -> None:
        """The runs a completed repair cleaned up after are no longer unclean."""
        if self.leases is not None:
            with self._guard("updating the runs of"):
                self.leases.forget(runs)
        else:
            self.marks.forget(runs)

    def _guard(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return guard(doing, self.location, self.settings)


def _process_start(pid: int) -> str:
    """When a process started (Linux clock ticks since boot), to tell it from a later one reusing its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, started: str) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        if exc.errno != errno.EPERM:
            return False
    return not started or _process_start(pid) in {"", started}
