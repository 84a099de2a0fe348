"""Throughput of `colorize-core cluster` with 1 and 2 workers on this machine, in one run.

    python benchmarks/bench_cluster.py [--photos 24] [--model NAME]

Each count is a local Ray instance started by the command itself (--workers N), timed from process
start to the last file written, on the same photos (3 MP gray JPEGs made from scikit-image's
astronaut); photos per second include Ray's start-up, as an archivist's run does. Prints the
speed-up of 2 workers over 1 and the rate without the start-up (its time measured on zero photos).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_core import make_photo  # noqa: E402


def timed_run(album: Path, out: Path, workers: int, model: str | None) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "colorize_core",
            "cluster",
            str(album),
            "-o",
            str(out),
            "-q",
            "--workers",
            str(workers),
            *(["--model", model] if model else []),
        ],
        check=True,
    )
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=24)
    ap.add_argument("--model")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        album, empty = tmp / "album", tmp / "empty"
        album.mkdir()
        empty.mkdir()
        make_photo(album / "p00.jpg", 2100, 1400)
        for i in range(1, args.photos):
            shutil.copy(album / "p00.jpg", album / f"p{i:02d}.jpg")
        make_photo(empty / "only.jpg", 64, 48)
        start = {
            w: timed_run(empty, tmp / "o0", w, args.model) for w in (1, 2)
        }  # start-up and one tiny photo
        wall = {w: timed_run(album, tmp / "o", w, args.model) for w in (1, 2)}
        print(f"{args.photos} photos of 2100x1400 (2.9 MP), model {args.model or 'default'}")
        for w in (1, 2):
            print(
                f"  {w} worker(s): {wall[w]:.1f} s, {args.photos / wall[w]:.2f} photos/s "
                f"({args.photos / max(wall[w] - start[w], 1e-6):.2f} photos/s "
                f"past a {start[w]:.1f} s start-up)"
            )
        print(f"  2 workers / 1 worker: {wall[1] / wall[2]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
