"""Progress display for long runs: a rich bar on a terminal, occasional plain lines otherwise."""

from __future__ import annotations

import sys
import time
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


class ProgressReporter:
    """``update(done, total)`` and ``log(line)``; both go to stderr so stdout stays clean for --json."""

    def __init__(self, enabled: bool = True, label: str = "embedding articles") -> None:
        self.enabled = enabled
        self.label = label
        self.console = Console(stderr=True)
        self._bar: Progress | None = None
        self._task: int | None = None
        self._last_line = 0.0

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
            print(f"{self.label}: {total} new or changed", file=sys.stderr, flush=True)
        elif done == total or now - self._last_line > 10:
            print(f"{self.label}: {done}/{total}", file=sys.stderr, flush=True)
            self._last_line = now

    def log(self, line: str) -> None:
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr, flush=True)
