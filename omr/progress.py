"""Progress on stderr: a rich bar with ETA on a terminal, a plain line every few seconds otherwise."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, *, total: int, label: str, enabled: bool = True, every_s: float = 5.0):
        self.total, self.label, self.done = total, label, 0
        self.enabled = enabled and total > 0
        self._every, self._last, self._t0 = every_s, 0.0, 0.0
        self._rich = None
        self._task = None

    def __enter__(self) -> "Progress":
        self._t0 = self._last = time.monotonic()
        if self.enabled and sys.stderr.isatty():
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            from rich.console import Console
            self._rich = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                      console=Console(stderr=True), transient=False)
            self._rich.start()
            self._task = self._rich.add_task(self.label, total=self.total)
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.advance(self._task, n)
            return
        now = time.monotonic()
        if now - self._last >= self._every or self.done == self.total:
            self._last = now
            rate = self.done / max(now - self._t0, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            print(f"{self.label}: {self.done}/{self.total} ({rate:.1f}/s, ETA {eta:.0f} s)", file=sys.stderr)

    def __exit__(self, *exc) -> None:
        if self._rich is not None:
            self._rich.stop()
