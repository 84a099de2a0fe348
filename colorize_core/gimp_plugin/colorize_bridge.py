# -*- coding: utf-8 -*-
"""Hand pixels from a GIMP plug-in to ``colorize-core bridge`` and back.

Shared by the GIMP 3 plug-in (Python 3, GI) and the GIMP 2.10 plug-in (Python 2.7, gimpfu):
standard library only, and it must stay valid Python 2.7 *and* 3.

Protocol (the core implements it in colorize_core/bridge.py):

    colorize-core bridge IN.npy OUT.npy [--strength S] [--model NAME|PATH] [--threads N]
                         [--progress] [--rows] [--hints HINTS.npy]

IN/OUT are .npy 1.0 files, C order, dtype |u1 or <u2, shape (H, W, 3|4) (R'G'B'[A]);
HINTS is |u1 (H, W, 4) R'G'B'A, a hints layer over the input (alpha above 0 marks a hint);
``progress 0.50`` lines on stdout, and with ``--rows`` ``rows N`` lines as OUT's first N rows are
final (OUT is then written in place; GIMP 3 takes the rows as they come); exit 0, or non-zero
with ``colorize-core: error: ...`` on stderr (and no OUT file without --rows).

Where the core is: ``$COLORIZE_CORE`` (path of the colorize-core executable) if set, else the
config file that ``$COLORIZE_CONFIG`` names if that file exists, else ``colorize-core.json``
that ``colorize-core gimp install`` writes next to the plug-in
(``{"core": "/path/to/venv/bin/colorize-core", ...}``). There is deliberately no guess on PATH:
GIMP's PATH differs between a desktop launch and a shell.

Inside the Flatpak GIMP's sandbox (``$FLATPAK_ID`` set) the core is the host's, started through
``flatpak-spawn --host`` (allowed once by ``flatpak override --user
--talk-name=org.freedesktop.Flatpak org.gimp.GIMP``), with the hand-over files in the app's cache
folder, which the host sees at the same path.

The resident core: where Unix sockets work (not on Windows, not in a Flatpak sandbox) and
``COLORIZE_RESIDENT`` is not ``0``, the first run also starts ``colorize-core bridge-server`` (in a
folder only this user may enter), which keeps the model loaded; later runs are sent to it, and
anything it cannot do is done by a fresh core as above. It ends with the GIMP that used it last,
or after 10 idle minutes.

Both plug-ins also share their user-facing messages and the steps around the hand-over
(``colorize_layer_pixels``, ``crop``), so the two GIMPs say and do the same.
"""
from __future__ import print_function

import ast
import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time

try:
    import fcntl
except ImportError:  # Windows: no resident core there
    fcntl = None

try:
    import queue
except ImportError:  # Python 2.7
    import Queue as queue  # noqa: N813

CONFIG_NAME = "colorize-core.json"
ENV_CORE = "COLORIZE_CORE"
ENV_CONFIG = "COLORIZE_CONFIG"
ENV_TIMEOUT = "COLORIZE_TIMEOUT"
NPY_MAGIC = b"\x93NUMPY"
REINSTALL_HINT = ("Run `colorize-core gimp install` again "
                  "(or set COLORIZE_CORE to the colorize-core executable).")
FLATPAK_OVERRIDE = "flatpak override --user --talk-name=org.freedesktop.Flatpak org.gimp.GIMP"
EXIT_POLL_S = 0.002  # how often a core that closed its stdout is looked at until it has exited
STOP_GRACE_S = 2.0  # between SIGTERM and SIGKILL when a core is stopped
# the runtime's limit (colorize_core.limits.MAX_STRENGTH): the plug-ins' sliders span it
MAX_STRENGTH = 4.0
# the resident core (colorize_core/bridge_server.py; its PROTOCOL says the same)
ENV_RESIDENT = "COLORIZE_RESIDENT"  # "0": a fresh core for every run
RESIDENT_PROTOCOL = 1
SERVER_START_S = 10.0  # a server that has not taken the connection by then is given up on
CONNECT_NOW_S = 0.05  # a running server's socket takes a connection at once, even while busy
SOCKET_PATH_MAX = 100  # a Unix socket's path holds 104 bytes on macOS, 108 on Linux


