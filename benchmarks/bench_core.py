"""Speed and memory of the runtime, as numbers (not timed tests: machines are shared and noisy).

    python benchmarks/bench_core.py [--model PATH] [--repeat 5]

Prints: model inference at its input size (median, 2 threads); the CLI on a 12-megapixel
grayscale JPEG to JPEG, process start to file written (median wall, peak RSS); the same on
a 50-megapixel image (completes, wall, peak RSS). The photos are made from scikit-image's
astronaut (public domain), upscaled with noise so that JPEG has real detail to code.
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
    Image.fromarray(np.clip(np.asarray(base, np.float32) + noise, 0, 255).astype(np.uint8)).save(path, quality=92)
    return path


def bench_inference(model: str | None, repeat: int, threads: int = 2) -> float:
    from colorize_core.model import Model
    m = Model(model, threads=threads)
    w, h = m.card.input_size
    y = np.random.default_rng(0).uniform(0, 255, (h, w)).astype(np.float32)
    m.predict(y)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        m.predict(y)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def run_cli(src: Path, dst: Path, model: str | None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `colorize-core` process."""
    args = [sys.executable, "-m", "colorize_core", str(src), "-o", str(dst), "--overwrite", "--quiet"]
    if model:
        args += ["--model", model]
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            f"r = subprocess.run({args!r}); w = time.perf_counter() - t; "
            "print(r.returncode, w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"colorize-core failed on {src}")
    return float(out[1]), float(out[2]) / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model to measure (default: the shipped one)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-50mp", action="store_true")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    print(f"model inference at input size, 2 threads, median of {args.repeat * 4}: "
          f"{bench_inference(args.model, args.repeat * 4):.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = make_photo(tmp / "12mp.jpg", 4000, 3000)
        runs = [run_cli(src, tmp / "12mp_out.jpg", args.model) for _ in range(args.repeat)]
        print(f"CLI 12 MP JPEG -> JPEG, process start to file written: median {statistics.median(r[0] for r in runs):.2f} s "
              f"(min {min(r[0] for r in runs):.2f}), peak RSS {max(r[1] for r in runs):.0f} MB")
        if not args.skip_50mp:
            big = make_photo(tmp / "50mp.jpg", 8165, 6124)
            wall, rss = run_cli(big, tmp / "50mp_out.jpg", args.model)
            ok = Image.open(tmp / "50mp_out.jpg").size == (8165, 6124)
            print(f"CLI 50 MP JPEG -> JPEG: {'completed' if ok else 'WRONG SIZE'} in {wall:.2f} s, peak RSS {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
