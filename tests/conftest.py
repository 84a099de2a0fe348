"""Shared fixtures: real photos (scikit-image's public-domain set), the real CLI in a subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="session")
def astronaut_rgb() -> Image.Image:
    """A real colour photo (NASA, public domain), 512x512."""
    return Image.fromarray(skimage_data.astronaut())


@pytest.fixture(scope="session")
def coffee_rgb() -> Image.Image:
    """A real colour photo (public domain), 600x400."""
    return Image.fromarray(skimage_data.coffee())


@pytest.fixture(scope="session")
def gray_photo(astronaut_rgb) -> Image.Image:
    """The astronaut as a black-and-white photo (mode L)."""
    return astronaut_rgb.convert("L")


@pytest.fixture
def gray_file(tmp_path, gray_photo) -> Path:
    path = tmp_path / "scan.png"
    gray_photo.save(path)
    return path


def stop_resident_servers(runtime: Path) -> None:
    """Stop the GIMP plug-ins' resident cores that serve sockets under `runtime` (an
    XDG_RUNTIME_DIR of a test's): their owner, the process that started the plug-in, outlives
    the test. Waits until they have gone."""
    pids = []
    for lock in runtime.glob("colorize*/*.sock.lock"):
        text = lock.read_text().strip()
        if text.isdigit():  # a server that exited has emptied it
            pids.append(int(text))
            os.kill(pids[-1], signal.SIGTERM)
    deadline = time.monotonic() + 10
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _running(p)]
        time.sleep(0.05)
    assert not pids, f"resident cores {pids} outlived SIGTERM"


def _running(pid: int) -> bool:
    """Whether `pid` runs (a child of this process that has ended is reaped)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def runtime_dir(monkeypatch) -> Path:
    """A private XDG_RUNTIME_DIR for this test, where the plug-ins' resident cores put their
    sockets (short: a socket's path holds 100-odd bytes); any still running afterwards are
    stopped."""
    runtime = Path(tempfile.mkdtemp(prefix="colorize-run-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("COLORIZE_RESIDENT", raising=False)
    yield runtime
    stop_resident_servers(runtime)
    shutil.rmtree(runtime)


def run_cli(*args, cwd=None, check=False, timeout=300) -> subprocess.CompletedProcess:
    """Run the real `colorize-core` (as `python -m colorize_core`) in a subprocess."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [sys.executable, "-m", "colorize_core", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def luma(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), np.float32)


def saturation(image: Image.Image) -> float:
    """Mean chroma magnitude in 8-bit Cb/Cr units."""
    ycc = np.asarray(image.convert("RGB").convert("YCbCr"), np.float32)
    return float(np.hypot(ycc[..., 1] - 128, ycc[..., 2] - 128).mean())


def hinted_cells(grid) -> int:
    """How many cells of a hint grid carry a hint (its mask channel above 0)."""
    import numpy as np

    return int(np.count_nonzero(np.asarray(grid)[..., 2] > 0))
