"""How a run of colorize-core ends: its exit codes, the usage error, and the signals it stops on.

Every front end (the CLI, the cluster mode, the bridge) ends through these, so that an exit code
means the same whichever one returned it: 0 every input done (or skipped on purpose), 1 some
inputs failed, 2 usage or model error, 128 + the signal when interrupted (130 Ctrl-C, 143
SIGTERM, 129 SIGHUP).
"""

from __future__ import annotations

import signal
from pathlib import Path

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
# handled like Ctrl-C (Windows has no SIGHUP)
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


class UsageError(Exception):
    """Bad arguments or an unusable model: nothing was attempted (exit 2).

    inputs: the photos at fault, where some are (for the --json report)."""

    def __init__(self, message: str, inputs: tuple[Path, ...] = ()):
        super().__init__(message)
        self.inputs = inputs


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C: the photo being written is abandoned cleanly."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def raise_interrupted(signum: int, frame: object) -> None:
    """The handler of STOP_SIGNALS: they interrupt the run as Ctrl-C does."""
    raise Interrupted(signum)


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP raise Interrupted from now on (outputs stay whole: see atomic.py)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, raise_interrupted)


def interrupt_signal(exc: KeyboardInterrupt) -> signal.Signals:
    """The signal behind an interrupt: SIGINT for Ctrl-C, else the one Interrupted carries."""
    return signal.Signals(exc.signum if isinstance(exc, Interrupted) else signal.SIGINT)


def interrupted_code(sig: signal.Signals) -> int:
    """The exit code of a run stopped by `sig`, as shells report it (128 + the signal's number)."""
    return 128 + sig
