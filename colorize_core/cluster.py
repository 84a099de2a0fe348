"""`colorize-core cluster`: an archive colorized on a Ray cluster, resumable, nothing lost or duplicated.

One Ray task per photo, the single-machine code path inside it (batch.process_one), so a photo
comes out byte for byte as the CLI writes it. Ray tasks rather than Ray Data: every photo is a file
in and a file out on a file system all nodes mount; streaming in-memory blocks between operators
(what Ray Data adds) buys nothing there, and tasks keep per-photo retries and results simple.
- Each worker process loads the model once (a cached Colorizer) and keeps it for its next photos.
- A task whose worker process or node dies is retried by Ray elsewhere (--retries); outputs are
  published atomically and exclusively (atomic.py), so a retried photo is written once, and a
  killed attempt's temporary file is removed when the run ends.
- A photo whose output exists is skipped without a task (unless --overwrite): a rerun after any
  crash finishes the job. A bad photo fails alone, with the CLI's one-line reason.
Needs the `cluster` extra (Ray); nothing else in colorize_core imports Ray.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

from . import __version__
from .atomic import remove_stale_temps
from .batch import EXISTS_REASON, BatchOptions, BatchUsageError, Skip, plan, process_one, uses_hints
from .cli import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, Interrupted, UsageError, _raise_interrupted, format_arg
from .formats import DEFAULT_PNG_COMPRESSION, DEFAULT_QUALITY, FORMAT_NAMES
from .imageio import ImageIOError
from .limits import DEFAULT_MAX_MEGAPIXELS

DEFAULT_RETRIES = 3
EARLIER_ATTEMPT = "written by an earlier attempt of this photo"


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="colorize-core cluster",
        description="Colorize photos on a Ray cluster: every node must see INPUT and OUT_DIR at the same paths "
                    "(a shared mount). Outputs are named and written as by colorize-core itself.",
        epilog="Resumable: photos whose output exists are skipped, so a rerun after a crash finishes the job. "
               "Exit codes as colorize-core: 0 ok (or skipped), 1 some photos failed, 2 usage error, "
               "130/143 interrupted.")
    ap.add_argument("inputs", nargs="+", metavar="INPUT",
                    help="photo files, folders, or @LIST.txt (one path a line)")
    ap.add_argument("-o", "--output", type=Path, required=True, metavar="OUT_DIR", help="output folder")
    ap.add_argument("--address", help="Ray cluster address ('auto': RAY_ADDRESS or the running local cluster); "
                                      "without it a local Ray instance is started and stopped")
    ap.add_argument("--workers", type=int, help="without --address: the local instance's worker processes "
                                                 "(default: all cores)")
    ap.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders of folder inputs")
    ap.add_argument("--overwrite", action="store_true", help="colorize again photos whose output exists")
    ap.add_argument("--model", help="a shipped model's name (default, fast) or a .tflite path every node sees")
    ap.add_argument("--strength", type=float, default=1.0, help="colour strength from 0 to 4 (default 1)")
    ap.add_argument("--format", type=format_arg, metavar="EXT", help=f"output format: {FORMAT_NAMES} (any case)")
    ap.add_argument("--quality", type=int, default=DEFAULT_QUALITY, help=f"JPEG/WebP quality (default {DEFAULT_QUALITY})")
    ap.add_argument("--png-compression", type=int, default=DEFAULT_PNG_COMPRESSION,
                    help=f"PNG zlib level 0-9 (default {DEFAULT_PNG_COMPRESSION})")
    ap.add_argument("--max-megapixels", type=float, default=DEFAULT_MAX_MEGAPIXELS,
                    help=f"refuse larger images (default {DEFAULT_MAX_MEGAPIXELS:g})")
    ap.add_argument("--threads", type=int, default=1, help="inference threads per task (default 1: a task holds one CPU)")
    ap.add_argument("--retries", type=int, default=DEFAULT_RETRIES,
                    help=f"times a photo is retried after its worker died (default {DEFAULT_RETRIES})")
    ap.add_argument("--report", type=Path, help="append one JSON line per photo to this file")
    ap.add_argument("--json", action="store_true", help="print a JSON report of every photo on stdout")
    ap.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    return ap


def expand_inputs(items: list[str]) -> list[Path]:
    """INPUT arguments -> paths; @LIST.txt gives one path a line (blank lines and # comments skipped)."""
    paths = []
    for item in items:
        if item.startswith("@"):
            listing = Path(item[1:])
            try:
                lines = listing.read_text().splitlines()
            except OSError as exc:
                raise UsageError(f"{listing}: cannot read the list ({exc.strerror or exc})") from None
            paths += [Path(line.strip()) for line in lines if line.strip() and not line.lstrip().startswith("#")]
        else:
            paths.append(Path(item))
    return paths


@functools.lru_cache(maxsize=2)
def _worker_colorizer(model: str | None, threads: int | None):
    """The Colorizer of this worker process, loaded once for all its photos."""
    from .pipeline import Colorizer
    return Colorizer(model, threads=threads)


def colorize_task(src: str, dst: str, opts: BatchOptions, model: str | None, threads: int | None) -> dict:
    """One photo, on a worker: the CLI's process_one; failures are results, never exceptions
    (Ray retries only what kills a worker)."""
    t0 = time.perf_counter()
    result = {"input": src, "output": dst}
    try:
        result.update(process_one(lambda: _worker_colorizer(model, threads), Path(src), Path(dst), opts))
    except ImageIOError as exc:
        result.update(status="error", reason=str(exc), output=None)
    except MemoryError:
        result.update(status="error", reason=f"{src}: out of memory", output=None)
    if result.get("skip") == Skip.OUTPUT_EXISTS:
        # the driver sends no task for an output that existed: an attempt of this run wrote it
        result.update(status="ok", reason=EARLIER_ATTEMPT, output=dst)
        del result["skip"]
    result.update(seconds=round(time.perf_counter() - t0, 3), node=socket.gethostname(), pid=os.getpid())
    return result


def _stdout_to_stderr() -> int:
    """Point file descriptor 1 at stderr (Python's and native writes alike); returns the saved one."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    return saved


def _restore_stdout(saved: int) -> None:
    sys.stdout.flush()
    os.dup2(saved, 1)
    os.close(saved)


class Progress:
    """done / failed / photos per second / time left, one line on stderr per photo."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled, self.t0 = total, enabled, time.perf_counter()
        self.done = self.failed = 0

    def update(self, result: dict) -> None:
        self.done += 1
        self.failed += result["status"] == "error"
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        print(f"[{self.done}/{self.total}] {self.failed} failed, {rate:.2f} photos/s, about {left:.0f} s left: "
              f"{result['status']} {result['input']}", file=sys.stderr, flush=True)


def _check_takes_hints(model: str) -> None:
    """Photos with a STEM.hints.png need a model that reads hints: a named one is checked on its card
    here, before any worker starts (the shipped default reads hints)."""
    from .model import ModelCard, ModelError, resolve_model
    try:
        card = ModelCard.read(resolve_model(model))
    except ModelError as exc:
        raise UsageError(f"model: {exc}") from None
    if not card.takes_hints:
        raise UsageError(f"model: {card.name} takes no colour hints, and some photos have a hint file beside "
                         "them: leave out --model (the default reads hints), or name a model that does")


def run(args: argparse.Namespace, results: list[dict]) -> int:
    try:
        import ray
    except ImportError:
        raise UsageError("the cluster mode needs Ray: pip install 'colorize-core[cluster]'") from None
    try:
        opts = BatchOptions(output=args.output, recursive=args.recursive, overwrite=args.overwrite,
                            strength=args.strength, format=args.format, quality=args.quality,
                            png_compression=args.png_compression, max_megapixels=args.max_megapixels)
    except ValueError as exc:  # BatchOptions checks every value (NaN and infinity included)
        raise UsageError(f"--{exc}") from None
    for name, least in (("threads", 1), ("retries", 0), ("workers", 1)):
        if getattr(args, name) is not None and getattr(args, name) < least:
            raise UsageError(f"--{name} must be {least} or more")
    if args.workers and args.address:
        raise UsageError("--workers sizes the local instance; a cluster at --address has its own")
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"-o {args.output}: the cluster mode writes into a folder, and this is a file")
    args.output.mkdir(parents=True, exist_ok=True)
    try:
        jobs = plan(expand_inputs(args.inputs), opts)
    except BatchUsageError as exc:
        raise UsageError(str(exc)) from None
    if uses_hints(jobs, opts) and args.model is not None:
        _check_takes_hints(args.model)
    folders = sorted({dst.parent for _, dst in jobs})
    for folder in folders:
        remove_stale_temps(folder)
    report = open(args.report, "a") if args.report else None
    progress = Progress(len(jobs), enabled=not (args.quiet or args.json))

    def finish(result: dict) -> None:
        results.append(result)
        progress.update(result)
        if result["status"] == "error" and not args.json:
            print(f"colorize-core: error: {result['reason']}", file=sys.stderr)
        if report:
            report.write(json.dumps({k: result.get(k) for k in
                                     ("input", "output", "status", "reason", "seconds", "node")}) + "\n")
            report.flush()

    todo = []
    for src, dst in jobs:
        if os.path.lexists(dst) and not args.overwrite:
            finish({"input": str(src), "output": None, "status": "skipped", "skip": Skip.OUTPUT_EXISTS.value,
                    "reason": EXISTS_REASON, "seconds": 0.0, "node": None})
        else:
            todo.append((src, dst))
    saved_stdout = _stdout_to_stderr()  # Ray prints worker deaths on stdout; stdout is for --json alone
    try:
        if todo:
            ray.init(address=args.address, num_cpus=args.workers, include_dashboard=False, log_to_driver=False,
                     configure_logging=True, logging_level="ERROR")
            remote = ray.remote(num_cpus=1, max_retries=args.retries, retry_exceptions=False)(colorize_task)
            pending = {remote.remote(str(s), str(d), opts, args.model, args.threads): (s, d) for s, d in todo}
            try:
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    src, dst = pending.pop(done[0])
                    try:
                        finish(ray.get(done[0]))
                    except ray.exceptions.RayError as exc:  # its worker died on every attempt
                        finish({"input": str(src), "output": None, "status": "error", "node": None, "seconds": None,
                                "reason": f"{src}: failed on {args.retries + 1} attempts "
                                          f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"})
            except KeyboardInterrupt:
                for ref in pending:
                    ray.cancel(ref)
                raise
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _restore_stdout(saved_stdout)
        for folder in folders:  # a killed attempt's temporary file (its process is gone now)
            remove_stale_temps(folder)
        if report:
            report.close()
    failed = [r for r in results if r["status"] == "error"]
    order = {str(src): i for i, (src, _) in enumerate(jobs)}
    results.sort(key=lambda r: order.get(r["input"], 0))
    summary = {s: sum(r["status"] == s for r in results) for s in ("ok", "skipped", "error")}
    if args.json:
        print(json.dumps({"version": __version__, "results": results, "summary": summary}, indent=2))
    elif not args.quiet:
        print(f"colorize-core cluster: {summary['ok']} colorized, {summary['skipped']} skipped, "
              f"{summary['error']} failed", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def main(argv: list[str]) -> int:
    for name in ("SIGTERM", "SIGHUP"):  # Windows has no SIGHUP
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _raise_interrupted)
    results: list[dict] = []
    try:
        args = build_parser().parse_args(argv)
        return run(args, results)
    except UsageError as exc:
        print(f"colorize-core cluster: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        print(f"colorize-core cluster: interrupted ({signal.Signals(signum).name}); {len(results)} photos "
              "finished, their outputs are kept; run the same command again to finish", file=sys.stderr)
        return 128 + signum
