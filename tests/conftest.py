"""Shared fixtures: real photos (scikit-image's public-domain set), the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
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
