"""`colorize-core cluster`: an archive colorized on a Ray cluster, resumable, nothing lost or
duplicated.

One Ray task per photo, the single-machine code path inside it (batch.colorize_file), so a photo
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
import socket
import sys
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .atomic import remove_stale_temps
from .exits import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    UsageError,
    interrupt_signal,
    interrupted_code,
    stop_on_signals,
)
from .options import PhotoOptions, add_photo_options, at_least, photo_options
from .progress import Progress
from .results import (
    EXISTS_REASON,
    Failure,
    PhotoResult,
    Skip,
    Status,
    failed,
    in_input_order,
    skipped,
    summary,
)

if TYPE_CHECKING:  # the runtime (numpy, Pillow) and Ray load only when the cluster mode runs
    from types import ModuleType

    from .batch import Job
    from .pipeline import Colorizer

DEFAULT_RETRIES = 3
EARLIER_ATTEMPT = "written by an earlier attempt of this photo"


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="colorize-core cluster",
        description="Colorize photos on a Ray cluster: "
        "every node must see INPUT, OUT_DIR and a --model file "
        "at the same paths (a shared mount). "
        "Outputs are named and written as by colorize-core itself.",
        epilog="Resumable: photos whose output exists are skipped, "
        "so a rerun after a crash finishes the job. "
        "Exit codes as colorize-core: 0 ok (or skipped), 1 some photos failed, 2 usage error, "
        "130/143 interrupted.",
    )
    ap.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="photo files, folders, or @LIST.txt (one path a line)",
    )
    ap.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder")
    ap.add_argument(
        "--address",
        help="Ray cluster address ('auto': RAY_ADDRESS or the running local cluster); "
        "without it a local Ray instance is started and stopped",
    )
    ap.add_argument(
        "--workers",
        type=int,
        help="without --address: the local instance's worker processes (default: all cores)",
    )
    add_photo_options(
        ap,
        threads_default=1,
        threads_help="inference threads per task (default 1: a task holds one CPU)",
    )
    ap.add_argument(
        "--retries",
        type=int,
        default=DEFAULT_RETRIES,
        help=f"times a photo is retried after its worker died (default {DEFAULT_RETRIES})",
    )
    ap.add_argument("--report", type=Path, help="append one JSON line per photo to this file")
    ap.add_argument(
        "--json", action="store_true", help="print a JSON report of every photo on stdout"
    )
    ap.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    return ap


@dataclass(frozen=True)
class ClusterRun:
    """What the cluster mode colorizes, where, and how it reports: the parsed command line,
    typed."""

    inputs: list[Path]  # @LIST.txt expanded
    photo: PhotoOptions  # photo.batch.output: the output folder
    address: str | None = None  # None: a local Ray instance, started and stopped
    workers: int | None = None  # the local instance's worker processes
    retries: int = DEFAULT_RETRIES
    report: Path | None = None  # one JSON line per photo appended here
    json: bool = False
    quiet: bool = False


def cluster_run(args: argparse.Namespace) -> ClusterRun:
    """The parsed arguments checked and typed: UsageError for values no run can use."""
    photo = photo_options(args)
    at_least("retries", args.retries, 0)
    at_least("workers", args.workers, 1)
    if args.workers and args.address:
        raise UsageError("--workers sizes the local instance; a cluster at --address has its own")
    return ClusterRun(
        inputs=expand_inputs(args.inputs),
        photo=photo,
        address=args.address,
        workers=args.workers,
        retries=args.retries,
        report=args.report,
        json=args.json,
        quiet=args.quiet,
    )


def expand_inputs(items: list[str]) -> list[Path]:
    """INPUT arguments -> paths; @LIST.txt gives one path a line (blank lines and # comments
    skipped)."""
    paths = []
    for item in items:
        if item.startswith("@"):
            listing = Path(item[1:])
            try:
                lines = listing.read_text().splitlines()
            except OSError as exc:
                raise UsageError(
                    f"{listing}: cannot read the list ({exc.strerror or exc})"
                ) from None
            paths += [
                Path(line.strip())
                for line in lines
                if line.strip() and not line.lstrip().startswith("#")
            ]
        else:
            paths.append(Path(item))
    return paths


@functools.lru_cache(maxsize=2)
def _worker_colorizer(model: str | None, threads: int | None) -> "Colorizer":
    """The Colorizer of this worker process, loaded once for all its photos."""
    from .pipeline import Colorizer

    return Colorizer(model, threads=threads)


def colorize_task(src: str, dst: str, photo: PhotoOptions) -> PhotoResult:
    """One photo, on a worker: the CLI's colorize_file; failures are results, never exceptions
    (Ray retries only what kills a worker)."""
    from .batch import colorize_file

    result = colorize_file(
        lambda: _worker_colorizer(photo.model, photo.threads), Path(src), Path(dst), photo.batch
    )
    if result.reason is Skip.OUTPUT_EXISTS:
        # the driver sends no task for an output that existed: an attempt of this run wrote it
        result = replace(result, status=Status.OK, reason=None, message=EARLIER_ATTEMPT, output=dst)
    result.node, result.pid = socket.gethostname(), os.getpid()
    return result


def _stdout_to_stderr() -> int:
    """Point file descriptor 1 at stderr (Python's and native writes alike); returns the saved
    one."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    return saved


def _restore_stdout(saved: int) -> None:
    sys.stdout.flush()
    os.dup2(saved, 1)
    os.close(saved)


def _check_takes_hints(model: str) -> None:
    """Photos with a STEM.hints.png need a model that reads hints: a named one is checked on its
    card here, before any worker starts (the shipped default reads hints)."""
    from .model import ModelCard, ModelError, resolve_model

    try:
        card = ModelCard.read(resolve_model(model))
    except ModelError as exc:
        raise UsageError(f"model: {exc}") from None
    if not card.takes_hints:
        raise UsageError(
            f"model: {card.name} takes no colour hints, and some photos have a hint file beside "
            "them: leave out --model (the default reads hints), or name a model that does"
        )


def run(job: ClusterRun, results: list[PhotoResult]) -> int:
    """Colorize every photo of `job` on the cluster, adding one result per photo to `results`."""
    ray = _import_ray()
    jobs = _plan(job)
    folders = sorted({dst.parent for _, dst in jobs})
    for folder in folders:
        remove_stale_temps(folder)
    with closing(Recorder(job, results, len(jobs))) as record:
        todo = [(src, dst) for src, dst in jobs if not _skipped_as_existing(src, dst, job, record)]
        try:
            _colorize_on_ray(ray, todo, job, record)
        finally:
            for folder in folders:  # a killed attempt's temporary file (its process is gone now)
                remove_stale_temps(folder)
    results[:] = in_input_order(results, [str(src) for src, _ in jobs])
    _print_summary(job, results)
    return EXIT_SOME_FAILED if any(r.status is Status.ERROR for r in results) else EXIT_OK


def _import_ray() -> "ModuleType":
    try:
        import ray
    except ImportError:
        raise UsageError(
            "the cluster mode needs Ray: pip install 'colorize-core[cluster]'"
        ) from None
    return ray


def _plan(job: ClusterRun) -> list[Job]:
    """(photo, output) for every photo, the output folder made; UsageError when they cannot be
    met, or when photos with hints meet a named model that reads none."""
    from .batch import BatchUsageError, plan, uses_hints

    out = job.photo.batch.output
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {out}: the cluster mode writes into a folder, and this is a file")
    out.mkdir(parents=True, exist_ok=True)
    try:
        jobs = plan(job.inputs, job.photo.batch)
    except BatchUsageError as exc:
        raise UsageError(str(exc)) from None
    if uses_hints(jobs, job.photo.batch) and job.photo.model is not None:
        _check_takes_hints(job.photo.model)
    return jobs


class Recorder:
    """Where each finished photo goes: into the results, the progress line, stderr (a failure)
    and the --report file (one JSON line: its --json record). close() closes that file."""

    def __init__(self, job: ClusterRun, results: list[PhotoResult], total: int):
        self.job, self.results = job, results
        self.progress = Progress(total, enabled=not (job.quiet or job.json))
        self.report = open(job.report, "a") if job.report else None

    def __call__(self, result: PhotoResult) -> None:
        self.results.append(result)
        self.progress.update(result)
        if result.status is Status.ERROR and not self.job.json:
            print(f"colorize-core: error: {result.message}", file=sys.stderr)
        if self.report:
            self.report.write(json.dumps(result.to_json()) + "\n")
            self.report.flush()

    def close(self) -> None:
        if self.report:
            self.report.close()


def _skipped_as_existing(src: Path, dst: Path, job: ClusterRun, record: Recorder) -> bool:
    """A photo whose output exists (without --overwrite) is recorded as skipped, and gets no
    task."""
    if not os.path.lexists(dst) or job.photo.batch.overwrite:
        return False
    record(replace(skipped(str(src), Skip.OUTPUT_EXISTS, EXISTS_REASON), seconds=0.0))
    return True


def _colorize_on_ray(ray: "ModuleType", todo: list[Job], job: ClusterRun, record: Recorder) -> None:
    """One Ray task a photo, each result recorded as it arrives; Ray's stdout kept off ours."""
    # Ray prints worker deaths on stdout; stdout is for --json alone
    saved_stdout = _stdout_to_stderr()
    try:
        if todo:
            ray.init(
                address=job.address,
                num_cpus=job.workers,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=True,
                logging_level="ERROR",
            )
            remote = ray.remote(num_cpus=1, max_retries=job.retries, retry_exceptions=False)(
                colorize_task
            )
            pending = {remote.remote(str(s), str(d), job.photo): s for s, d in todo}
            _gather(ray, pending, job.retries, record)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _restore_stdout(saved_stdout)


def _gather(ray: "ModuleType", pending: dict, retries: int, record: Recorder) -> None:
    """Each task's result as it finishes; a photo whose worker died on every attempt fails alone.
    An interrupt cancels the tasks not finished."""
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            src = pending.pop(done[0])
            try:
                record(ray.get(done[0]))
            except ray.exceptions.RayError as exc:  # its worker died on every attempt
                record(
                    failed(
                        str(src),
                        Failure.WORKER_LOST,
                        f"{src}: failed on {retries + 1} attempts "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})",
                    )
                )
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref)
        raise


def _print_summary(job: ClusterRun, results: list[PhotoResult]) -> None:
    """--json's report on stdout, or the counts on stderr (not with --quiet)."""
    counts = summary(results)
    if job.json:
        print(
            json.dumps(
                {
                    "version": __version__,
                    "results": [r.to_json() for r in results],
                    "summary": counts,
                },
                indent=2,
            )
        )
    elif not job.quiet:
        print(
            f"colorize-core cluster: {counts['ok']} colorized, {counts['skipped']} skipped, "
            f"{counts['error']} failed",
            file=sys.stderr,
        )


def main(argv: list[str]) -> int:
    stop_on_signals()
    results: list[PhotoResult] = []
    try:
        return run(cluster_run(build_parser().parse_args(argv)), results)
    except UsageError as exc:
        print(f"colorize-core cluster: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        sig = interrupt_signal(exc)
        print(
            f"colorize-core cluster: interrupted ({sig.name}); {len(results)} photos "
            "finished, their outputs are kept; run the same command again to finish",
            file=sys.stderr,
        )
        return interrupted_code(sig)
