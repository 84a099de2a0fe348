"""The GIMP plug-ins' resident core: `colorize-core bridge` runs with the models kept loaded.

    colorize-core bridge-server SOCKET [--owner PID] [--idle SECONDS]

A fresh `colorize-core bridge` spends about as long starting Python, importing and building the
model as it spends colorizing a 12-megapixel layer. So the plug-in starts this server at its
first run (it loads the model while GIMP hands the layer over) and sends it every later run over
a Unix socket: the arguments of `colorize-core bridge ...`, the same hand-over files, the same exit
codes and error messages.

Protocol: one connection, one run; lines of UTF-8 JSON, except the lines the run prints.
    server  {"pid": N, "protocol": 1}                as soon as it takes the connection
    client  {"protocol": 1, "argv": ["bridge", ...], "cwd": "...", "owner": PID}
    server  progress F / rows N                      as `colorize-core bridge` prints them
    server  {"exit": RC, "stderr": "..."}            the run's exit status and its stderr text
      or    {"declined": "protocol" | "updated" | "cwd"}    the client runs a fresh core instead

While its client trades tiles with GIMP (before the run, reading the layer; after the answer, the
last rows) the server polls the connection rather than sleeping on it, at most POLL_S: see _awake.

One run at a time. It exits after --idle seconds without a run, once the process --owner names
(the GIMP that used it last) has ended, when its own files have changed (an upgrade; it declines
the run first), or on SIGTERM. Only its user reaches it: the socket's folder must be theirs alone
(mode 0700, which the plug-in makes), and on Linux each peer's user is checked as well. One server
per socket: a second one finds the lock taken and exits at once (status 0).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import json
import os
import select
import socket
import stat
import struct
import sys
import time
import traceback
from collections import OrderedDict
from concurrent.futures import Future
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import bridge
from .exits import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, stop_on_signals
from .model import ModelError, resolve_model
from .options import PhotoOptions

if TYPE_CHECKING:
    from .pipeline import Colorizer

# the plug-ins' colorize_bridge.RESIDENT_PROTOCOL says the same (a test pins it)
PROTOCOL = 1
IDLE_EXIT_S = 600.0  # an unused server gives its memory (the models, ~150 MB) back after this
TICK_S = 1.0  # how often a waiting server looks at its clock and its owner
REQUEST_WAIT_S = 5.0  # a client sends its run this soon after connecting, or after the polling
# (_awake; a plug-in whose layer takes longer to read connects again)
POLL_S = 2.0  # at most this long the server polls its client instead of sleeping (see _awake)
MODELS_KEPT = 2  # the default and the fast model, say; an older one is let go
LOCK_TRIES = 3  # a plug-in looking at the lock holds it for an instant: try again before giving up


class Declined(str, Enum):
    """Why the server did not take a run (the client then starts a fresh core)."""

    PROTOCOL = "protocol"  # the plug-in speaks another version of the protocol
    UPDATED = "updated"  # this package's files changed since the server started
    CWD = "cwd"  # the client's working folder cannot be entered


class ServerError(Exception):
    """The server cannot start: one line on stderr, exit 1."""


class ClientGone(Exception):
    """The client hung up during its run (GIMP stopped the plug-in, or it gave up): the run ends at
    its next line, unanswered."""


def build_parser() -> argparse.ArgumentParser:
    ap = bridge.parser_from_doc("colorize-core bridge-server", __doc__)
    ap.add_argument("socket", type=Path, help="the Unix socket to serve, in a folder of mode 0700")
    ap.add_argument(
        "--owner", type=int, default=None, help="exit once this process (the GIMP) has ended"
    )
    ap.add_argument(
        "--idle",
        type=float,
        default=IDLE_EXIT_S,
        help=f"exit after this many seconds without a run (default {IDLE_EXIT_S:g})",
    )
    return ap


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not 0 < args.idle < float("inf"):  # NaN fails this too
        print("colorize-core: error: --idle must be a positive number of seconds", file=sys.stderr)
        return EXIT_USAGE
    stop_on_signals()  # SIGTERM ends it through the finally below: the socket is removed
    try:
        lock = _take_lock(args.socket)
        if lock is None:
            return EXIT_OK  # another server has it
        with contextlib.closing(lock), contextlib.closing(_listen(args.socket)) as listener:
            try:
                _write_pid(lock, os.getpid())
                _serve(listener, Models(), args.owner, args.idle)
            finally:
                _unlink(args.socket)
                _write_pid(lock, None)
    except ServerError as exc:
        print(f"colorize-core: error: {exc}", file=sys.stderr)
        return EXIT_SOME_FAILED
    except KeyboardInterrupt:
        pass
    return EXIT_OK


# ---------------------------------------------------------------- the socket


def _private_folder(folder: Path) -> None:
    """ServerError unless `folder` is a real folder of this user's that nobody else may enter."""
    try:
        st = os.lstat(folder)
    except OSError as exc:
        raise ServerError(f"{folder}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise ServerError(f"{folder}: not a folder of this user's alone (mode 0700)")


def _take_lock(path: Path) -> io.BufferedRandom | None:
    """The socket's lock file, locked for this server's life; None when another server holds it."""
    import fcntl

    _private_folder(path.parent)
    f = open(_lock_path(path), "a+b")  # held for the server's life
    for attempt in range(LOCK_TRIES):
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                f.close()
                raise ServerError(f"{_lock_path(path)}: {exc.strerror}") from None
            time.sleep(0.01 * (attempt + 1))
    f.close()
    return None


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _write_pid(lock: io.BufferedRandom, pid: int | None) -> None:
    """The lock file says which process serves (empty once none does)."""
    lock.seek(0)
    lock.truncate()
    if pid is not None:
        lock.write(b"%d\n" % pid)
    lock.flush()


def _listen(path: Path) -> socket.socket:
    """A listening socket at `path` (a dead server's socket file replaced: the lock is ours)."""
    _unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        os.chmod(path, 0o600)
        listener.listen(8)
    except OSError as exc:
        listener.close()
        raise ServerError(f"{path}: {exc.strerror}") from None
    return listener


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# ---------------------------------------------------------------- serving


def _serve(listener: socket.socket, models: "Models", owner: int | None, idle: float) -> None:
    """Take runs one at a time until idle, orphaned or updated."""
    stamp = code_stamp()
    models.load(PhotoOptions())  # the default model, loading while the first client connects
    listener.settimeout(TICK_S)
    last = time.monotonic()
    while True:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            if time.monotonic() - last > idle or (owner is not None and not _alive(owner)):
                return
            continue
        with conn:
            poll = models.ready() and _cpus() > 1  # (on one CPU it would slow GIMP down)
            request = _request(conn, poll)
            if request is None:
                continue
            if isinstance(request.get("owner"), int):
                owner = request["owner"]
            declined = _declined(request, stamp)
            if declined is not None:
                _send(conn, {"declined": declined.value})
                if declined is Declined.UPDATED:
                    return
                continue
            answer = _run(request["argv"][1:], request["cwd"], models.load, conn)
            if answer is not None:
                _send(conn, answer)
                if poll:
                    _awake(conn)  # while the client hands GIMP the last rows
        last = time.monotonic()


def _request(conn: socket.socket, poll: bool) -> dict | None:
    """Greet the client and read its run (None for a client of another user, one that says
    nothing in time, or one that hung up); `poll`: waiting for it with _awake at first."""
    if not _same_user(conn):
        return None
    conn.settimeout(REQUEST_WAIT_S)
    try:
        _send(conn, {"pid": os.getpid(), "protocol": PROTOCOL})
        if poll:
            _awake(conn)
        with conn.makefile("rb") as f:
            line = f.readline()
        request = json.loads(line.decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    conn.settimeout(None)
    return request if isinstance(request, dict) else None


def _awake(conn: socket.socket) -> None:
    """Poll `conn` until it has something to say (or hangs up), at most POLL_S, keeping this CPU
    busy meanwhile. The client is trading tiles with GIMP then: thousands of small messages each
    way for a 12-megapixel layer, each waking the other process. Where waking an idle CPU is slow
    (on this project's virtual machines two processes pass a byte back and forth in 86-108 us
    with both CPUs idle, in 8-10 us while one is busy) GIMP then reads the layer 1.5 times and
    writes it 3 times as fast (docs/gimp.md, Speed)."""
    end = time.monotonic() + POLL_S
    while time.monotonic() < end:
        if select.select([conn], [], [], 0)[0]:
            return


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _same_user(conn: socket.socket) -> bool:
    """Linux tells who is at the other end: only this user's processes are served (elsewhere the
    socket's folder, mode 0700, is the only gate)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


def _declined(request: dict, stamp: tuple) -> Declined | None:
    argv = request.get("argv")
    if request.get("protocol") != PROTOCOL or not isinstance(argv, list) or argv[:1] != ["bridge"]:
        return Declined.PROTOCOL
    if code_stamp() != stamp:
        return Declined.UPDATED
    if not isinstance(request.get("cwd"), str) or not os.path.isdir(request["cwd"]):
        return Declined.CWD
    return None


def code_stamp() -> tuple:
    """This package's Python files, their sizes and times: an upgrade or an edit changes it."""
    try:
        stats = ((f.name, f.stat()) for f in sorted(Path(__file__).parent.glob("*.py")))
        return tuple((name, st.st_mtime_ns, st.st_size) for name, st in stats)
    except OSError:  # files removed under it: an uninstall
        return ()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone; or another user's has its number now
        return False
    return True


def _send(conn: socket.socket, message: dict) -> None:
    with contextlib.suppress(OSError):  # a client gone away: its run ends unread
        conn.sendall(json.dumps(message).encode("utf-8") + b"\n")


def _run(argv: list, cwd: str, load: Callable, conn: socket.socket) -> dict | None:
    """One `colorize-core bridge` run in this process: its stdout (the progress and rows lines)
    goes to the client as it comes, its stderr is returned with its exit status (None: the client
    hung up, and the run was ended)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(_Lines(conn)), contextlib.redirect_stderr(err):
        try:
            os.chdir(cwd)  # relative paths mean what they meant to the plug-in
            code = bridge.main([str(a) for a in argv], load=load)
        except SystemExit as exc:  # argparse's usage errors and --help
            code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
        except ClientGone:
            return None
        except Exception:  # a bug: reported as a fresh core's traceback would be; serve on
            traceback.print_exc()
            code = EXIT_SOME_FAILED
        finally:
            os.chdir("/")
    return {"exit": code, "stderr": err.getvalue()}


class _Lines(io.TextIOBase):
    """A text stream whose whole lines go to the client as they are written (ClientGone once it
    cannot take them)."""

    def __init__(self, conn: socket.socket):
        self._conn, self._part = conn, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._part = (self._part + text).split("\n")
        if lines:
            try:
                self._conn.sendall("".join(f"{line}\n" for line in lines).encode("utf-8"))
            except OSError:
                raise ClientGone() from None
        return len(text)


class Models:
    """The Colorizers this server keeps loaded, by model file and threads (a model re-exported to
    the same path is a new one: its size and time differ); the oldest is let go past
    MODELS_KEPT."""

    def __init__(self) -> None:
        self._loaded: OrderedDict[tuple, Future[Colorizer]] = OrderedDict()

    def ready(self) -> bool:
        """No model is loading (in its thread, which a polling server would hold up)."""
        return all(loading.done() for loading in self._loaded.values())

    def load(self, opts: PhotoOptions) -> "Future[Colorizer]":
        key = (_model_key(opts.model), opts.threads)
        loading = self._loaded.pop(key, None)
        if loading is None or (loading.done() and loading.exception() is not None):
            loading = bridge.start_loading(opts)  # a failed load is tried again
        self._loaded[key] = loading
        while len(self._loaded) > MODELS_KEPT:
            self._loaded.popitem(last=False)
        return loading


def _model_key(model: str | None) -> tuple:
    try:
        path = resolve_model(model)
        st = path.stat()
    except (ModelError, OSError):
        return ("unresolved", model)  # loading it will say why
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)