# the plug-ins' messages, one text for both GIMPs
NOT_A_LAYER = "Auto Colorize works on layers; select a layer (not a mask or channel)."
GROUP_LAYER = ("Auto Colorize works on a single layer, not a layer group. "
               "Select a layer inside the group, or merge the group first.")
NO_SELECTION = ("The selection does not touch the active layer: nothing to colorize. "
                "Select some of the layer, or Select > None.")
ONE_LAYER = "Auto Colorize works on one layer at a time; select a single layer."
HINTS_LAYER_NAME = "Colour hints"  # the dialog's default hints layer, when the image has one
HINTS_IS_TARGET = ("The colour hints layer is the layer being colorized: "
                   "select the photo's layer, "
                   "and choose the transparent layer you painted dots on as Colour hints.")
HINTS_NO_ALPHA = ("The colour hints layer has no transparency, "
                  "so every pixel of it would be a hint. "
                  "Add an alpha channel (Layer > Transparency > Add Alpha Channel), "
                  "clear it, and paint dots of colour on it.")
HINTS_IN_GRAY_IMAGE = ("This image is in grayscale mode, "
                       "so its colour hints layer can hold only grays. "
                       "Choose Image > Mode > RGB, paint the dots of colour again, then colorize.")
# "new layer" output: the colour layer's name is the photo layer's + this
NEW_LAYER_SUFFIX = " (colour)"
PROGRESS_START, PROGRESS_CORE_END = 0.05, 0.9  # the plug-in's progress bar around the core's work


class BridgeError(Exception):
    """A failure with a message meant for the user (shown by GIMP)."""


# ---------------------------------------------------------------- finding the core

def find_core(plugin_dir):
    """Return (path to colorize-core, where that came from). Raises BridgeError."""
    env_core = os.environ.get(ENV_CORE)
    if env_core:
        return _check_exe(native_path(env_core), "the environment variable %s" % ENV_CORE), ENV_CORE
    candidates = []
    if os.environ.get(ENV_CONFIG):
        candidates.append(os.environ[ENV_CONFIG])
    candidates.append(os.path.join(plugin_dir, CONFIG_NAME))
    for path in candidates:
        if os.path.isfile(path):
            try:
                with open(path) as f:
                    cfg = json.load(f)
                core = cfg["core"]
            except (ValueError, KeyError, TypeError, IOError, OSError) as e:
                # Python 2.7 has no "raise ... from"
                raise BridgeError("The colorize config file %s is unreadable (%s). %s"  # noqa: B904
                                  % (path, e, REINSTALL_HINT))
            return _check_exe(native_path(core), "the config file " + path), path
    raise BridgeError("The colorize-core helper is not configured: no %s next to the plug-in "
                      "(%s). %s" % (CONFIG_NAME, plugin_dir, REINSTALL_HINT))


def in_flatpak():
    """True inside a Flatpak sandbox, where the host's programs start only through flatpak-spawn."""
    return bool(os.environ.get("FLATPAK_ID"))


def _check_exe(path, origin):
    if in_flatpak():  # the host's files are not all visible from the sandbox: starting it will tell
        return path
    if not os.path.isfile(path):
        raise BridgeError("The colorize-core helper is missing: %s (named by %s) does not exist. %s"
                          % (path, origin, REINSTALL_HINT))
    if os.name != "nt" and not os.access(path, os.X_OK):
        raise BridgeError("The colorize-core helper %s (named by %s) is not executable. %s"
                          % (path, origin, REINSTALL_HINT))
    return path


# ---------------------------------------------------------------- .npy files

def npy_header(dtype, shape):
    """The .npy 1.0 header for a C-order array (total length a multiple of 64 bytes)."""
    dims = ", ".join("%d" % n for n in shape) + ("," if len(shape) == 1 else "")
    d = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (dtype, dims)
    base = len(NPY_MAGIC) + 2 + 2
    pad = 64 - (base + len(d) + 1) % 64
    if pad == 64:
        pad = 0
    d = d + " " * pad + "\n"
    return NPY_MAGIC + b"\x01\x00" + struct.pack("<H", len(d)) + d.encode("latin1")


def write_npy(path, data, dtype, shape):
    """Write raw C-order pixel bytes as .npy. ``dtype`` is '|u1' or '<u2'."""
    if dtype == "<u2" and sys.byteorder != "little":
        data = _byteswap16(data)
    with open(path, "wb") as f:
        f.write(npy_header(dtype, shape))
        f.write(data)


