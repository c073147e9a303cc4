"""Progress display for long runs: a rich bar on a terminal, a plain line per batch otherwise (at most one
every ``PLAIN_EVERY`` seconds), with the rate and an ETA once the first batch is done."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

#: Seconds between plain progress lines (the first batch and the last are always shown).
PLAIN_EVERY = 2.0


def eta_line(label: str, done: int, total: int, elapsed: float) -> str:
    """``label: done/total (pct), rate/s, ETA h:mm:ss`` (no rate or ETA before anything is done)."""
    line = f"{label}: {done}/{total} ({100 * done / max(total, 1):.0f}%)"
    if done and elapsed > 0:
        rate = done / elapsed
        left = timedelta(seconds=round((total - done) / rate))
        line += (
            f", {rate:,.1f}/s, ETA {left}"
            if done < total
            else f", {rate:,.1f}/s, took {timedelta(seconds=round(elapsed))}"
        )
    return line


class ProgressReporter:
    """``update(done, total)`` and ``log(line)``; both go to stderr so stdout stays clean for --json."""

    def __init__(self, enabled: bool = True, label: str = "embedding articles") -> None:
        self.enabled = enabled
        self.label = label
        self.console = Console(stderr=True)
        self._bar: Progress | None = None
        self._task: int | None = None
        self._last_line = 0.0
        self._started = 0.0
        self._shown = 0

    def __enter__(self) -> ProgressReporter:
        if self.enabled and self.console.is_terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(et, ev, tb)

    def update(self, done: int, total: int) -> None:
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task(self.label, total=total)
            self._bar.update(self._task, completed=done, total=total)  # type: ignore[arg-type]
            return
        if not self.enabled or not total:
            return
        now = time.monotonic()
        if done == 0:
            self._started = now
            print(f"{self.label}: {total} new or changed", file=sys.stderr, flush=True)
        elif done == total or self._shown == 0 or now - self._last_line >= PLAIN_EVERY:
            print(eta_line(self.label, done, total, now - self._started), file=sys.stderr, flush=True)
            self._last_line = now
            self._shown += 1

    def log(self, line: str) -> None:
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr, flush=True)
