"""The GIMP plug-ins' resident core (`colorize-core bridge-server`) through the plug-ins' own client
(colorize_core/gimp_plugin/colorize_bridge.py): the real core in its own process, a real Unix
socket, real photos. A fresh core's results are the reference."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from colorize_core import bridge_server

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "colorize_core" / "gimp_plugin"))
import colorize_bridge as bridge  # noqa: E402

pytestmark = pytest.mark.skipif(os.name == "nt", reason="no resident core on Windows")


def _core_script(path: Path, pythonpath: Path | None = None) -> str:
    """An executable that runs colorize-core, as the plug-in's config names one."""
    env = f"PYTHONPATH={pythonpath} " if pythonpath else ""
    path.write_text(f'#!/bin/sh\n{env}exec {sys.executable} -m colorize_core "$@"\n')
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def core(tmp_path) -> str:
    return _core_script(tmp_path / "colorize-core")


@pytest.fixture
def pixels(astronaut_rgb) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(astronaut_rgb.convert("RGB")))


def _colorize(core: str, px: np.ndarray, resident, **kw) -> np.ndarray:
    out = bridge.colorize_pixels(core, px.tobytes(), "|u1", px.shape, resident=resident, **kw)
    return np.frombuffer(out, np.uint8).reshape(px.shape)


def _server_pid(sock: str) -> int:
    return int(Path(sock + ".lock").read_text())


def _wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_protocol_versions_agree():
    assert bridge.RESIDENT_PROTOCOL == bridge_server.PROTOCOL


def test_runs_on_the_resident_core_give_a_fresh_cores_pixels(core, runtime_dir, pixels):
    fresh = _colorize(core, pixels, None)
    first = bridge.start_resident(core)
    assert first.started is not None and Path(first.path).parent == runtime_dir / "colorize"
    progress = []
    assert np.array_equal(_colorize(core, pixels, first, progress=progress.append), fresh)
    assert progress[0] == 0.0 and progress[-1] == 1.0
    pid = _server_pid(first.path)
    second = bridge.start_resident(core)
    assert second.path == first.path and second.started is None  # it runs already
    half = _colorize(core, pixels, second, strength=0.5)
    assert np.array_equal(half, _colorize(core, pixels, None, strength=0.5))
    assert not np.array_equal(half, fresh)
    assert _server_pid(first.path) == pid  # one process served both runs
    assert os.stat(first.path).st_mode & 0o777 == 0o600


def test_rows_as_they_come_are_the_pixels(core, runtime_dir, pixels):
    """on_rows (GIMP 3 writes rows into the layer as they come) gets every row once, top to
    bottom, identical to the whole output, from the resident core and from a fresh one."""
    tall = np.ascontiguousarray(np.concatenate([pixels, pixels[::-1]]))
    whole = _colorize(core, tall, None)
    for resident in (None, bridge.start_resident(core)):
        got = []
        out = bridge.colorize_pixels(
            core,
            tall.tobytes(),
            "|u1",
            tall.shape,
            resident=resident,
            on_rows=lambda top, bottom, data, got=got: got.append((top, bottom, data)),
        )
        assert out is None and len(got) > 1
        assert [g[0] for g in got] == [0] + [g[1] for g in got[:-1]] and got[-1][1] == len(tall)
        assert b"".join(g[2] for g in got) == whole.tobytes()


def test_failures_say_what_a_fresh_core_says(core, runtime_dir, tmp_path, pixels):
    small = np.ascontiguousarray(pixels[:64, :64])
    resident = bridge.start_resident(core)
    for options in (
        {"model": str(tmp_path / "missing.tflite")},
        {"model": "fast", "hints": (bytes(64 * 64 * 4), (64, 64))},
    ):
        with pytest.raises(bridge.BridgeError) as fresh:
            _colorize(core, small, None, **options)
        with pytest.raises(bridge.BridgeError) as served:
            _colorize(core, small, resident, **options)
        assert str(served.value) == str(fresh.value)
    assert resident.started.poll() is None  # it serves on
    _colorize(core, small, resident)


