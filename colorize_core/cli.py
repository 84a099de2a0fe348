"""The `colorize-core` command line: colorize photos, files or folders, or serve the GIMP bridge.

Exit codes: 0 every input done (or skipped on purpose), 1 some inputs failed, 2 usage or model
error, 130 / 143 / 129 interrupted by Ctrl-C / SIGTERM / SIGHUP (finished outputs are kept).
Heavy imports (numpy, Pillow, LiteRT) happen only once there is work to do.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import NoReturn

from . import __version__
from .formats import DEFAULT_PNG_COMPRESSION, DEFAULT_QUALITY, FORMAT_NAMES, format_suffix
from .limits import DEFAULT_MAX_MEGAPIXELS, MAX_STRENGTH, batch_workers, check_max_megapixels, check_strength
from .native_stderr import discard_stream, serialized_stderr

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
# subcommands: the first argument names one (a photo called like one is ./NAME); each module has main(argv)
SUBCOMMANDS = {"bridge": "colorize_core.bridge", "cluster": "colorize_core.cluster",
               "gimp": "colorize_core.gimp_install"}
DASH_HINT = "a file name that starts with '-' goes after --, e.g. colorize-core -- -scan.jpg"


class UsageError(Exception):
    """Bad arguments or an unusable model: nothing was attempted.

    inputs: the photos at fault, where some are (for the --json report)."""

    def __init__(self, message: str, inputs: tuple[Path, ...] = ()):
        super().__init__(message)
        self.inputs = inputs


class ArgumentsError(UsageError):
    """What argparse refuses; printed after the usage line, as argparse does."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C: the photo being written is abandoned cleanly."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so --json can report usage errors too."""

    def error(self, message: str):
        if "required: INPUT" in message or "unrecognized arguments: -" in message:
            message += f" ({DASH_HINT})"
        raise ArgumentsError(message)


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(
        prog="colorize-core",
        description="Colorize black-and-white photos with a deep CNN (VGG16 transfer learning, YUV, "
                    "chroma compression). Your photo's own full-resolution luminance is kept; only "
                    "the colour comes from the model.",
        epilog="Outputs are named PHOTO_colorized.EXT beside each input (or inside -o FOLDER) and never "
               "replace an existing file unless --overwrite. `colorize-core bridge --help` documents "
               "the raw-pixel mode the GIMP plug-in uses, `colorize-core cluster --help` the Ray cluster mode, "
               "`colorize-core gimp install` puts the GIMP plug-in into every GIMP profile. Existing outputs "
               "are skipped (exit 0). A file name "
               "starting with '-' goes after --. Exit codes: 0 ok (or skipped), 1 some inputs failed, "
               "2 usage or model error, 130/143/129 interrupted (Ctrl-C/SIGTERM/SIGHUP).")
    ap.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="photo files and/or folders")
    ap.add_argument("-o", "--output", metavar="PATH",
                    help="output file (one input) or folder (created if missing; a trailing / always means a folder)")
    ap.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders of folder inputs")
    ap.add_argument("--overwrite", action="store_true", help="allow replacing existing files, inputs included")
    ap.add_argument("--strength", type=float, default=1.0,
                    help=f"colour strength from 0 to {MAX_STRENGTH:g}: 0 gray, 1 as predicted (default), "
                         ">1 more saturated")
    ap.add_argument("--skip-color", action="store_true", help="leave photos that are already in colour alone")
    ap.add_argument("--format", type=format_arg, metavar="EXT",
                    help=f"output format: {FORMAT_NAMES} (any case, a dot allowed; default: the input's, or -o "
                         "FILE's extension; a multi-page TIFF keeps every page only as tif)")
    ap.add_argument("--quality", type=int, default=DEFAULT_QUALITY,
                    help=f"JPEG/WebP quality 1-100 (default {DEFAULT_QUALITY})")
    ap.add_argument("--strip-metadata", action="store_true",
                    help="write no EXIF and no ICC profile (by default they are carried where the format holds "
                         "them; JPEG holds at most 64 KB of EXIF)")
    ap.add_argument("--png-compression", type=int, default=DEFAULT_PNG_COMPRESSION,
                    help=f"PNG zlib level 0-9 (default {DEFAULT_PNG_COMPRESSION}: level 6's size at a third of its "
                         "time; 9 is a few percent smaller and many times slower)")
    ap.add_argument("--hints", type=Path, metavar="HINTS.png",
                    help="colour hints for one photo: an RGBA image (any size, stretched over the photo) whose "
                         "non-transparent pixels are dots of the colour wanted there (only their hue and "
                         "saturation count). In folders, scan.hints.png beside scan.jpg is used for it")
    ap.add_argument("--hint", action="append", default=[], metavar="X,Y,#RRGGBB",
                    help="one colour hint at pixel (X, Y) of the photo, e.g. 120,80,#3050c0; repeatable")
    ap.add_argument("--model", help="a shipped model's name: default, fast (about 6x faster, colours about as "
                                    "good) or hints (used by itself whenever hints are given), or a .tflite file "
                                    "with its .json card (a shipped name wins over a file or folder of that name "
                                    "here: write ./NAME for those)")
    ap.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores)")
    ap.add_argument("--jobs", type=int, default=None,
                    help="photos in flight at once in a batch (default: all cores); each holds one decoded "
                         "photo, so peak memory grows with it")
    ap.add_argument("--max-megapixels", type=float, default=DEFAULT_MAX_MEGAPIXELS,
                    help=f"refuse images larger than this (default {DEFAULT_MAX_MEGAPIXELS:g}; guards against "
                         "decompression bombs; an image larger than the free memory is refused as well)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    ap.add_argument("--json", action="store_true", help="print a JSON report of every input on stdout")
    ap.add_argument("--version", action="version", version=f"colorize-core {__version__}")
    return ap


def format_arg(text: str) -> str:
    """--format's value as the extension it names ("JPG", ".jpg" -> "jpg"): the names -o FILE
    accepts, so that `--format JPG` works where `-o X.JPG` does."""
    suffix = format_suffix(text)
    if suffix is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a format this tool writes (one of {FORMAT_NAMES})")
    return suffix[1:]


def validate(args: argparse.Namespace) -> None:
    """Refuse values no photo can use (NaN and infinity included) before anything is loaded."""
    try:
        check_strength(args.strength)
        check_max_megapixels(args.max_megapixels)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None
    for name in ("threads", "jobs"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name} must be 1 or more, got {getattr(args, name)}")
    if args.hints is not None and args.hint:
        raise UsageError("give --hints HINTS.png or --hint X,Y,#RRGGBB, not both")


def checked_hints(args: argparse.Namespace) -> tuple:
    """--hints checked (readable, with alpha, not empty) and --hint values parsed into points,
    before any model loads: UsageError naming what is wrong."""
    from .hints import HintError, parse_point, read_file
    try:
        if args.hints is not None:
            read_file(args.hints, max_megapixels=args.max_megapixels)
        return tuple(parse_point(text) for text in args.hint)
    except HintError as exc:
        raise UsageError(f"hints: {exc}") from None


def batch_options(args: argparse.Namespace):
    """The parsed arguments as the batch module's options (which check them: UsageError if bad)."""
    from .batch import BatchOptions
    try:
        output = Path(args.output) if args.output is not None else None
        folder = args.output is not None and args.output.endswith(("/", os.sep))
        return BatchOptions(output=output, output_folder=folder, recursive=args.recursive, overwrite=args.overwrite,
                            strength=args.strength, skip_color=args.skip_color, format=args.format,
                            quality=args.quality, png_compression=args.png_compression,
                            max_megapixels=args.max_megapixels, hints=args.hints, hint_points=checked_hints(args),
                            strip_metadata=args.strip_metadata)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None


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