def read_npy(path, dtype, shape):
    """Read a .npy file written by the core; check dtype/shape; return the raw bytes."""
    with open(path, "rb") as f:
        _read_header(f, dtype, shape)
        n = _row_bytes(dtype, shape) * shape[0]
        data = f.read(n)
        if len(data) != n:
            raise BridgeError("colorize-core's output is truncated (%d of %d bytes)."
                              % (len(data), n))
    return _native(data, dtype)


def _read_header(f, dtype, shape):
    """Read the .npy header of `f` (left at its first pixel); BridgeError unless it is C-order
    `dtype` pixels of `shape`."""
    magic = f.read(8)
    if magic[:6] != NPY_MAGIC:
        raise BridgeError("colorize-core wrote an output that is not a .npy file.")
    major = ord(magic[6:7])
    if major == 1:
        (hlen,) = struct.unpack("<H", f.read(2))
    else:
        (hlen,) = struct.unpack("<I", f.read(4))
    header = ast.literal_eval(f.read(hlen).decode("latin1"))
    got_dtype = header.get("descr")
    got_shape = tuple(header.get("shape", ()))
    if header.get("fortran_order"):
        raise BridgeError("colorize-core wrote a Fortran-order output; expected C order.")
    if got_dtype != dtype or got_shape != tuple(shape):
        raise BridgeError("colorize-core returned %s %s, expected %s %s: "
                          "the helper does not match this plug-in. %s"
                          % (got_dtype, got_shape, dtype, tuple(shape), REINSTALL_HINT))


def _read_exactly(f, n):
    """n bytes of an unbuffered file, fewer only at its end."""
    parts, got = [], 0
    while got < n:
        part = f.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _row_bytes(dtype, shape):
    return shape[1] * shape[2] * (2 if dtype == "<u2" else 1)


def _native(data, dtype):
    """Pixel bytes as GIMP takes them on this machine (.npy's 16-bit pixels are little-endian)."""
    if dtype == "<u2" and sys.byteorder != "little":
        return _byteswap16(data)
    return data


class _Rows(object):
    """Hands the rows of the core's output to on_rows(top, bottom, data) as the core's
    ``rows N`` lines say they are final (``colorize-core bridge --rows``)."""

    def __init__(self, path, dtype, shape, on_rows):
        self.path, self.dtype, self.shape, self.on_rows = path, dtype, shape, on_rows
        self.done, self.f = 0, None

    def ready(self, n):
        n = min(n, self.shape[0])
        if n <= self.done:
            return
        if self.f is None:  # unbuffered: a buffer would keep rows read before the core made them
            self.f = open(self.path, "rb", 0)
            _read_header(self.f, self.dtype, self.shape)
            self.start = self.f.tell()
        size = _row_bytes(self.dtype, self.shape)
        self.f.seek(self.start + self.done * size)
        data = _read_exactly(self.f, (n - self.done) * size)
        if len(data) != (n - self.done) * size:
            raise BridgeError("colorize-core's output is truncated (rows %d to %d)."
                              % (self.done, n))
        self.on_rows(self.done, n, _native(data, self.dtype))
        self.done = n

    def again(self):
        """A fresh core writes the output anew."""
        self.close()
        self.done = 0

    def close(self):
        if self.f is not None:
            self.f.close()
            self.f = None


def _byteswap16(data):
    import array
    a = array.array("H")
    a.frombytes(data) if hasattr(a, "frombytes") else a.fromstring(data)
    a.byteswap()
    return a.tobytes() if hasattr(a, "tobytes") else a.tostring()