def test_the_server_ends_with_its_owner_and_when_idle(core, runtime_dir):
    folder = runtime_dir / "colorize"
    folder.mkdir(mode=0o700)
    owner = subprocess.Popen(["sleep", "60"])
    server = subprocess.Popen(
        [core, "bridge-server", str(folder / "a.sock"), "--owner", str(owner.pid)]
    )
    _wait_for(lambda: (folder / "a.sock").exists())
    owner.kill()
    owner.wait()
    assert server.wait(timeout=30) == 0
    assert not (folder / "a.sock").exists() and (folder / "a.sock.lock").read_text() == ""
    idle = subprocess.Popen([core, "bridge-server", str(folder / "b.sock"), "--idle", "0.5"])
    assert idle.wait(timeout=30) == 0
    bad = subprocess.run(
        [core, "bridge-server", str(folder / "c.sock"), "--idle", "nan"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--idle" in bad.stderr


def test_sigterm_stops_the_server_and_removes_its_socket(core, runtime_dir, pixels):
    resident = bridge.start_resident(core)
    _colorize(core, np.ascontiguousarray(pixels[:32, :32]), resident)
    resident.started.terminate()
    assert resident.started.wait(timeout=30) == 0
    assert not Path(resident.path).exists() and not bridge.server_running(resident.path)
    assert Path(resident.path + ".lock").read_text() == ""


def test_a_busy_server_leaves_the_run_to_a_fresh_core(core, runtime_dir, pixels, monkeypatch):
    """A server busy with another client (here one that connected and says nothing) greets late:
    after SERVER_START_S the run goes to a fresh core rather than waiting out its timeout."""
    resident = bridge.start_resident(core)
    _colorize(core, np.ascontiguousarray(pixels[:32, :32]), resident)
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(resident.path)  # the server now waits for its request (REQUEST_WAIT_S)
    monkeypatch.setattr(bridge, "SERVER_START_S", 1.0)
    try:
        t0 = time.monotonic()
        out = _colorize(core, pixels, resident)
        took = time.monotonic() - t0
    finally:
        silent.close()
    assert np.array_equal(out, _colorize(core, pixels, None))
    assert took < bridge_server.REQUEST_WAIT_S
    assert resident.started.poll() is None  # nobody stopped it: it was only busy


def test_a_run_whose_client_hangs_up_is_ended(core, runtime_dir, pixels, tmp_path):
    """GIMP stopping the plug-in mid-run must not leave the server working for nobody: the run
    ends at its next line, unanswered, and the server takes the next run."""
    resident = bridge.start_resident(core)
    _colorize(core, np.ascontiguousarray(pixels[:32, :32]), resident)
    big = np.ascontiguousarray(np.tile(pixels, (40, 2, 1)))  # 20480 rows: 80 bands, ~0.2 s
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, big)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(resident.path)
    lines = conn.makefile("rb")
    assert json.loads(lines.readline())["protocol"] == bridge.RESIDENT_PROTOCOL
    request = {"protocol": 1, "argv": ["bridge", str(src), str(dst), "--rows"], "cwd": "/"}
    conn.sendall((json.dumps(request) + "\n").encode())
    assert lines.readline().startswith(b"rows ")
    lines.close()
    conn.close()  # gone after the first band
    small = np.ascontiguousarray(pixels[:64, :64])
    assert np.array_equal(_colorize(core, small, resident), _colorize(core, small, None))
    assert not np.load(dst)[-1].any()  # the last band was never made
    assert resident.started.poll() is None


def test_one_server_per_socket(core, runtime_dir):
    resident = bridge.start_resident(core)
    _wait_for(lambda: Path(resident.path).exists())
    other = subprocess.run([core, "bridge-server", resident.path], timeout=60)
    assert other.returncode == 0  # it found the lock taken
    assert resident.started.poll() is None and _server_pid(resident.path) == resident.started.pid


def test_a_late_run_stops_the_server(core, runtime_dir, pixels):
    resident = bridge.start_resident(core)
    _colorize(core, np.ascontiguousarray(pixels[:32, :32]), resident)  # the model is loaded
    big = np.tile(pixels, (12, 12, 1))  # 37.7 MP: seconds of work
    with pytest.raises(bridge.BridgeError, match="did not finish within"):
        _colorize(core, big, resident, timeout=0.2)
    assert resident.started.poll() is not None  # stopped and reaped


@pytest.mark.parametrize(
    "answers",
    [
        [{"pid": 1, "protocol": 1}, {"declined": "updated"}],
        [{"pid": 1, "protocol": 1}],  # it hangs up without an answer
        [{"pid": 1, "protocol": 99}],
    ],
    ids=["declined", "hung-up", "other-protocol"],
)
def test_a_run_the_server_does_not_do_is_done_by_a_fresh_core(core, runtime_dir, pixels, answers):
    resident = bridge.Resident(bridge.resident_socket(core))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(resident.path)
    listener.listen(1)
    asked = []

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.sendall((json.dumps(answers[0]) + "\n").encode())
            if answers[0]["protocol"] == 1:
                asked.append(json.loads(conn.makefile("rb").readline()))
            for a in answers[1:]:
                conn.sendall((json.dumps(a) + "\n").encode())

    t = threading.Thread(target=serve)
    t.start()
    try:
        out = _colorize(core, pixels, resident)
    finally:
        t.join(30)
        listener.close()
    assert np.array_equal(out, _colorize(core, pixels, None))
    if asked:
        assert asked[0]["argv"][0] == "bridge" and asked[0]["owner"] == os.getppid()
        assert asked[0]["cwd"] == os.getcwd()


def test_an_updated_core_declines_and_a_fresh_one_runs(tmp_path, runtime_dir, pixels):
    """An upgrade rewrites the package under a running server: it must not serve old code."""
    pkg = tmp_path / "site"
    shutil.copytree(
        REPO / "colorize_core",
        pkg / "colorize_core",
        ignore=shutil.ignore_patterns("models", "samples", "__pycache__"),
    )
    (pkg / "colorize_core" / "models").symlink_to(REPO / "colorize_core" / "models")
    core = _core_script(tmp_path / "colorize-core", pythonpath=pkg)
    resident = bridge.start_resident(core)
    before = _colorize(core, pixels, resident)
    color_py = pkg / "colorize_core" / "color.py"
    st = color_py.stat()
    os.utime(color_py, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert np.array_equal(_colorize(core, pixels, bridge.start_resident(core)), before)
    assert resident.started.wait(timeout=30) == 0  # it declined, and went


@pytest.fixture
def short_dir():
    """A folder with a short path (a socket's path holds 100-odd bytes)."""
    d = Path(tempfile.mkdtemp(prefix="colorize-t-"))
    yield d
    shutil.rmtree(d)


def test_sockets_only_in_a_folder_of_the_users_alone(core, short_dir, monkeypatch):
    run, tmp = short_dir / "run", short_dir / "tmp"
    (run / "colorize").mkdir(parents=True)
    (tmp / f"colorize-{os.getuid()}").mkdir(parents=True)
    os.chmod(run / "colorize", 0o755)
    os.chmod(tmp / f"colorize-{os.getuid()}", 0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    assert bridge.resident_socket(core) is None
    os.chmod(tmp / f"colorize-{os.getuid()}", 0o700)
    assert Path(bridge.resident_socket(core)).parent == tmp / f"colorize-{os.getuid()}"
    refused = subprocess.run(
        [core, "bridge-server", str(run / "colorize" / "x.sock")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and "0700" in refused.stderr
    for name, value in (("COLORIZE_RESIDENT", "0"), ("FLATPAK_ID", "org.gimp.GIMP")):
        with monkeypatch.context() as m:
            m.setenv(name, value)
            assert bridge.resident_socket(core) is None


def _cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_over(pid: int, seconds: float) -> float:
    before = _cpu_seconds(pid)
    time.sleep(seconds)
    return _cpu_seconds(pid) - before


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.skipif(bridge_server._cpus() < 2, reason="the server polls only with two CPUs")
def test_the_server_keeps_a_cpu_awake_while_its_client_talks_to_gimp(
    core, runtime_dir, pixels, monkeypatch
):
    """prepare_core connects to a running server before GIMP hands the layer over; the server
    polls that connection (a CPU kept busy: GIMP's tile exchange is faster then) until the run
    comes, and again after its answer until the client hangs up, never past POLL_S; the run on
    the early connection gives a fresh core's pixels; one the server has given up on (a layer
    read for longer than POLL_S + REQUEST_WAIT_S) connects again, and the server still runs it."""
    monkeypatch.setenv(bridge.ENV_CORE, core)
    small = np.ascontiguousarray(pixels[:32, :32])
    first = bridge.prepare_core(str(runtime_dir))
    assert first.resident.started is not None and first.resident.conn is None  # it is starting
    _colorize(core, small, first.resident)
    pid = _server_pid(first.resident.path)
    assert _cpu_over(pid, 0.5) < 0.05  # idle between runs

    waiting = bridge.prepare_core(str(runtime_dir))
    assert waiting.resident.started is None and waiting.resident.conn is not None
    assert _cpu_over(pid, 0.5) > 0.1  # polling: the layer is being read
    out = _colorize(core, pixels, waiting.resident)
    assert waiting.resident.conn is None  # the run used it
    fresh = _colorize(core, pixels, None)
    assert np.array_equal(out, fresh)

    unused = bridge.prepare_core(str(runtime_dir))
    unused.close()
    assert unused.resident.conn is None

    slow = bridge.prepare_core(str(runtime_dir))
    time.sleep(bridge_server.POLL_S + 0.2)
    assert _cpu_over(pid, 0.5) < 0.05  # polls no longer than POLL_S
    time.sleep(bridge_server.REQUEST_WAIT_S)  # and then gives up on the connection
    with monkeypatch.context() as m:
        m.setattr(bridge, "run_core", None)  # a fresh core would fail the test
        assert np.array_equal(_colorize(core, pixels, slow.resident), fresh)

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # a client that stays after the answer
    conn.connect(first.resident.path)
    lines = conn.makefile("rb")
    src, dst = runtime_dir / "in.npy", runtime_dir / "out.npy"
    np.save(src, small)
    request = {"protocol": 1, "argv": ["bridge", str(src), str(dst)], "cwd": "/"}
    conn.sendall((json.dumps(request) + "\n").encode())
    assert json.loads(lines.readline())["protocol"] == bridge.RESIDENT_PROTOCOL
    assert json.loads(lines.readline())["exit"] == 0
    assert _cpu_over(pid, 0.5) > 0.1  # polling: the last rows are going to GIMP
    lines.close()
    conn.close()
    time.sleep(0.1)
    assert _cpu_over(pid, 0.5) < 0.05
