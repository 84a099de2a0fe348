"""Speed and memory of the runtime, as numbers (not timed tests: machines are shared and noisy).

    python benchmarks/bench_core.py [--model NAME|PATH [--model NAME|PATH ...]] [--repeat 5]

Prints, per model (several models are timed in interleaved rounds, so their ratios compare
fairly on a shared machine): model inference at its input size, and a whole 224x224 photo
colorized in memory (resize, model, chroma upsampling, merge), medians on 2 threads. Then, for
the first model, the CLI on a 12-megapixel grayscale JPEG to JPEG, process start to file
written (median wall, peak RSS), and the same on a 50-megapixel image (completes, wall, peak
RSS). The photos are made from scikit-image's astronaut (public domain), upscaled with noise
so that JPEG has real detail to code.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_photo(path: Path, width: int, height: int) -> Path:
    from skimage.data import astronaut

    base = Image.fromarray(astronaut()).convert("L").resize((width, height), Image.BICUBIC)
    noise = np.random.default_rng(0).normal(0, 6, (height, width))
    Image.fromarray(np.clip(np.asarray(base, np.float32) + noise, 0, 255).astype(np.uint8)).save(
        path, quality=92
    )
    return path


def bench_in_memory(
    models: list[str | None], repeat: int, threads: int = 2
) -> list[tuple[str, float, float]]:
    """(name, model inference ms, whole 224x224 photo ms) per model: medians over interleaved
    rounds."""
    from skimage.data import astronaut

    from colorize_core import Colorizer

    photo = Image.fromarray(astronaut()).convert("L").resize((224, 224), Image.BICUBIC)
    colorizers = [Colorizer(m, threads=threads) for m in models]
    inputs = []
    for c in colorizers:
        w, h = c.model.card.input_size
        inputs.append(np.random.default_rng(0).uniform(0, 255, (h, w)).astype(np.float32))
        c.colorize(photo)  # warm up
    times = [([], []) for _ in models]
    for _ in range(repeat):
        for c, y, (model_t, photo_t) in zip(colorizers, inputs, times, strict=True):
            t = time.perf_counter()
            c.model.predict(y)
            model_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            c.colorize(photo)
            photo_t.append(time.perf_counter() - t)
    return [
        (c.model.card.name, statistics.median(m) * 1000, statistics.median(p) * 1000)
        for c, (m, p) in zip(colorizers, times, strict=True)
    ]


def run_cli(src: Path, dst: Path, model: str | None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `colorize-core` process."""
    args = [
        sys.executable,
        "-m",
        "colorize_core",
        str(src),
        "-o",
        str(dst),
        "--overwrite",
        "--quiet",
    ]
    if model:
        args += ["--model", model]
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        f"r = subprocess.run({args!r}); w = time.perf_counter() - t; "
        "print(r.returncode, w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"colorize-core failed on {src}")
    return float(out[1]), float(out[2]) / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--model",
        action="append",
        help="model to measure (default: the shipped one); repeat to compare",
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-50mp", action="store_true")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    models = args.model or [None]
    for name, model_ms, photo_ms in bench_in_memory(models, args.repeat * 4):
        print(
            f"{name}: model inference at its input size, 2 threads, "
            f"median of {args.repeat * 4}: {model_ms:.1f} ms; "
            f"a 224x224 photo colorized in memory: {photo_ms:.1f} ms"
        )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = make_photo(tmp / "12mp.jpg", 4000, 3000)
        runs = [run_cli(src, tmp / "12mp_out.jpg", models[0]) for _ in range(args.repeat)]
        print(
            "CLI 12 MP JPEG -> JPEG, process start to file written: "
            f"median {statistics.median(r[0] for r in runs):.2f} s "
            f"(min {min(r[0] for r in runs):.2f}), peak RSS {max(r[1] for r in runs):.0f} MB"
        )
        if not args.skip_50mp:
            big = make_photo(tmp / "50mp.jpg", 8165, 6124)
            wall, rss = run_cli(big, tmp / "50mp_out.jpg", models[0])
            ok = Image.open(tmp / "50mp_out.jpg").size == (8165, 6124)
            print(
                f"CLI 50 MP JPEG -> JPEG: {'completed' if ok else 'WRONG SIZE'} in {wall:.2f} s, "
                f"peak RSS {rss:.0f} MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