def _handover_dirs():
    """Where the hand-over files may go, best first. In a Flatpak sandbox only the app's own
    folders are seen by the host at the same path; elsewhere a RAM-backed folder where Linux has
    one (the hand-over is 50-100 MB for a 12 MP layer), then the system's temporary folder."""
    if in_flatpak():
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(
            os.path.expanduser("~"), ".var", "app", os.environ["FLATPAK_ID"], "cache")
        return [cache]
    if sys.platform.startswith("linux"):
        return [os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm", None]
    return [None]


def _handover_tmpdir():
    for d in _handover_dirs():
        if d is None or (os.path.isdir(d) and os.access(d, os.W_OK)):
            try:
                return tempfile.mkdtemp(prefix="colorize-gimp-", dir=d)
            except OSError:
                pass
    return tempfile.mkdtemp(prefix="colorize-gimp-")


def core_command(core, args):
    """The argument list that starts the core with `args`: through flatpak-spawn inside a
    Flatpak sandbox; byte strings for Python 2's subprocess, which cannot encode non-ASCII text."""
    cmd = [core] + list(args)
    if in_flatpak():
        cmd = ["flatpak-spawn", "--host"] + cmd
    return [native_path(a) for a in cmd]


def native_path(path):
    """A path as this Python's file functions take it: Python 2 cannot encode non-ASCII text
    (a config file's JSON strings) under an ASCII locale, so it gets bytes there."""
    if sys.version_info[0] < 3:
        return _encode_arg(path, sys.getfilesystemencoding() or "utf-8")
    return path


def _encode_arg(arg, encoding):
    if isinstance(arg, bytes):
        return arg
    try:
        return arg.encode(encoding)
    except UnicodeError:  # e.g. an ASCII locale under a UTF-8 file system
        return arg.encode("utf-8")


# ---------------------------------------------------------------- running the core

def default_timeout(n_pixels):
    env = os.environ.get(ENV_TIMEOUT)
    if env:
        try:
            return float(env)
        except ValueError:
            pass
    # model load + inference is seconds; the rest scales with pixels. Generous on slow machines.
    return 120.0 + n_pixels / 1e6 * 10.0


def _reader(stream, q):
    try:
        for line in iter(stream.readline, b""):
            q.put(line)
    finally:
        q.put(None)


def run_core(core, args, timeout, on_line=None, poll=0.05, deadline=None):
    """Run ``core *args``; pass each line it prints to ``on_line(line)`` (see lines_to).

    Returns nothing on success; raises BridgeError with the user-facing reason otherwise.
    A helper that outlives ``timeout`` seconds (or `deadline`, a time.time(), when given: what a
    resident core left of the timeout) is killed (its whole process group), as is one whose line
    on_line could not take.
    """
    err_file = tempfile.TemporaryFile()
    try:
        proc = _start(core, args, err_file)
        try:
            _follow(proc, timeout, on_line, poll, deadline or time.time() + timeout)
        except BaseException:
            _kill(proc)
            raise
        rc = proc.wait()
        err_file.seek(0)
        err = err_file.read().decode("utf-8", "replace").strip()
    finally:
        err_file.close()
    if rc != 0:
        raise _failure(rc, err)


def _own_group():
    """Popen's arguments for a process group of its own (so a timeout can stop all of it)."""
    if os.name == "nt":
        return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | 0x08000000}
    if sys.version_info[0] >= 3:
        return {"start_new_session": True}
    return {"preexec_fn": os.setsid}


def _start(core, args, err_file):
    """The core's process, in a process group of its own."""
    try:
        return subprocess.Popen(core_command(core, args), stdin=None,
                                stdout=subprocess.PIPE, stderr=err_file, **_own_group())
    except OSError as e:
        # Python 2.7 has no "raise ... from"
        raise BridgeError("Could not start the colorize-core helper %s: %s. %s"  # noqa: B904
                          % (core, e, _start_hint()))


def _follow(proc, timeout, on_line, poll, deadline):
    """Pass the core's lines on until it exits; kill it past `deadline`."""
    q = queue.Queue()
    t = threading.Thread(target=_reader, args=(proc.stdout, q))
    t.daemon = True
    t.start()
    eof = False
    while not (eof and proc.poll() is not None):
        if eof:  # its stdout closed: the core is exiting, so look again soon rather than every poll
            time.sleep(EXIT_POLL_S)
            line = False
        else:
            try:
                line = q.get(timeout=poll)
            except queue.Empty:
                line = False
        if line is None:
            eof = True
        elif line and on_line is not None:
            on_line(line)
        if time.time() > deadline:
            _kill(proc)
            raise _timed_out(timeout)


def _timed_out(timeout):
    return BridgeError("colorize-core did not finish within %d s and was stopped. "
                       "Try again (a first run can be slow), raise the timeout in the dialog, "
                       "or check the install with: colorize-core bridge --check" % timeout)


