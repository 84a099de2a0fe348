"""LiteRT's C++ writes its banner (and its load errors) straight to file descriptor 2: the model
loader catches them by pointing fd 2 at a temporary file for the moment of loading. That
redirection is process-wide, and the CLI loads the model in a helper thread while the main thread
may already be reporting (a usage error, a skipped photo): `serialized_stderr` makes the CLI's
own writes wait for the capture to end, so none of them lands in the capture and is lost.
"""

from __future__ import annotations

import os
import sys
import threading

# held while fd 2 is redirected; re-entrant so the loading thread's own writes do not deadlock
FD2_LOCK = threading.RLock()


class native_stderr_captured:
    """Catch what native code prints on fd 2 inside the block (read() returns it)."""

    def __enter__(self):
        sys.stderr.flush()
        FD2_LOCK.acquire()
        self._buf = _anonymous_file()
        self._saved = os.dup(2)
        os.dup2(self._buf.fileno(), 2)
        return self

    def read(self) -> str:
        self._buf.seek(0)
        return self._buf.read()

    def __exit__(self, *exc) -> None:
        try:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        finally:
            FD2_LOCK.release()


def _anonymous_file():
    """A nameless read-write text file: in memory where Linux offers it (memfd), else a
    temporary file (tempfile is imported only then: ~6 ms the model's thread need not spend)."""
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("colorize-stderr", getattr(os, "MFD_CLOEXEC", 0)), "w+")
    import tempfile

    return tempfile.TemporaryFile(mode="w+")


def discard_stream(stream) -> None:
    """Point a stream whose reader has gone (a broken pipe) at /dev/null, so that what is still
    buffered or written later is dropped instead of raising again, up to the process's exit."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, stream.fileno())
    finally:
        os.close(null)


class serialized_stderr:
    """A stand-in for sys.stderr whose writes (each flushed) wait while fd 2 is captured.

    A reader that goes away (`2>&1 | head`) loses the messages, never the batch's photos."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        with FD2_LOCK:
            try:
                self._stream.write(text)
                self._stream.flush()
            except BrokenPipeError:
                discard_stream(self._stream)
        return len(text)

    def flush(self) -> None:
        with FD2_LOCK:
            try:
                self._stream.flush()
            except BrokenPipeError:
                discard_stream(self._stream)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
