"""The `colorize-core` command line: colorize photos, files or folders, or serve the GIMP bridge.

Exit codes: 0 every input done (or skipped on purpose), 1 some inputs failed, 2 usage or model
error, 130 / 143 / 129 interrupted by Ctrl-C / SIGTERM / SIGHUP (finished outputs are kept).
Heavy imports (numpy, Pillow, LiteRT) happen only once there is work to do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NoReturn

from . import __version__
from .exits import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    UsageError,
    interrupt_signal,
    interrupted_code,
    stop_on_signals,
)
from .limits import batch_workers
from .native_stderr import discard_stream, serialized_stderr
from .options import PhotoOptions, add_photo_options, at_least, photo_options
from .progress import Progress
from .results import PhotoResult, Skip, Status, in_input_order, summary
from .threads import start_thread, thread_pool

if TYPE_CHECKING:
    from .batch import BatchOptions, Job
    from .pipeline import Colorizer

DASH_HINT = "a file name that starts with '-' goes after --, e.g. colorize-core -- -scan.jpg"


def subcommand(name: str) -> Callable[[list[str]], int] | None:
    """The main(argv) -> int of the subcommand `name` (the first argument; a photo called like one
    is ./NAME), or None. Its module is imported only when it is asked for: a photo run loads none.
    A new subcommand is one more `elif` with its import."""
    if name == "bridge":
        from .bridge import main
    elif name == "bridge-server":
        from .bridge_server import main
    elif name == "cluster":
        from .cluster import main
    elif name == "gimp":
        from .gimp_install import main
    else:
        return None
    return main


class ArgumentsError(UsageError):
    """What argparse refuses; printed after the usage line, as argparse does."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so --json can report usage errors too."""

    def error(self, message: str):
        if "required: INPUT" in message or "unrecognized arguments: -" in message:
            message += f" ({DASH_HINT})"
        raise ArgumentsError(message)


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(
        prog="colorize-core",
        description="Colorize black-and-white photos with a deep CNN "
        "(VGG16 transfer learning, YUV, chroma compression). "
        "Your photo's own full-resolution luminance is kept; only "
        "the colour comes from the model.",
        epilog="Outputs are named PHOTO_colorized.EXT beside each input (or inside -o FOLDER) "
        "and never replace an existing file unless --overwrite. "
        "`colorize-core bridge --help` documents the raw-pixel mode the GIMP plug-in uses, "
        "`colorize-core cluster --help` the Ray cluster mode, "
        "`colorize-core gimp install` puts the GIMP plug-in into every GIMP profile. "
        "Existing outputs are skipped (exit 0). A file name "
        "starting with '-' goes after --. Exit codes: 0 ok (or skipped), 1 some inputs failed, "
        "2 usage or model error, 130/143/129 interrupted (Ctrl-C/SIGTERM/SIGHUP).",
    )
    ap.add_argument(
        "inputs", nargs="+", type=Path, metavar="INPUT", help="photo files and/or folders"
    )
    ap.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="output file (one input) or folder "
        "(created if missing; a trailing / always means a folder)",
    )
    add_photo_options(ap)
    ap.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="photos in flight at once in a batch (default: all cores); each holds one decoded "
        "photo, so peak memory grows with it",
    )
    ap.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    ap.add_argument(
        "--json", action="store_true", help="print a JSON report of every input on stdout"
    )
    ap.add_argument("--version", action="version", version=f"colorize-core {__version__}")
    return ap


@dataclass(frozen=True)
class BatchRun:
    """What the CLI colorizes and how it reports: the parsed command line, typed."""

    inputs: list[Path]
    photo: PhotoOptions
    jobs: int | None = None  # photos in flight at once; None: the cores
    quiet: bool = False
    json: bool = False

    @property
    def chatty(self) -> bool:
        """Progress, warnings and counts go to stderr (not with --quiet or --json)."""
        return not (self.quiet or self.json)


def batch_run(args: argparse.Namespace) -> BatchRun:
    """The parsed arguments checked and typed: UsageError for values no photo can use."""
    photo = photo_options(args)
    at_least("jobs", args.jobs, 1)
    return BatchRun(
        inputs=args.inputs, photo=photo, jobs=args.jobs, quiet=args.quiet, json=args.json
    )


@dataclass
class BatchReport:
    """The --json report, gathered as the batch runs (read also when it is interrupted)."""

    results: list[PhotoResult] = field(default_factory=list)
    loading: "ModelLoad | None" = None

    def to_json(self, **status) -> dict:
        names = self.loading.names() if self.loading else {}
        return {
            "version": __version__,
            **status,
            "model": names.get("model"),
            **({"hint_model": names["hint_model"]} if names.get("hint_model") else {}),
            "results": [r.to_json() for r in self.results],
            "summary": summary(self.results),
        }