def lines_to(progress=None, rows=None):
    """The on_line of a run: ``progress F`` lines to progress(F), ``rows N`` lines to
    rows.ready(N); anything else is ignored."""
    def on_line(line):
        parts = line.decode("utf-8", "replace").split()
        try:
            if len(parts) == 2 and parts[0] == "progress" and progress is not None:
                progress(min(1.0, max(0.0, float(parts[1]))))
            elif len(parts) == 2 and parts[0] == "rows" and rows is not None:
                rows.ready(int(parts[1]))
        except ValueError:
            pass
    return on_line


def _failure(rc, err):
    """The BridgeError for a core that exited with ``rc`` after writing ``err`` on stderr."""
    msg = ""
    for ln in err.splitlines():
        if "colorize-core: error:" in ln:
            msg = ln.split("colorize-core: error:", 1)[1].strip()
    if rc < 0:
        try:
            signame = signal.Signals(-rc).name
        except (AttributeError, ValueError):
            signame = "signal %d" % -rc
        return BridgeError("colorize-core crashed (%s). %s The layer was not changed. %s"
                           % (signame, _tail(err), REINSTALL_HINT))
    if msg:
        return BridgeError("Colorizing failed: %s. The layer was not changed. If this persists, "
                           "run Filters > Colorize > Check Colorize Installation, "
                           "or `colorize-core gimp install` again." % msg.rstrip("."))
    return BridgeError("colorize-core stopped with exit code %d. %s %s"
                       % (rc, _tail(err), _start_hint()))


def _tail(text, n=300):
    text = " ".join(text.split())
    return ("Its last words: " + text[-n:]) if text else ""


def _start_hint():
    if in_flatpak():
        return ("GIMP runs as a Flatpak: "
                "allow it to start colorize-core outside its sandbox, once, "
                "in a terminal: %s, then restart GIMP." % FLATPAK_OVERRIDE)
    return REINSTALL_HINT


def _kill(proc):
    """Stop the core: SIGTERM first (flatpak-spawn passes it on to the host's process, the core
    cleans up), then, after a grace period, SIGKILL to the whole process group."""
    try:
        if os.name == "nt":
            proc.kill()
        else:
            _stop_group(proc.pid, lambda: proc.poll() is not None)
    except OSError:
        pass
    try:
        proc.wait()
    except OSError:
        pass


def _stop_group(group, gone):
    """SIGTERM to a process group, then SIGKILL once gone() or STOP_GRACE_S have passed."""
    os.killpg(group, signal.SIGTERM)
    deadline = time.time() + STOP_GRACE_S
    while not gone() and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(group, signal.SIGKILL)


# ---------------------------------------------------------------- the resident core

class Core(object):
    """The colorize-core a plug-in runs: its path, where that came from, and its Resident server
    (None: a fresh core every run)."""

    def __init__(self, path, origin, resident=None):
        self.path, self.origin, self.resident = path, origin, resident

    def close(self):
        """Let go of what a run did not use (prepare_core's connection to the server)."""
        if self.resident is not None:
            self.resident.close()


class Resident(object):
    """A resident server's socket, the server process this plug-in started for it (None: one was
    running already), and the connection made before GIMP hands the layer over (None: none yet)."""

    def __init__(self, path, started=None):
        self.path, self.started, self.conn = path, started, None

    def close(self):
        """Let go of a connection no run has used (the server then waits for the next one)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class _Late(Exception):
    """The run's time is up."""


class _Closed(Exception):
    """The server closed the connection before taking the run."""


def prepare_core(plugin_dir):
    """find_core, with the core's resident server started now unless one runs, so that it loads
    the model while GIMP hands the layer over. Raises BridgeError."""
    path, origin = find_core(plugin_dir)
    resident = start_resident(path)
    if resident is not None and resident.started is None:
        # connected now, a running server keeps a CPU awake until the run comes (see
        # colorize_core/bridge_server.py: GIMP reads the layer 1.5 times, writes it 3 times as fast)
        resident.conn = _try_connect(resident.path, CONNECT_NOW_S)
    return Core(path, origin, resident)


def start_resident(core):
    """`core`'s Resident, its server started unless one is running; None where there is none or
    it cannot be started (every run then starts a fresh core)."""
    path = resident_socket(core)
    if path is None:
        return None
    if server_running(path):
        return Resident(path)
    devnull = open(os.devnull, "r+b")
    try:
        proc = subprocess.Popen(
            core_command(core, ["bridge-server", path, "--owner", str(os.getppid())]),
            stdin=devnull, stdout=devnull, stderr=devnull, close_fds=True, cwd="/",
            **_own_group())
    except OSError:
        return None
    finally:
        devnull.close()
    return Resident(path, proc)


