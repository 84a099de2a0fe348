"""Raw-pixel bridge for the GIMP plug-in: .npy in, .npy out, no image encoding.

    colorize-core bridge INPUT.npy OUTPUT.npy [--strength S] [--model NAME|PATH] [--threads N]
                         [--progress] [--rows] [--hints HINTS.npy]
    colorize-core bridge --check

INPUT.npy: NumPy format 1.0, C order, uint8 or little-endian uint16, shape (H, W, 3 or 4):
the R'G'B'(A) bytes GIMP hands out ("R'G'B'A u8" / "R'G'B'A u16"), which a plug-in writes
with the standard library alone. OUTPUT.npy: the same dtype and shape, RGB colorized from the
input's luminance, alpha copied bit for bit. HINTS.npy (optional): uint8 (H', W', 4) RGBA colour
hints (a hints layer's pixels over the input; any size, stretched over it): every pixel with
alpha above 0 is a hint of its colour, read by the model (the default reads hints; `fast` does not).
It is written to a temporary file and renamed, so
a failure never leaves a partial output; with --rows it is written in place instead, a band of
rows at a time, each announced by a `rows N` line on stdout (its first N rows are final), so that
the plug-in hands them to GIMP while the rest are made: then only exit 0 means it is whole.
--progress prints `progress F` lines (0..1) on stdout.
Errors: one line on stderr starting `colorize-core: error:` and exit status 1 (2 for bad
arguments or an unusable model, hints for a model that reads none included).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import __version__
from .atomic import write_atomic
from .exits import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, UsageError
from .options import PhotoOptions, add_photo_options, photo_options

if TYPE_CHECKING:  # numpy and the model load only once there is work
    import numpy as np

    from .pipeline import Colorizer


class PixelsError(Exception):
    """The pixels, the hints or the output cannot be used: one line on stderr and exit 1."""


def parser_from_doc(prog: str, doc: str) -> argparse.ArgumentParser:
    """A parser whose --help is the module's docstring: its first paragraph, then all after the
    usage lines (the second paragraph)."""
    return argparse.ArgumentParser(
        prog=prog,
        description=doc.split("\n\n")[0],
        epilog=doc.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    ap = parser_from_doc("colorize-core bridge", __doc__)
    ap.add_argument("input", nargs="?", type=Path, help="input .npy (H, W, 3|4) uint8 or uint16")
    ap.add_argument("output", nargs="?", type=Path, help="output .npy, same dtype and shape")
    add_photo_options(ap, files=False)
    ap.add_argument("--hints", type=Path, help="uint8 (H, W, 4) RGBA colour hints as .npy")
    ap.add_argument("--progress", action="store_true", help="print `progress F` lines on stdout")
    ap.add_argument(
        "--rows",
        action="store_true",
        help="print `rows N` lines on stdout as the first N rows of OUTPUT are final; OUTPUT is "
        "then written in place as it is made (read it up to the last such line)",
    )
    ap.add_argument(
        "--check", action="store_true", help="load the model and print one JSON line, then exit"
    )
    return ap


def main(argv: list[str], load: "Callable[[PhotoOptions], Future[Colorizer]] | None" = None) -> int:
    """One bridge run; load(opts) gives the Colorizer (default: start_loading, a fresh one; the
    resident core, bridge_server.py, passes the ones it keeps loaded)."""
    load = load or start_loading
    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.check and (args.input is None or args.output is None):
        ap.error("INPUT and OUTPUT are required (or --check)")
    try:
        opts = photo_options(args, files=False)
        if args.check:
            return check(load(opts))
        colorize_npy(
            args.input,
            args.output,
            args.hints,
            opts.batch.strength,
            load(opts),
            progress=args.progress,
            rows=args.rows,
        )
        return EXIT_OK
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except PixelsError as exc:
        return _fail(str(exc), EXIT_SOME_FAILED)


def check(loading: "Future[Colorizer]") -> int:
    """--check: load the model and print what it is, as one JSON line."""
    card = _loaded(loading, with_hints=False).model.card
    print(
        json.dumps(
            {
                "version": __version__,
                "model": card.name,
                "path": str(card.path),
                "quantization": card.quantization,
            }
        )
    )
    return EXIT_OK


def colorize_npy(
    src: Path,
    dst: Path,
    hints_path: Path | None,
    strength: float,
    loading: "Future[Colorizer]",
    *,
    progress: bool,
    rows: bool = False,
) -> None:
    """src.npy colorized into dst.npy by the Colorizer `loading` gives (it loads in a helper thread
    while this one maps the pixels): atomically, or with `rows` in place as it is made (see
    --rows). UsageError for the model, PixelsError for the rest."""
    import numpy as np

    hints = None
    pixels, problem = _read_npy(np, src)
    if hints_path is not None and problem is None:
        hints, problem = _read_npy(np, hints_path)
    colorizer = _loaded(loading, with_hints=hints_path is not None)
    _progress(progress, 0.0)
    if problem:
        raise PixelsError(problem)
    _check_shapes(np, src, pixels, hints_path, hints)
    _progress(progress, 0.1)
    if rows:
        _colorize_in_place(colorizer, np, src, pixels, hints, strength, dst)
        _progress(progress, 1.0)
        return
    out = _colorize(colorizer.colorize, np, src, pixels, hints, strength)
    _progress(progress, 0.9)
    try:
        write_atomic(
            dst,
            lambda f: np.save(f, np.ascontiguousarray(out), allow_pickle=False),
            overwrite=True,
            durable=False,
        )
    except OSError as exc:
        raise _unwritable(dst, exc) from None
    _progress(progress, 1.0)


def _colorize_in_place(
    colorizer: "Colorizer",
    np,
    src: Path,
    pixels: "np.ndarray",
    hints: "np.ndarray | None",
    strength: float,
    dst: Path,
) -> None:
    """--rows: the colorized pixels written straight into dst.npy as they are made, with a
    `rows N` line on stdout each time its first N rows are final."""
    try:
        out = np.lib.format.open_memmap(dst, mode="w+", dtype=pixels.dtype, shape=pixels.shape)
    except OSError as exc:
        raise _unwritable(dst, exc) from None

    colorize_into = functools.partial(colorizer.colorize_into, out=out, on_rows=_say_rows)
    # no flush (msync): the plug-in reads the rows through the page cache they are in, and
    # forcing them to disk would delay the answer for nothing
    _colorize(colorize_into, np, src, pixels, hints, strength)


def _say_rows(n: int) -> None:
    print(f"rows {n}", flush=True)


def _unwritable(dst: Path, exc: OSError) -> PixelsError:
    return PixelsError(f"{dst}: could not write ({exc.strerror or exc})")


def _fail(message: str, code: int) -> int:
    print(f"colorize-core: error: {message}", file=sys.stderr)
    return code


def _progress(enabled: bool, fraction: float) -> None:
    if enabled:
        print(f"progress {fraction:.2f}", flush=True)


def start_loading(opts: PhotoOptions) -> "Future[Colorizer]":
    """The Colorizer, loading in a helper thread from now on."""
    from .pipeline import Colorizer
    from .threads import start_thread

    return start_thread(lambda: Colorizer(opts.model, threads=opts.threads), name="colorize-model")


def _loaded(loading: Future, with_hints: bool) -> "Colorizer":
    """The loaded Colorizer; UsageError for a model that cannot load, or (with hints) reads none."""
    from .model import ModelError

    try:
        colorizer = loading.result()
        if with_hints:
            colorizer.hint_model()  # a model that takes no hints: a usage error, as in the CLI
        return colorizer
    except ModelError as exc:
        raise UsageError(f"model: {exc}") from None
    except ValueError as exc:  # --threads
        raise UsageError(f"--{exc}") from None


def _read_npy(np, path: Path):
    """(the array memory-mapped, None) or (None, a one-line problem naming the file)."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False), None
    except FileNotFoundError:
        return None, f"{path}: no such file"
    except EOFError:  # numpy's word for a file with no bytes in it
        return None, (
            f"{path}: empty file (0 bytes): the hand-over was cut short, as on a full disk; "
            "free some space and run it again"
        )
    except (ValueError, OSError) as exc:
        return None, f"{path}: not a valid .npy pixel file ({exc})"


