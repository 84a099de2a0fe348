"""Writing a file so that readers see all of it or nothing, and no two writers share a name.

Every output (photos, the GIMP bridge's pixels) is written into a hidden temporary file beside
its final name, then published: renamed over it with overwrite, else hard-linked to it, which
fails when the name exists, so of two processes racing for one output exactly one wins.
Temporary files are named `.NAME.colorize-HOST-PID-XXXXXXXX.part`, so the leftovers of a killed
run are recognisable and `remove_stale_temps` can clear them on the next run into the folder.
"""

from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path
from typing import BinaryIO, Callable

TEMP_TAG = ".colorize-"
TEMP_SUFFIX = ".part"
# a temp file this old is stale whoever wrote it (a crashed node's, a reused pid)
STALE_AFTER_S = 24 * 3600
_TEMP_RE = re.compile(
    r"^\..+"
    + re.escape(TEMP_TAG)
    + r"(?P<host>.+)-(?P<pid>\d+)-[^-]+"
    + re.escape(TEMP_SUFFIX)
    + "$"
)
# errors with which a file system says it has no hard links
_NO_LINKS = {
    errno.EPERM,
    errno.EOPNOTSUPP,
    errno.ENOTSUP,
    errno.EXDEV,
    errno.EMLINK,
    errno.ENOSYS,
    errno.EACCES,
}


def _host() -> str:
    """This machine's name, as gethostname() gives it (uname's, where there is one: importing
    socket for it costs the CLI ~3 ms of start-up)."""
    if hasattr(os, "uname"):
        name = os.uname().nodename
    else:  # Windows
        import socket

        name = socket.gethostname()
    return re.sub(r"[^A-Za-z0-9.]", "_", name) or "host"


def write_atomic(
    path: Path, write: Callable[[BinaryIO], None], *, overwrite: bool, durable: bool = True
) -> Path:
    """Call write(f) on a temporary file beside `path`, then publish it as `path`.

    durable: flush the file to disk before publishing it (a photo); off for hand-over files that
    are read at once and deleted (the GIMP bridge's pixels), where the wait buys nothing.

    Raises FileExistsError when `path` exists and overwrite is False (nothing is written then),
    OSError when the folder cannot be written. Whatever goes wrong, even a signal turned into an
    exception, the temporary file is removed.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = _create_temp(folder, f".{path.name}{TEMP_TAG}{_host()}-{os.getpid()}-")
    try:
        # mkstemp makes 0600; an output should get normal permissions
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "w+b") as f:  # read too: a multi-page TIFF writer seeks back and reads
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _publish_exclusive(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    return path


def _create_temp(folder: Path, prefix: str) -> tuple[int, str]:
    """(fd, path) of a new empty file PREFIX<8 random hex digits>.part in `folder`, created
    exclusively with mode 0600: tempfile.mkstemp's contract without importing tempfile, shutil
    and random (~7 ms of every run's start-up, measured)."""
    flags = (
        os.O_RDWR
        | os.O_CREAT
        | os.O_EXCL
        | getattr(os, "O_BINARY", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    for _ in range(100):
        name = os.path.join(folder, f"{prefix}{os.urandom(4).hex()}{TEMP_SUFFIX}")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", os.fspath(folder))


def _publish_exclusive(tmp: str, path: Path) -> None:
    """Give the finished `tmp` the name `path` only if no file has that name (atomically)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        # no hard links here (FAT, some network shares): claim the name by an exclusive create,
        # then rename the finished file over the claim
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666 & ~_umask()))
        os.replace(tmp, path)
    else:
        os.unlink(tmp)


def is_stale(temp: Path, now: float | None = None) -> bool:
    """True for a temporary file of this tool whose writer is gone: a process of this machine that
    no longer runs, or any writer when the file is older than STALE_AFTER_S."""
    m = _TEMP_RE.match(temp.name)
    if not m:
        return False
    try:
        age = (now or time.time()) - temp.lstat().st_mtime
    except OSError:
        return False
    if age > STALE_AFTER_S:
        return True
    return m["host"] == _host() and not _pid_running(int(m["pid"]))


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete this tool's stale temporary files in `folder` (not its sub-folders); returns them."""
    removed = []
    try:
        candidates = [
            p
            for p in Path(folder).iterdir()
            if p.name.startswith(".") and p.name.endswith(TEMP_SUFFIX)
        ]
    except OSError:
        return removed
    for p in candidates:
        if p.is_file() and not p.is_symlink() and is_stale(p):
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_quietly(tmp: str) -> None:
    """Delete a temporary file that may already be gone."""
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
