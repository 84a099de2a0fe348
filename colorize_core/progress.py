"""A batch's progress on stderr, for the CLI and the cluster mode alike."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .results import PhotoResult, Status

BAR_WIDTH = 24


class Progress:
    """A bar on a terminal, otherwise a line a photo (with the failures so far, the rate and the
    time left, for batches); silent when not enabled (--quiet, --json)."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled, self.tty = total, enabled, sys.stderr.isatty()
        self.done = self.failed = 0
        self.t0 = time.perf_counter()

    def update(self, result: PhotoResult) -> None:
        """One more photo finished."""
        self.done += 1
        self.failed += result.status is Status.ERROR
        if not self.enabled:
            return
        if self.tty and self.total > 1:
            filled = int(BAR_WIDTH * self.done / self.total)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {said(result)[:60]:<60}")
            if self.done == self.total:
                sys.stderr.write("\n")
        elif self.total > 1:
            sys.stderr.write(f"[{self.done}/{self.total}] {said(result)}{self._pace()}\n")
        else:
            sys.stderr.write(said(result) + "\n")
        sys.stderr.flush()

    def _pace(self) -> str:
        elapsed = time.perf_counter() - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = f", about {(self.total - self.done) / rate:.0f} s left" if rate > 0 else ""
        return f" ({self.failed} failed, {rate:.2f} photos/s{left})"


def said(result: PhotoResult) -> str:
    """What became of one photo, in a few words."""
    if result.status is Status.ERROR:
        return f"failed {Path(result.input).name}"
    if result.status is Status.SKIPPED:
        return f"skipped {result.input} ({result.message})"
    return f"colorized {result.input} -> {result.output} ({result.seconds:.2f} s)"
