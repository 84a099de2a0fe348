"""What became of one photo: the result every front end reports, as data.

Code decides on `status` and `reason` (enums); `message` is the same in words, for people.
The CLI's and the cluster's --json (and the cluster's --report lines) are `to_json()` of these,
so that both say a photo failed, or was skipped, in the same record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable

EXISTS_REASON = "output exists (use --overwrite to replace it)"


class Status(str, Enum):
    OK = "ok"
    SKIPPED = "skipped"
    ERROR = "error"


class Skip(str, Enum):
    """Why a photo was skipped (its record's `skip` field)."""

    OUTPUT_EXISTS = "output exists"
    IN_COLOUR = "in colour"


class Failure(str, Enum):
    """Why a photo failed (its record's `failure` field); the message says what exactly."""

    PHOTO = "photo"  # the photo, its hints or its output could not be used
    OUT_OF_MEMORY = "out of memory"
    WORKER_LOST = "worker lost"  # the cluster mode: its worker died on every attempt


@dataclass
class PhotoResult:
    """One photo's outcome. reason: a Skip or a Failure where skipped or failed, else None."""

    input: str
    output: str | None
    status: Status
    reason: Skip | Failure | None = None
    message: str | None = None  # the reason in words; on an ok photo a note (cluster retries)
    warnings: list[str] = field(default_factory=list)
    size: tuple[int, int] | None = None
    mode: str | None = None
    pages: int | None = None
    hints: str | None = None  # where a hinted photo's hints came from
    seconds: float | None = None
    node: str | None = None  # the cluster mode: the machine and process that colorized it
    pid: int | None = None

    def to_json(self) -> dict:
        """The record --json prints: `skip` and `reason` for a skipped photo, `failure` and
        `error` for a failed one; details that do not apply are left out."""
        record: dict = {"input": self.input, "output": self.output, "status": self.status.value}
        if self.status is Status.ERROR:
            record.update(failure=self.reason.value, error=self.message)
        else:
            if self.reason is not None:
                record["skip"] = self.reason.value
            if self.message is not None:
                record["reason"] = self.message
            record["warnings"] = self.warnings
        details = {
            "size": list(self.size) if self.size else None,
            "mode": self.mode,
            "pages": self.pages,
            "hints": self.hints,
        }
        record.update((k, v) for k, v in details.items() if v is not None)
        record["seconds"] = self.seconds
        record.update((k, v) for k, v in (("node", self.node), ("pid", self.pid)) if v is not None)
        return record


def skipped(src: str, skip: Skip, message: str, warnings: list[str] | None = None) -> PhotoResult:
    return PhotoResult(src, None, Status.SKIPPED, skip, message, warnings or [])


def failed(src: str, failure: Failure, message: str) -> PhotoResult:
    return PhotoResult(src, None, Status.ERROR, failure, message)


def summary(results: Iterable[PhotoResult]) -> dict[str, int]:
    """Photos per status, every status named: {"ok": 3, "skipped": 0, "error": 1}."""
    counts = {s.value: 0 for s in Status}
    for r in results:
        counts[r.status.value] += 1
    return counts


def in_input_order(results: list[PhotoResult], inputs: list[str]) -> list[PhotoResult]:
    """The results in the order of their photos (they finish in any order)."""
    order = {src: i for i, src in enumerate(inputs)}
    return sorted(results, key=lambda r: order.get(r.input, 0))