def run_batch(run: BatchRun, report: BatchReport) -> int:
    """Colorize every input, adding one result per photo to `report` as it finishes."""
    jobs = _plan(run.inputs, run.photo.batch)
    from .batch import uses_hints

    report.loading = loading = ModelLoad(
        run.photo.model, run.photo.threads, with_hints=uses_hints(jobs, run.photo.batch)
    )
    _remove_stale_temps(jobs, run.chatty)
    _colorize_all(jobs, loading, run, report)
    loading()  # a broken model is a usage error even when every photo was skipped
    report.results[:] = in_input_order(report.results, [str(src) for src, _ in jobs])
    if run.json:
        _print_json(report.to_json())
    else:
        _print_counts(report.results, run.chatty)
    return EXIT_SOME_FAILED if any(r.status is Status.ERROR for r in report.results) else EXIT_OK


def _plan(inputs: list[Path], opts: "BatchOptions") -> list[Job]:
    """(photo, output) for every input; UsageError (naming the photos at fault) when they clash."""
    from .batch import BatchUsageError, plan

    try:
        return plan(inputs, opts)
    except BatchUsageError as exc:
        raise UsageError(str(exc), exc.inputs) from None


def _remove_stale_temps(jobs: list[Job], chatty: bool) -> None:
    """Temporary files an interrupted run left in the output folders go first (and are counted)."""
    from .atomic import remove_stale_temps

    for folder in sorted({dst.parent for _, dst in jobs}):
        removed = remove_stale_temps(folder)
        if removed and chatty:
            print(
                f"colorize-core: removed {len(removed)} temporary file(s) left in {folder} "
                "by an interrupted run",
                file=sys.stderr,
            )


def _colorize_all(
    jobs: list[Job], loading: "ModelLoad", run: BatchRun, report: BatchReport
) -> None:
    """Every photo, one at a time or --jobs at once; each result reported as it finishes."""
    progress = Progress(len(jobs), enabled=run.chatty)

    def one(job: Job) -> PhotoResult:
        return _colorize_one(job, loading, run.photo.batch)

    workers, cut = batch_workers(run.jobs, len(jobs))
    if cut and not run.quiet:
        print(f"colorize-core: warning: {cut}", file=sys.stderr)
    if workers == 1:
        for job in jobs:
            _take(one(job), report, progress, run)
        return
    # decode, model and encode of different photos overlap (Pillow and LiteRT release the GIL)
    pool = thread_pool(workers, "colorize-batch")
    try:
        for future in as_completed([pool.submit(one, job) for job in jobs]):
            _take(future.result(), report, progress, run)
    finally:  # on an interrupt: photos being written finish (atomically), the others never start
        pool.shutdown(wait=True, cancel_futures=True)


def _colorize_one(job: Job, loading: "ModelLoad", opts: "BatchOptions") -> PhotoResult:
    """One photo: opened and checked, the model's loading started (once), then decoded beside
    it, colorized and written; a photo that fails is a result."""
    from .batch import as_result, finish_one, open_one

    def steps() -> PhotoResult:
        opened = open_one(*job, opts)
        if isinstance(opened, PhotoResult):
            return opened
        loading.start()
        return finish_one(opened, loading, opts)

    return as_result(job[0], steps)


def _take(result: PhotoResult, report: BatchReport, progress: Progress, run: BatchRun) -> None:
    """A finished photo: into the report, its warnings and outcome onto stderr."""
    report.results.append(result)
    src = Path(result.input)
    if run.chatty:
        for w in result.warnings:
            print(f"colorize-core: warning: {src}: {w}", file=sys.stderr)
    if result.status is Status.ERROR and not run.json:
        print(f"colorize-core: error: {result.message}", file=sys.stderr)
    progress.update(result)


def _print_counts(results: list[PhotoResult], chatty: bool) -> None:
    """After a batch of several photos: how many outputs existed, and every failure again."""
    if len(results) < 2:
        return
    existing = sum(r.reason is Skip.OUTPUT_EXISTS for r in results)
    if existing and chatty:
        print(
            f"colorize-core: {existing} of {len(results)} outputs existed already and were skipped "
            "(use --overwrite to replace them)",
            file=sys.stderr,
        )
    failed = [r for r in results if r.status is Status.ERROR]
    if failed:
        print(f"colorize-core: {len(failed)} of {len(results)} inputs failed:", file=sys.stderr)
        for r in failed:
            print(f"  {r.message}", file=sys.stderr)


