"""The `colorize-core` command line: colorize photos, files or folders, or serve the GIMP bridge.

Exit codes: 0 every input done (or skipped on purpose), 1 some inputs failed, 2 usage or model
error. Heavy imports (numpy, Pillow, LiteRT) happen only once there is work to do.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import __version__

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")
OUTPUT_TAG = "_colorized"
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or an unusable model: nothing was attempted."""


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="colorize-core",
        description="Colorize black-and-white photos with a deep CNN (VGG16 transfer learning, YUV, "
                    "chroma compression). Your photo's own full-resolution luminance is kept; only "
                    "the colour comes from the model.",
        epilog="Outputs are named PHOTO_colorized.EXT beside each input (or inside -o FOLDER) and never "
               "replace an existing file unless --overwrite. `colorize-core bridge --help` documents "
               "the raw-pixel mode the GIMP plug-in uses. Exit codes: 0 ok, 1 some inputs failed, "
               "2 usage or model error.")
    ap.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="photo files and/or folders")
    ap.add_argument("-o", "--output", type=Path, metavar="PATH",
                    help="output file (one input) or folder (created if missing)")
    ap.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders of folder inputs")
    ap.add_argument("--overwrite", action="store_true", help="allow replacing existing files, inputs included")
    ap.add_argument("--strength", type=float, default=1.0,
                    help="colour strength: 0 gray, 1 as predicted (default), >1 more saturated")
    ap.add_argument("--skip-color", action="store_true", help="leave photos that are already in colour alone")
    ap.add_argument("--format", choices=[s.lstrip(".") for s in IMAGE_SUFFIXES],
                    help="output format (default: the input's, or -o FILE's extension)")
    ap.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality 1-100 (default 95)")
    ap.add_argument("--png-compression", type=int, default=6, help="PNG zlib level 0-9 (default 6; 1 is 4x faster)")
    ap.add_argument("--model", help="a shipped model's name: default or fast (about 10x faster, colours about as "
                                    "good), or a .tflite file with its .json card")
    ap.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores)")
    ap.add_argument("--max-megapixels", type=float, default=200.0,
                    help="refuse images larger than this (default 200; guards against decompression bombs)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    ap.add_argument("--json", action="store_true", help="print a JSON report of every input on stdout")
    ap.add_argument("--version", action="version", version=f"colorize-core {__version__}")
    return ap


def validate(args: argparse.Namespace) -> None:
    if args.strength < 0:
        raise UsageError(f"--strength must be 0 or more, got {args.strength}")
    if not 1 <= args.quality <= 100:
        raise UsageError(f"--quality must be 1-100, got {args.quality}")
    if not 0 <= args.png_compression <= 9:
        raise UsageError(f"--png-compression must be 0-9, got {args.png_compression}")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be 1 or more, got {args.threads}")
    if args.max_megapixels <= 0:
        raise UsageError(f"--max-megapixels must be positive, got {args.max_megapixels}")


def collect(inputs: list[Path], recursive: bool) -> list[tuple[Path, Path]]:
    """(photo, path relative to its input root) for every input; folders expand to their photos.

    Files this tool wrote before (*_colorized.*) are not picked up again from folders.
    Missing paths stay in the list, so that they are reported as failures.
    """
    jobs = []
    for item in inputs:
        if item.is_dir():
            pattern = item.rglob("*") if recursive else item.glob("*")
            found = sorted(p for p in pattern if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                           and not p.stem.endswith(OUTPUT_TAG) and not p.name.startswith("."))
            jobs.extend((p, p.relative_to(item)) for p in found)
        else:
            jobs.append((item, Path(item.name)))
    return jobs


def output_path(src: Path, rel: Path, args: argparse.Namespace, single: bool) -> Path:
    """Where the result for `src` goes."""
    ext = "." + args.format if args.format else src.suffix.lower()
    if args.output is not None and single and not args.output.is_dir() and args.output.suffix:
        return args.output if not args.format else args.output.with_suffix(ext)
    name = rel.with_name(rel.stem + OUTPUT_TAG + ext)
    if args.output is not None:
        return args.output / name
    return src.with_name(name.name)


class Progress:
    """One line on stderr: a bar on a terminal, plain lines otherwise; silent with --quiet/--json."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled, self.tty = total, enabled, sys.stderr.isatty()

    def update(self, done: int, message: str) -> None:
        if not self.enabled:
            return
        if self.tty and self.total > 1:
            width = 24
            filled = int(width * done / self.total)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {message[:60]:<60}")
            if done == self.total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(message + "\n")
        sys.stderr.flush()


def run_batch(args: argparse.Namespace) -> int:
    from .files import process_one
    from .imageio import ImageIOError
    from .model import ModelError
    from .pipeline import Colorizer

    jobs = collect(args.inputs, args.recursive)
    if not jobs:
        raise UsageError("no photos found in the given folders "
                         f"({', '.join(IMAGE_SUFFIXES)}; use --recursive for sub-folders)")
    single = len(jobs) == 1 and not args.inputs[0].is_dir()
    if args.output is not None and not single and args.output.exists() and not args.output.is_dir():
        raise UsageError(f"-o {args.output}: several inputs need an output folder, and this is a file")
    try:
        colorizer = Colorizer(args.model, threads=args.threads)
    except ModelError as exc:
        raise UsageError(f"model: {exc}") from None
    results = []
    progress = Progress(len(jobs), enabled=not (args.quiet or args.json))
    for i, (src, rel) in enumerate(jobs, 1):
        dst = output_path(src, rel, args, single)
        t0 = time.perf_counter()
        result = {"input": str(src), "output": str(dst)}
        try:
            result.update(process_one(colorizer, src, dst, args))
        except (ImageIOError, ModelError) as exc:
            result.update(status="error", error=str(exc), output=None)
        except MemoryError:
            result.update(status="error", error=f"{src}: out of memory", output=None)
        result["seconds"] = round(time.perf_counter() - t0, 3)
        results.append(result)
        for w in result.get("warnings", []):
            if not args.quiet and not args.json:
                print(f"colorize-core: warning: {src}: {w}", file=sys.stderr)
        if result["status"] == "error":
            if not args.json:
                print(f"colorize-core: error: {result['error']}", file=sys.stderr)
            progress.update(i, f"failed {src.name}")
        elif result["status"] == "skipped":
            progress.update(i, f"skipped {src} ({result['reason']})")
        else:
            progress.update(i, f"colorized {src} -> {dst} ({result['seconds']:.2f} s)")
    failed = [r for r in results if r["status"] == "error"]
    if args.json:
        summary = {s: sum(r["status"] == s for r in results) for s in ("ok", "skipped", "error")}
        print(json.dumps({"version": __version__, "model": colorizer.model.card.name,
                          "results": results, "summary": summary}, indent=2))
    elif failed and len(results) > 1:
        print(f"colorize-core: {len(failed)} of {len(results)} inputs failed:", file=sys.stderr)
        for r in failed:
            print(f"  {r['error']}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bridge":
        from .bridge import main as bridge_main
        return bridge_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        validate(args)
        return run_batch(args)
    except UsageError as exc:
        print(f"colorize-core: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("colorize-core: interrupted; finished outputs are kept, none is half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