def run_batch(args: argparse.Namespace, results: list[dict]) -> int:
    """Colorize every input, appending one result per photo to `results` as it finishes."""
    loading = ModelLoad(args.model, args.threads)
    from .atomic import remove_stale_temps
    from .batch import BatchUsageError, Skip, plan, process_one, uses_hints
    from .imageio import ImageIOError

    opts = batch_options(args)
    try:
        jobs = plan(args.inputs, opts)
    except BatchUsageError as exc:
        raise UsageError(str(exc), exc.inputs) from None
    with_hints = uses_hints(jobs, opts)

    def colorizer():
        c = loading()  # UsageError for a model that cannot load
        args.model_name = c.model.card.name
        if with_hints:
            args.hint_model_name = _hint_model_of(c).card.name
        return c
    chatty = not (args.quiet or args.json)
    for folder in sorted({dst.parent for _, dst in jobs}):
        removed = remove_stale_temps(folder)
        if removed and chatty:
            print(f"colorize-core: removed {len(removed)} temporary file(s) left in {folder} by an interrupted run",
                  file=sys.stderr)
    progress = Progress(len(jobs), enabled=chatty)

    def one(src: Path, dst: Path) -> dict:
        t0 = time.perf_counter()
        result = {"input": str(src), "output": str(dst)}
        try:
            # UsageError (the model) ends the batch
            result.update(process_one(colorizer, src, dst, opts, before_decode=loading.start))
        except ImageIOError as exc:
            result.update(status="error", error=str(exc), output=None)
        except MemoryError:
            result.update(status="error", error=f"{src}: out of memory", output=None)
        result["seconds"] = round(time.perf_counter() - t0, 3)
        return result

    def report(result: dict) -> None:
        results.append(result)
        src = Path(result["input"])
        for w in result.get("warnings", []):
            if chatty:
                print(f"colorize-core: warning: {src}: {w}", file=sys.stderr)
        if result["status"] == "error":
            if not args.json:
                print(f"colorize-core: error: {result['error']}", file=sys.stderr)
            progress.update(len(results), f"failed {src.name}")
        elif result["status"] == "skipped":
            progress.update(len(results), f"skipped {src} ({result['reason']})")
        else:
            progress.update(len(results), f"colorized {src} -> {result['output']} ({result['seconds']:.2f} s)")

    workers, cut = batch_workers(args.jobs, len(jobs))
    if cut and not args.quiet:
        print(f"colorize-core: warning: {cut}", file=sys.stderr)
    if workers == 1:
        for src, dst in jobs:
            report(one(src, dst))
    else:  # decode, model and encode of different photos overlap (Pillow and LiteRT release the GIL)
        pool = ThreadPoolExecutor(workers, thread_name_prefix="colorize-batch")
        try:
            for future in as_completed([pool.submit(one, src, dst) for src, dst in jobs]):
                report(future.result())
        finally:  # on an interrupt: photos being written finish (atomically), the others never start
            pool.shutdown(wait=True, cancel_futures=True)
    colorizer()  # a broken model is a usage error even when every photo was skipped
    order = {str(src): i for i, (src, _) in enumerate(jobs)}
    results.sort(key=lambda r: order[r["input"]])
    failed = [r for r in results if r["status"] == "error"]
    existing = sum(r.get("skip") == Skip.OUTPUT_EXISTS for r in results)
    if args.json:
        _print_json(_report(args, results))
    else:
        if existing and chatty and len(results) > 1:
            print(f"colorize-core: {existing} of {len(results)} outputs existed already and were skipped "
                  "(use --overwrite to replace them)", file=sys.stderr)
        if failed and len(results) > 1:
            print(f"colorize-core: {len(failed)} of {len(results)} inputs failed:", file=sys.stderr)
            for r in failed:
                print(f"  {r['error']}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK


class ModelLoad:
    """The batch's Colorizer, loaded in a helper thread that starts as the first photo decodes.

    LiteRT holds the GIL while it builds an interpreter (~40 ms per network); Pillow decodes
    without it. Started from imageio.load's before_decode, the build runs beside the decode
    instead of stalling the Python steps that lead to it. The imports come first, in the
    caller's thread: they hold the GIL wherever they run.
    """

    def __init__(self, model: str | None, threads: int | None):
        from . import pipeline  # noqa: F401  (numpy, Pillow, the runtime's modules: imported once, here)
        self._model, self._threads = model, threads
        self._lock = threading.Lock()
        self._future: Future | None = None

    def start(self) -> None:
        """Start loading (once; later calls do nothing)."""
        with self._lock:
            if self._future is None:
                loader = ThreadPoolExecutor(1, thread_name_prefix="colorize-model")
                self._future = loader.submit(_load_colorizer, self._model, self._threads)
                loader.shutdown(wait=False)

    def __call__(self):
        """The Colorizer, once loaded; UsageError (exit 2) for a model that cannot load."""
        self.start()
        return self._future.result()


def _load_colorizer(model: str | None, threads: int | None):
    """The Colorizer for a batch; a model that cannot load is a usage error (exit 2)."""
    from .model import ModelError
    from .pipeline import Colorizer
    try:
        return Colorizer(model, threads=threads)
    except ModelError as exc:
        raise UsageError(f"model: {exc}") from None


def _hint_model_of(colorizer):
    """The model that colorizes the batch's hinted photos; a usage error if the named model takes none."""
    from .model import ModelError
    try:
        return colorizer.hint_model()
    except ModelError as exc:
        raise UsageError(f"model: {exc}") from None


def _report(args: argparse.Namespace, results: list[dict], **status) -> dict:
    """The --json report: every photo's result and the counts."""
    summary = {s: sum(r["status"] == s for r in results) for s in ("ok", "skipped", "error")}
    hint_model = {"hint_model": args.hint_model_name} if getattr(args, "hint_model_name", None) else {}
    return {"version": __version__, **status, "model": getattr(args, "model_name", None), **hint_model,
            "results": results, "summary": summary}


def _print_json(report: dict) -> None:
    """The --json report on stdout; a reader that has gone (`--json | head`) just misses the rest."""
    try:
        print(json.dumps(report, indent=2), flush=True)
    except BrokenPipeError:
        discard_stream(sys.stdout)


def _raise_interrupted(signum: int, frame) -> None:
    raise Interrupted(signum)


def _closed_streams_to_devnull() -> None:
    """Give a closed stdout or stderr (`>&-`, `2>&-`) /dev/null: its messages are lost, the photos
    are not, and no file the run opens later can take descriptor 1 or 2 and receive them."""
    for fd, name in ((1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_WRONLY)  # the lowest free descriptor
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, "w", closefd=False))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _closed_streams_to_devnull()
    if argv and argv[0] in SUBCOMMANDS:
        import importlib
        return importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:])
    for name in ("SIGTERM", "SIGHUP"):  # Windows has no SIGHUP
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _raise_interrupted)
    saved_stderr, sys.stderr = sys.stderr, serialized_stderr(sys.stderr)  # the model loads in a helper thread
    try:
        return _run(argv)
    finally:
        sys.stderr = saved_stderr