class ModelLoad:
    """The batch's Colorizer, loaded in a helper thread that starts as the first photo decodes.

    LiteRT holds the GIL while it builds an interpreter (~40 ms per network); Pillow decodes
    without it. Started once the first photo is opened and checked (_colorize_one), the build
    runs beside its decode instead of stalling the Python steps that lead to it. The imports
    come first, in the caller's thread: they hold the GIL wherever they run.
    """

    def __init__(self, model: str | None, threads: int | None, with_hints: bool = False):
        # numpy, Pillow, the runtime's modules: imported once, here
        from . import pipeline  # noqa: F401

        self._model, self._threads, self._with_hints = model, threads, with_hints
        self._lock = threading.Lock()
        self._future: Future | None = None

    def start(self) -> None:
        """Start loading (once; later calls do nothing)."""
        with self._lock:
            if self._future is None:
                self._future = start_thread(
                    _load_colorizer,
                    self._model,
                    self._threads,
                    self._with_hints,
                    name="colorize-model",
                )

    def __call__(self) -> "Colorizer":
        """The Colorizer, once loaded; UsageError (exit 2) for a model that cannot load, or one
        that reads no hints for a batch with hints."""
        self.start()
        return self._future.result()

    def names(self) -> dict[str, str]:
        """{"model": its name, "hint_model": the hinted photos' (with hints)} once loaded, else
        {}."""
        if self._future is None or not self._future.done() or self._future.exception() is not None:
            return {}
        colorizer = self._future.result()
        hint_model = {"hint_model": colorizer.hint_model().card.name} if self._with_hints else {}
        return {"model": colorizer.model.card.name, **hint_model}


def _load_colorizer(model: str | None, threads: int | None, with_hints: bool) -> "Colorizer":
    """The Colorizer for a batch; a model that cannot load (or, for a batch with hints, reads
    none) is a usage error (exit 2)."""
    from .model import ModelError
    from .pipeline import Colorizer

    try:
        colorizer = Colorizer(model, threads=threads)
        if with_hints:
            colorizer.hint_model()
        return colorizer
    except ModelError as exc:
        raise UsageError(f"model: {exc}") from None


def _print_json(report: dict) -> None:
    """The --json report on stdout; a reader that has gone (`--json | head`) just misses the
    rest."""
    try:
        print(json.dumps(report, indent=2), flush=True)
    except BrokenPipeError:
        discard_stream(sys.stdout)


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
    run_subcommand = subcommand(argv[0]) if argv else None
    if run_subcommand is not None:
        return run_subcommand(argv[1:])
    stop_on_signals()
    # the model loads in a helper thread
    saved_stderr, sys.stderr = (sys.stderr, serialized_stderr(sys.stderr))
    try:
        return _run(argv)
    finally:
        sys.stderr = saved_stderr


def _run(argv: list[str]) -> int:
    """The CLI proper: parse, colorize, report; every outcome is an exit code."""
    parser = build_parser()
    as_json = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
    report: BatchReport | None = None
    try:
        run = batch_run(parser.parse_args(argv))
        report = BatchReport()
        return run_batch(run, report)
    except UsageError as exc:
        _report_usage_error(exc, parser, as_json)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        return _report_interrupt(exc, report, as_json)


def _report_usage_error(exc: UsageError, parser: argparse.ArgumentParser, as_json: bool) -> None:
    """A usage error as --json's record on stdout, or after argparse's usage line on stderr."""
    if as_json:
        inputs = {"inputs": [str(p) for p in exc.inputs]} if exc.inputs else {}
        _print_json(
            {
                "version": __version__,
                "status": "usage error",
                "exit_code": EXIT_USAGE,
                "message": str(exc),
                **inputs,
            }
        )
    else:
        usage = parser.format_usage() if isinstance(exc, ArgumentsError) else ""
        print(f"{usage}colorize-core: error: {exc}", file=sys.stderr)


def _report_interrupt(exc: KeyboardInterrupt, report: BatchReport | None, as_json: bool) -> int:
    """Ctrl-C, SIGTERM or SIGHUP: said on stderr (and in --json with the photos finished); its exit
    code."""
    sig = interrupt_signal(exc)
    code = interrupted_code(sig)
    message = f"interrupted ({sig.name}); finished outputs are kept, none is half-written"
    if as_json:
        status = {"status": "interrupted", "exit_code": code, "message": message}
        _print_json(report.to_json(**status) if report is not None else status)
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
        except (OSError, ValueError):
            pass  # a reader that has gone, a closed stream: nothing more reaches it
    os._exit(code)


if __name__ == "__main__":
    run()
