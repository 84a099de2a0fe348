"""The linter configured in pyproject.toml (ruff: line length 100, pyflakes, import order,
bugbear) passes on the whole project, and the code is formatted as ruff formats it: tests, so
the README's test command and CI run them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _ruff() -> str:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed: it comes with the test extra (pip install '.[test]')"
    return ruff


def test_ruff_finds_nothing():
    ruff = _ruff()
    r = subprocess.run(
        [ruff, "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]


def test_the_code_is_formatted_as_ruff_formats_it():
    ruff = _ruff()
    r = subprocess.run(
        [ruff, "format", "--check", "--no-cache", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, "run `ruff format .`:\n" + r.stdout[-4000:] + r.stderr[-2000:]