def _check_shapes(
    np, src: Path, pixels: "np.ndarray", hints_path: Path | None, hints: "np.ndarray | None"
) -> None:
    """PixelsError unless the pixels are (H, W, 3|4) uint8/uint16 and the hints (H', W', 4)
    uint8."""
    if (
        pixels.ndim != 3
        or pixels.shape[2] not in (3, 4)
        or pixels.dtype not in (np.uint8, np.uint16)
        or min(pixels.shape[:2]) < 1
    ):
        raise PixelsError(
            f"{src}: expected uint8 or uint16 pixels of shape (H, W, 3|4), "
            f"got {pixels.dtype} {pixels.shape}"
        )
    if hints is not None and (hints.ndim != 3 or hints.shape[2] != 4 or hints.dtype != np.uint8):
        raise PixelsError(
            f"{hints_path}: expected uint8 RGBA hints of shape (H, W, 4), "
            f"got {hints.dtype} {hints.shape}"
        )


def _colorize(
    colorize: Callable,
    np,
    src: Path,
    pixels: "np.ndarray",
    hints: "np.ndarray | None",
    strength: float,
) -> "np.ndarray | None":
    """colorize(pixels, strength=, hints=) (a Colorizer's colorize, or one writing in place);
    PixelsError naming what went wrong."""
    from .hints import HintError
    from .model import ModelError

    try:
        return colorize(
            np.asarray(pixels),
            strength=strength,
            hints=None if hints is None else np.asarray(hints),
        )
    except HintError as exc:
        raise PixelsError(f"colour hints: {exc}") from None
    except (ModelError, ValueError, MemoryError) as exc:
        raise PixelsError(f"{src}: colorization failed ({type(exc).__name__}: {exc})") from None
