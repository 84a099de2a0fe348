"""The runtime stays light: no TensorFlow anywhere in colorize_core; the CLI module imports fast."""

import re
import subprocess
import sys
from pathlib import Path

import colorize_core

PACKAGE = Path(colorize_core.__file__).parent


def test_no_tensorflow_or_keras_import_in_the_runtime():
    pattern = re.compile(r"^\s*(import|from)\s+(tensorflow|keras|tf_keras)\b", re.M)
    offenders = [p.name for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_cli_import_pulls_in_nothing_heavy():
    code = (
        "import sys, colorize_core.cli; "
        "print(sorted(m for m in ('numpy', 'PIL', 'ai_edge_litert', 'tensorflow') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_colorizing_does_not_load_tensorflow(gray_photo):
    code = (
        "import sys; from PIL import Image; from colorize_core import colorize; "
        "colorize(Image.new('L', (64, 64), 128)); print('tensorflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