def _run(argv: list[str]) -> int:
    """The CLI proper: parse, colorize, report; every outcome is an exit code."""
    parser = build_parser()
    as_json = "--json" in argv[:argv.index("--")] if "--" in argv else "--json" in argv
    results: list[dict] = []
    try:
        args = parser.parse_args(argv)
        validate(args)
        return run_batch(args, results)
    except UsageError as exc:
        if as_json:
            inputs = {"inputs": [str(p) for p in exc.inputs]} if exc.inputs else {}
            _print_json({"version": __version__, "status": "usage error", "exit_code": EXIT_USAGE,
                         "message": str(exc), **inputs})
        else:
            usage = parser.format_usage() if isinstance(exc, ArgumentsError) else ""
            print(f"{usage}colorize-core: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        code = 128 + signum
        message = (f"interrupted ({signal.Signals(signum).name}); finished outputs are kept, "
                   "none is half-written")
        if as_json:
            _print_json(_report(args, results, status="interrupted", exit_code=code, message=message)
                        if "args" in locals() else {"status": "interrupted", "exit_code": code, "message": message})
        print(f"colorize-core: {message}", file=sys.stderr)
        return code


def run() -> NoReturn:
    """The console entry point (colorize-core, python -m colorize_core): main(), then exit at once.

    When main returns, all a run promises is done: outputs written (atomically, synced), reports
    printed. Python's own teardown after that (LiteRT's interpreters, numpy, idle helper threads)
    took ~30 ms of a 0.4 s photo, measured, so the process ends with os._exit once stdout and
    stderr are flushed. The cluster mode exits the usual way: Ray's exit handlers disconnect it.
    """
    argv = sys.argv[1:]
    code = main(argv)
    if argv[:1] == ["cluster"]:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that has gone, a closed stream: nothing more reaches it
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
