"""Raw-pixel bridge for the GIMP plug-in: .npy in, .npy out, no image encoding.

    colorize-core bridge INPUT.npy OUTPUT.npy [--strength S] [--model NAME|PATH] [--threads N] [--progress]
                         [--hints HINTS.npy]
    colorize-core bridge --check

INPUT.npy: NumPy format 1.0, C order, uint8 or little-endian uint16, shape (H, W, 3 or 4):
the R'G'B'(A) bytes GIMP hands out ("R'G'B'A u8" / "R'G'B'A u16"), which a plug-in writes
with the standard library alone. OUTPUT.npy: the same dtype and shape, RGB colorized from the
input's luminance, alpha copied bit for bit. HINTS.npy (optional): uint8 (H', W', 4) RGBA colour
hints (a hints layer's pixels over the input; any size, stretched over it): every pixel with
alpha above 0 is a hint of its colour, read by the model (the default reads hints; `fast` does not).
It is written to a temporary file and renamed, so
a failure never leaves a partial output. --progress prints `progress F` lines (0..1) on stdout.
Errors: one line on stderr starting `colorize-core: error:` and exit status 1 (2 for bad
arguments or an unusable model, hints for a model that reads none included).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .atomic import write_atomic
from .limits import check_strength


def _fail(message: str, code: int = 1) -> int:
    print(f"colorize-core: error: {message}", file=sys.stderr)
    return code


def _progress(enabled: bool, fraction: float) -> None:
    if enabled:
        print(f"progress {fraction:.2f}", flush=True)


def _read_npy(np, path: Path):
    """(the array memory-mapped, None) or (None, a one-line problem naming the file)."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False), None
    except FileNotFoundError:
        return None, f"{path}: no such file"
    except EOFError:  # numpy's word for a file with no bytes in it
        return None, (f"{path}: empty file (0 bytes): the hand-over was cut short, as on a full disk; "
                      "free some space and run it again")
    except (ValueError, OSError) as exc:
        return None, f"{path}: not a valid .npy pixel file ({exc})"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="colorize-core bridge", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", nargs="?", type=Path, help="input .npy (H, W, 3|4) uint8 or uint16")
    ap.add_argument("output", nargs="?", type=Path, help="output .npy, same dtype and shape")
    ap.add_argument("--strength", type=float, default=1.0, help="colour strength (0 gray, 1 as predicted)")
    ap.add_argument("--model", help="a shipped model's name (default, fast) or a .tflite model with its .json card")
    ap.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores)")
    ap.add_argument("--hints", type=Path, help="uint8 (H, W, 4) RGBA colour hints as .npy")
    ap.add_argument("--progress", action="store_true", help="print `progress F` lines on stdout")
    ap.add_argument("--check", action="store_true", help="load the model and print one JSON line, then exit")
    args = ap.parse_args(argv)
    if not args.check and (args.input is None or args.output is None):
        ap.error("INPUT and OUTPUT are required (or --check)")
    try:
        check_strength(args.strength)
    except ValueError as exc:
        return _fail(f"--{exc}", 2)

    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from .hints import HintError
    from .model import ModelError
    from .pipeline import Colorizer
    # the model loads in a helper thread while this one maps the pixels
    loader = ThreadPoolExecutor(1, thread_name_prefix="colorize-model")
    loading = loader.submit(Colorizer, args.model or None, threads=args.threads)
    loader.shutdown(wait=False)
    pixels = hints = problem = None
    if not args.check:
        pixels, problem = _read_npy(np, args.input)
        if args.hints is not None and problem is None:
            hints, problem = _read_npy(np, args.hints)
    try:
        colorizer = loading.result()
        if args.hints is not None and not args.check:
            colorizer.hint_model()  # a model that takes no hints: a usage error, as in the CLI
    except ModelError as exc:
        return _fail(f"model: {exc}", 2)
    except ValueError as exc:  # --threads
        return _fail(f"--{exc}", 2)
    if args.check:
        card = colorizer.model.card
        print(json.dumps({"version": __version__, "model": card.name, "path": str(card.path),
                          "quantization": card.quantization}))
        return 0
    _progress(args.progress, 0.0)
    if problem:
        return _fail(problem)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype not in (np.uint8, np.uint16) \
            or min(pixels.shape[:2]) < 1:
        return _fail(f"{args.input}: expected uint8 or uint16 pixels of shape (H, W, 3|4), "
                     f"got {pixels.dtype} {pixels.shape}")
    if hints is not None and (hints.ndim != 3 or hints.shape[2] != 4 or hints.dtype != np.uint8):
        return _fail(f"{args.hints}: expected uint8 RGBA hints of shape (H, W, 4), got {hints.dtype} {hints.shape}")
    _progress(args.progress, 0.1)
    try:
        out = colorizer.colorize(np.asarray(pixels), strength=args.strength,
                                 hints=None if hints is None else np.asarray(hints))
    except HintError as exc:
        return _fail(f"colour hints: {exc}")
    except (ModelError, ValueError, MemoryError) as exc:
        return _fail(f"{args.input}: colorization failed ({type(exc).__name__}: {exc})")
    _progress(args.progress, 0.9)
    try:
        write_atomic(args.output, lambda f: np.save(f, np.ascontiguousarray(out), allow_pickle=False), overwrite=True,
                     durable=False)
    except OSError as exc:
        return _fail(f"{args.output}: could not write ({exc.strerror or exc})")
    _progress(args.progress, 1.0)
    return 0