def resident_socket(core):
    """Where `core`'s resident server listens (a name made from the core's path and the protocol),
    or None: on Windows, in a Flatpak sandbox, with COLORIZE_RESIDENT=0, without a private folder
    or with a path too long for a socket."""
    if (os.name == "nt" or fcntl is None or not hasattr(socket, "AF_UNIX") or in_flatpak()
            or os.environ.get(ENV_RESIDENT, "1") == "0"):
        return None
    folder = _private_folder()
    if folder is None:
        return None
    raw = core if isinstance(core, bytes) else core.encode("utf-8", "surrogateescape")
    key = hashlib.sha256(raw + b"\0" + str(RESIDENT_PROTOCOL).encode("ascii")).hexdigest()
    path = os.path.join(folder, "core-%s.sock" % key[:16])
    return path if len(path) <= SOCKET_PATH_MAX else None


def _private_folder():
    """A folder that only this user may enter (mode 0700, made if missing): in $XDG_RUNTIME_DIR,
    else in the system's temporary folder; None if neither will do."""
    places = ((os.environ.get("XDG_RUNTIME_DIR"), "colorize"),
              (tempfile.gettempdir(), "colorize-%d" % os.getuid()))
    for base, name in places:
        if not base:
            continue
        path = os.path.join(base, name)
        try:
            os.mkdir(path, 0o700)
        except OSError as e:
            if e.errno != errno.EEXIST:
                continue
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077:
            return path
    return None


