"""Throughput of the CLI against the floor of decoding and encoding the same photos, as ratios.

    python benchmarks/bench_throughput.py [--model NAME] [--repeat 5] [--photos 8] [--skip-big]

Every number is measured in this one run, the CLI and its floor interleaved, so their ratio holds
on a shared machine whose speed drifts (never compare absolute times across runs). Prints:
  1. one 13-megapixel gray JPEG to JPEG, process start to file written: the CLI against a bare
     Pillow decode + RGB encode of the same file as a process (target: at most 2.0x);
  2. a folder of N such photos in one CLI call (--jobs 1 and the default, all cores) against a bare
     in-process decode + RGB encode loop over the same files (target: at most 2.0x), with peak
     memory;
  3. PNG and TIFF outputs of the one photo (times, and against the JPEG run);
  4. peak memory of one 13 MP photo (target: at most 300 MB), a 50 MP photo (completes) and a
     60 MP one (target: under 1 GB).
Photos are made from scikit-image's astronaut (public domain), upscaled with noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_core import make_photo  # noqa: E402

# runs the command, then prints its wall time (spawn to exit, timed here so that this wrapper's own
# start-up is not counted), its peak RSS and its exit code
PEAK = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:]); "
    "t = time.perf_counter() - t; "
    "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)"
)
FLOOR_ONE = (
    "import sys; from PIL import Image; "
    "Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2], quality=95)"
)
FLOOR_LOOP = (
    "import sys, time; from pathlib import Path; from PIL import Image\n"
    "t = time.perf_counter()\n"
    "for p in sorted(Path(sys.argv[1]).glob('*.jpg')):\n"
    "    Image.open(p).convert('RGB').save(Path(sys.argv[2]) / p.name, quality=95)\n"
    "print(time.perf_counter() - t)"
)


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds from the process's spawn to its exit, peak RSS MB) of a command."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK, *cmd], capture_output=True, text=True, check=True
    ).stdout
    wall, rss_kb, code = out.split()[-3:]
    if code != "0":
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return float(wall), int(rss_kb) / 1024


def cli(src: Path, dst: Path, model: str | None, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "colorize_core",
        str(src),
        "-o",
        str(dst),
        "--overwrite",
        "-q",
        *(["--model", model] if model else []),
        *extra,
    ]


def median_pair(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model (default: the shipped default)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--photos", type=int, default=8)
    ap.add_argument("--skip-big", action="store_true", help="skip the 50 and 60 MP photos")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        one = make_photo(tmp / "p13.jpg", 4400, 3000)
        folder, out = tmp / "album", tmp / "out"
        folder.mkdir()
        out.mkdir()
        for i in range(args.photos):
            os.link(one, folder / f"p{i}.jpg")
        print(
            f"cores: {os.cpu_count()}, model: {args.model or 'default'}, "
            "13 MP = 4400x3000 gray JPEG"
        )

        floor, mine = [], []
        for _ in range(args.repeat):  # interleaved
            floor.append(timed([sys.executable, "-c", FLOOR_ONE, str(one), str(tmp / "f.jpg")]))
            mine.append(timed(cli(one, tmp / "o.jpg", args.model)))
        f, (m, m_rss) = median_pair(floor)[0], median_pair(mine)
        print(
            f"\n1. one 13 MP JPEG -> JPEG, process start to file written (median of {args.repeat})"
        )
        print(f"   floor (bare Pillow decode + RGB encode, a process): {f:.3f} s")
        print(
            f"   colorize-core: {m:.3f} s, peak {m_rss:.0f} MB   "
            f"ratio {m / f:.2f}x (target <= 2.0x)"
        )

        loops, batch1, batchn = [], [], []
        for _ in range(max(1, args.repeat // 2)):
            loops.append(
                float(
                    subprocess.run(
                        [sys.executable, "-c", FLOOR_LOOP, str(folder), str(out)],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                )
            )
            batch1.append(timed(cli(folder, out, args.model, "--jobs", "1")))
            batchn.append(timed(cli(folder, out, args.model)))
        lf = statistics.median(loops)
        (b1, r1), (bn, rn) = median_pair(batch1), median_pair(batchn)
        print(f"\n2. a folder of {args.photos} such photos, one CLI call (median of {len(loops)})")
        print(
            "   floor (in-process decode + RGB encode loop): "
            f"{lf:.3f} s, {lf / args.photos:.3f} s a photo"
        )
        print(f"   --jobs 1:                {b1:.3f} s, peak {r1:.0f} MB   ratio {b1 / lf:.2f}x")
        print(
            f"   --jobs {os.cpu_count()} (the default): {bn:.3f} s, peak {rn:.0f} MB   "
            f"ratio {bn / lf:.2f}x "
            f"(target <= 2.0x)"
        )

        print("\n3. other output formats, the one 13 MP photo (median of 3)")
        for ext, extra in ((".png", ()), (".png", ("--png-compression", "1")), (".tif", ())):
            w, r = median_pair(
                [timed(cli(one, tmp / f"o{ext}", args.model, *extra)) for _ in range(3)]
            )
            print(
                f"   {ext} {' '.join(extra):<20} {w:.3f} s, peak {r:.0f} MB   "
                f"({w / m:.2f}x the JPEG run)"
            )

        print("\n4. memory")
        print(f"   one 13 MP photo: peak {m_rss:.0f} MB (target <= 300 MB)")
        if not args.skip_big:
            for mp, (w, h) in ((50, (8660, 5774)), (60, (9487, 6325))):
                big = make_photo(tmp / f"p{mp}.jpg", w, h)
                wall, rss = timed(cli(big, tmp / f"o{mp}.jpg", args.model))
                target = "completes" if mp == 50 else "under 1 GB"
                print(
                    f"   {mp} MP ({w}x{h}): completed in {wall:.2f} s, "
                    f"peak {rss:.0f} MB (target: {target})"
                )
                big.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