def server_running(path):
    """True while a server holds the lock of the socket at `path` (it does for its whole life)."""
    try:
        fd = os.open(path + ".lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except (IOError, OSError) as e:  # only a lock held elsewhere means a server (not, say, NFS)
        return e.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
    finally:
        os.close(fd)  # closing lets go of a lock it took
    return False


def run_resident(resident, args, timeout, on_line, deadline):
    """Run ``colorize-core *args`` on the resident server, by `deadline` (a time.time()). True
    when it ran (its failures raise BridgeError, as a fresh core's do); False when it could not
    take the run (it will not start, is busy with another run or hung past SERVER_START_S,
    declines, or ends without an answer): the caller starts a fresh core, which does the run or
    says why not."""
    early, resident.conn = resident.conn, None
    if early is not None:
        ran = _served_on(resident, early, args, deadline, timeout, on_line)
        if ran is not None:
            return ran
        # the server gave up on it while GIMP handed the layer over: a new connection
    sock = _connect(resident, min(deadline, time.time() + SERVER_START_S))
    if sock is None:
        return False
    return bool(_served_on(resident, sock, args, deadline, timeout, on_line))


def _served_on(resident, sock, args, deadline, timeout, on_line):
    """_served, the connection closed afterwards; None where the server had closed it before
    taking the run."""
    try:
        return _served(resident, sock, args, deadline, timeout, on_line)
    except _Closed:
        return None
    finally:
        sock.close()


def _try_connect(path, timeout):
    """A connection to the server at `path`, or None if it cannot be made within `timeout`."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except socket.error:  # socket.timeout included
        sock.close()
        return None
    return sock


def _connect(resident, until):
    """A connection to the server, tried again while it starts; None once it will not come (one
    that has not listened by `until` is stopped)."""
    while True:
        sock = _try_connect(resident.path, max(0.01, min(1.0, until - time.time())))
        if sock is not None:  # (a full backlog blocks: hence the timeout)
            return sock
        starting = resident.started is not None and resident.started.poll() is None
        if not (starting or server_running(resident.path)):
            return None
        if time.time() > until:
            if starting:
                _kill(resident.started)
            return None
        time.sleep(0.01)


def _served(resident, sock, args, deadline, timeout, on_line):
    """One run over a connection (see colorize_core/bridge_server.py for the protocol)."""
    reader = _LineReader(sock)
    try:  # a server busy with another GIMP's run, or hung, greets late: a fresh core runs this one
        line = reader.line(min(deadline, time.time() + SERVER_START_S))
    except _Late:
        return False
    if line is None:
        raise _Closed()
    hello = _json(line)
    if not hello or hello.get("protocol") != RESIDENT_PROTOCOL:
        return False
    try:
        request = {"protocol": RESIDENT_PROTOCOL, "argv": [_text(a) for a in args],
                   "cwd": _text(os.getcwd()), "owner": os.getppid()}
    except (UnicodeError, OSError):  # OSError: a working folder gone
        return False
    try:
        sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
    except socket.error:
        raise _Closed()  # noqa: B904 (Python 2.7 has no "raise ... from")
    try:
        reply = _answer(reader, deadline, on_line)
    except _Late:
        _stop_server(resident, hello.get("pid"))
        # Python 2.7 has no "raise ... from"
        raise _timed_out(timeout)  # noqa: B904
    if reply is None:  # it ended without an answer: make sure it is gone, then a fresh core runs
        if server_running(resident.path):
            _stop_server(resident, hello.get("pid"))
        return False
    if "declined" in reply:
        return False
    if reply.get("exit") != 0:
        raise _failure(int(reply.get("exit", 1)), reply.get("stderr") or "")
    return True


def _answer(reader, deadline, on_line):
    """The server's answer (a dict), the run's own lines passed to on_line meanwhile; None if the
    connection ends first."""
    while True:
        line = reader.line(deadline)
        if line is None:
            return None
        if not line.startswith(b"{"):  # what the run prints: progress, rows
            on_line(line)
            continue
        return _json(line) or {}


class _LineReader(object):
    """The lines a server sends."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def line(self, deadline):
        """The next line; None once the server hangs up (or the connection fails); _Late past
        `deadline`."""
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise _Late()
            self.sock.settimeout(min(left, 0.5))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except socket.error:
                return None
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line


def _json(line):
    try:
        value = json.loads(line.decode("utf-8"))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _text(arg):
    """An argument as JSON text (bytes from Python 2 are UTF-8 paths; others raise UnicodeError)."""
    return arg.decode("utf-8") if isinstance(arg, bytes) else arg


def _stop_server(resident, pid):
    """Stop a server (and its process group): SIGTERM, then SIGKILL after a grace period."""
    if resident.started is not None and resident.started.poll() is None:
        _kill(resident.started)  # ours: reaped too
        return
    if not isinstance(pid, int):
        return
    try:
        _stop_group(os.getpgid(pid), lambda: not _exists(pid))
    except OSError:  # it has gone
        pass


def _exists(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def colorize_pixels(core, data, dtype, shape, strength=1.0, model="", threads=0,
                    timeout=None, progress=None, hints=None, resident=None, on_rows=None):
    """Colorize raw pixels (bytes, C order) via the core; return the new raw bytes.

    hints: None, or (bytes, (h, w)) of R'G'B'A u8 colour hints over the pixels.
    resident: the core's Resident (start_resident), tried before a fresh core; None: a fresh core.
    on_rows: None, or on_rows(top, bottom, data), given the colorized rows top..bottom as the core
    makes them, top to bottom (and again from the top should a fresh core take over); nothing is
    returned then, and only a return without an exception means they were all given.
    Raises BridgeError (the message is for the user); never returns partial results.
    """
    tmp = _handover_tmpdir()
    rows = None
    try:
        src = os.path.join(tmp, "in.npy")
        dst = os.path.join(tmp, "out.npy")
        write_npy(src, data, dtype, shape)
        args = ["bridge", src, dst, "--strength", repr(float(strength)), "--progress"]
        if hints is not None:
            hints_path = os.path.join(tmp, "hints.npy")
            write_npy(hints_path, hints[0], "|u1", (hints[1][0], hints[1][1], 4))
            args += ["--hints", hints_path]
        if model:
            args += ["--model", model]
        if threads:
            args += ["--threads", str(int(threads))]
        if on_rows is not None:
            args.append("--rows")
            rows = _Rows(dst, dtype, shape, on_rows)
        if timeout is None or timeout <= 0:
            timeout = default_timeout(shape[0] * shape[1])
        on_line = lines_to(progress, rows)
        deadline = time.time() + timeout
        if resident is None or not run_resident(resident, args, timeout, on_line, deadline):
            if rows is not None:
                rows.again()
            # what is left of the time, but a few seconds at least to start and say why
            run_core(core, args, timeout, on_line, deadline=max(deadline, time.time() + 5.0))
        if not os.path.isfile(dst):
            raise BridgeError("colorize-core reported success but wrote no output. %s"
                              % REINSTALL_HINT)
        if rows is None:
            return read_npy(dst, dtype, shape)
        rows.ready(shape[0])  # all of them, should the last line have been missed
        return None
    finally:
        if rows is not None:
            rows.close()
        if resident is not None:
            resident.close()  # its early connection, should the run not have got to it
        shutil.rmtree(tmp, ignore_errors=True)


def colorize_layer_pixels(core, data, dtype, shape, strength, model, threads, timeout,
                          progress_update, hints=None, on_rows=None):
    """A layer's pixels (the whole layer: the model sees all of it) -> colorized pixels, the same
    bytes layout, by `core` (prepare_core); progress_update(f) moves GIMP's bar from
    PROGRESS_START to PROGRESS_CORE_END.
    hints: None or (R'G'B'A u8 bytes, (h, w)) of a hints layer over this layer.
    on_rows: see colorize_pixels (GIMP 3 writes the rows into the layer's shadow as they come).
    Raises BridgeError (the layer has not been touched then)."""
    progress_update(PROGRESS_START)
    span = PROGRESS_CORE_END - PROGRESS_START
    return colorize_pixels(core.path, data, dtype, shape, strength=strength, model=model,
                           threads=threads, timeout=timeout,
                           progress=lambda f: progress_update(PROGRESS_START + span * f),
                           hints=hints, resident=core.resident, on_rows=on_rows)


def crop(data, width, bytes_per_pixel, x, y, w, h):
    """The bytes of the rectangle (x, y, w, h) of a row-major image `width` pixels wide (a
    selection's bounds: only they are written back)."""
    row = width * bytes_per_pixel
    if x == 0 and w == width:  # whole rows: one slice
        return data[y * row:(y + h) * row]
    mv = memoryview(data)
    return b"".join(mv[(y + r) * row + x * bytes_per_pixel:
                       (y + r) * row + (x + w) * bytes_per_pixel].tobytes()
                    for r in range(h))


def check_core(core, timeout=120):
    """``colorize-core bridge --check`` -> dict (version, model). Raises BridgeError."""
    out_file = tempfile.TemporaryFile()
    err_file = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(core_command(core, ["bridge", "--check"]), stdout=out_file,
                                stderr=err_file)
    except OSError as e:
        # Python 2.7 has no "raise ... from"
        raise BridgeError("Could not start %s: %s. %s" % (core, e, _start_hint()))  # noqa: B904
    t0 = time.time()
    while proc.poll() is None:
        if time.time() - t0 > timeout:
            _kill(proc)
            raise BridgeError("colorize-core bridge --check hung for %d s." % timeout)
        time.sleep(0.05)
    out_file.seek(0)
    err_file.seek(0)
    out = out_file.read().decode("utf-8", "replace")
    err = err_file.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise BridgeError("colorize-core bridge --check failed (exit %d). %s %s"
                          % (proc.returncode, _tail(err), REINSTALL_HINT))
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise BridgeError("colorize-core bridge --check printed no JSON: %s" % _tail(out))


def self_test(plugin_dir, width=64, height=48):
    """Used by `colorize-core gimp install` and `status`: config -> core -> round trip of a gray
    RGBA gradient. Prints a summary."""
    core, origin = find_core(plugin_dir)
    info = check_core(core)
    px = bytearray()
    for y in range(height):
        for x in range(width):
            g = (x * 255 // (width - 1) + y * 255 // (height - 1)) // 2
            px += bytearray((g, g, g, 200))
    out = colorize_pixels(core, bytes(px), "|u1", (height, width, 4), timeout=300)
    out = bytearray(out)
    if any(out[i] != 200 for i in range(3, len(out), 4)):
        raise BridgeError("self-test: alpha was not preserved")
    spread = max(max(out[i:i + 3]) - min(out[i:i + 3]) for i in range(0, len(out), 4))
    print("self-test ok: core %s (from %s), version %s, model %s, max chroma spread %d"
          % (core, origin, info.get("version"), info.get("model"), spread))
    return info


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--self-test":
        try:
            self_test(sys.argv[2])
        except BridgeError as e:
            print("self-test FAILED: %s" % e, file=sys.stderr)
            sys.exit(1)
    else:
        print("usage: colorize_bridge.py --self-test PLUGIN_DIR", file=sys.stderr)
        sys.exit(2)
