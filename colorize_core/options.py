"""The photo options every front end takes, parsed once: the CLI, the cluster mode and the bridge
add them to their parsers with add_photo_options and read them back with photo_options.

Light (no numpy, no Pillow), so that --help and a usage error never load the runtime.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .exits import UsageError
from .formats import DEFAULT_PNG_COMPRESSION, DEFAULT_QUALITY, FORMAT_NAMES, format_suffix
from .limits import DEFAULT_MAX_MEGAPIXELS, MAX_STRENGTH, check_max_megapixels, check_strength
from .shipped import SHIPPED_MODELS

if TYPE_CHECKING:
    from .hints import Point

THREADS_HELP = "inference threads (default: all cores)"


@dataclass
class BatchOptions:
    """How a batch colorizes and writes; the defaults are the CLI's."""

    output: Path | None = None  # a file (one input) or a folder
    output_folder: bool = False  # `output` is a folder even if it has an extension (-o NAME/)
    recursive: bool = False
    overwrite: bool = False
    strength: float = 1.0
    skip_color: bool = False
    format: str | None = None  # output extension ("jpg"; any case, a dot allowed);
    #                                  None: the input's
    quality: int = DEFAULT_QUALITY
    png_compression: int = DEFAULT_PNG_COMPRESSION
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    hints: Path | None = None  # one photo's hint image (RGBA); in folders: STEM.hints.png
    hint_points: "tuple[Point, ...]" = ()  # one photo's hints: (x, y, (r, g, b)) in its pixels
    strip_metadata: bool = False  # write no EXIF and no ICC profile (EXIF over 64 KB cannot
    #                                  go into a JPEG)

    def __post_init__(self) -> None:
        check_strength(self.strength)
        if self.hints is not None and self.hint_points:
            raise ValueError("hints: give a hint image or hint points, not both")
        check_max_megapixels(self.max_megapixels)
        if not 1 <= self.quality <= 100:
            raise ValueError(f"quality must be 1-100, got {self.quality}")
        if not 0 <= self.png_compression <= 9:
            raise ValueError(f"png-compression must be 0-9, got {self.png_compression}")
        if self.format is not None:
            suffix = format_suffix(self.format)
            if suffix is None:
                raise ValueError(f"format must be one of {FORMAT_NAMES}, got {self.format!r}")
            self.format = suffix[1:]  # one spelling from here on: "JPG", ".jpg" -> "jpg"


@dataclass(frozen=True)
class PhotoOptions:
    """What a run asks of every photo: the model, its threads, and how photos are colorized and
    written (the bridge, pixels in and pixels out, uses only the strength of `batch`)."""

    model: str | None = None  # a shipped model's name or a .tflite path; None: the default
    threads: int | None = None  # inference threads; None: all cores
    batch: BatchOptions = field(default_factory=BatchOptions)


def add_photo_options(
    parser: argparse.ArgumentParser,
    *,
    files: bool = True,
    threads_default: int | None = None,
    threads_help: str = THREADS_HELP,
) -> None:
    """--strength, --model and --threads; with `files`, how photo files are found and written."""
    add = parser.add_argument
    add(
        "--strength",
        type=float,
        default=1.0,
        help=f"colour strength from 0 to {MAX_STRENGTH:g}: 0 gray, 1 as predicted (default), "
        ">1 more saturated",
    )
    shipped = "; ".join(f"{name}: {what}" for name, what in SHIPPED_MODELS.items())
    add(
        "--model",
        help=f"a shipped model's name ({shipped}), or a .tflite file with its .json "
        "card (a shipped name wins over a file or folder of that name here: "
        "write ./NAME for those)",
    )
    add("--threads", type=int, default=threads_default, help=threads_help)
    if files:
        _add_file_options(parser)


def _add_file_options(parser: argparse.ArgumentParser) -> None:
    """The options of BatchOptions, as the CLI and the cluster mode spell them."""
    add = parser.add_argument
    add("-r", "--recursive", action="store_true", help="descend into sub-folders of folder inputs")
    add("--overwrite", action="store_true", help="allow replacing existing files, inputs included")
    add("--skip-color", action="store_true", help="leave photos that are already in colour alone")
    add(
        "--format",
        type=format_arg,
        metavar="EXT",
        help=f"output format: {FORMAT_NAMES} (any case, a dot allowed; default: the input's, or -o "
        "FILE's extension; a multi-page TIFF keeps every page only as tif)",
    )
    add(
        "--quality",
        type=int,
        default=DEFAULT_QUALITY,
        help=f"JPEG/WebP quality 1-100 (default {DEFAULT_QUALITY})",
    )
    add(
        "--strip-metadata",
        action="store_true",
        help="write no EXIF and no ICC profile (by default they are carried where the format "
        "holds them; JPEG holds at most 64 KB of EXIF)",
    )
    add(
        "--png-compression",
        type=int,
        default=DEFAULT_PNG_COMPRESSION,
        help=f"PNG zlib level 0-9 (default {DEFAULT_PNG_COMPRESSION}: level 6's size at a third of "
        "its time; 9 is a few percent smaller and many times slower)",
    )
    add(
        "--hints",
        type=Path,
        metavar="HINTS.png",
        help="colour hints for one photo: an RGBA image (any size, stretched over the photo) whose "
        "non-transparent pixels are dots of the colour wanted there (only their hue and "
        "saturation count). In folders, scan.hints.png beside scan.jpg is used for it",
    )
    add(
        "--hint",
        action="append",
        default=[],
        metavar="X,Y,#RRGGBB",
        help="one colour hint at pixel (X, Y) of the photo, e.g. 120,80,#3050c0; repeatable",
    )
    add(
        "--max-megapixels",
        type=float,
        default=DEFAULT_MAX_MEGAPIXELS,
        help=f"refuse images larger than this (default {DEFAULT_MAX_MEGAPIXELS:g}; guards against "
        "decompression bombs; an image larger than the free memory is refused as well)",
    )


def format_arg(text: str) -> str:
    """--format's value as the extension it names ("JPG", ".jpg" -> "jpg"): the names -o FILE
    accepts, so that `--format JPG` works where `-o X.JPG` does."""
    suffix = format_suffix(text)
    if suffix is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a format this tool writes (one of {FORMAT_NAMES})"
        )
    return suffix[1:]


def photo_options(args: argparse.Namespace, *, files: bool = True) -> PhotoOptions:
    """The options add_photo_options added (with the same `files`), checked: UsageError naming
    the option at fault, before any model loads. With `files`, -o comes from args.output."""
    try:
        check_strength(args.strength)
        if files:
            check_max_megapixels(args.max_megapixels)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None
    at_least("threads", args.threads, 1)
    batch = _batch_options(args) if files else BatchOptions(strength=args.strength)
    return PhotoOptions(model=args.model, threads=args.threads, batch=batch)


def at_least(name: str, value: int | None, least: int) -> None:
    """A count option (--threads, --jobs...): None (its default) or `least` or more; else
    UsageError."""
    if value is not None and value < least:
        raise UsageError(f"--{name} must be {least} or more, got {value}")


def _batch_options(args: argparse.Namespace) -> BatchOptions:
    """BatchOptions from the file options; -o ending in / always names a folder."""
    if args.hints is not None and args.hint:
        raise UsageError("give --hints HINTS.png or --hint X,Y,#RRGGBB, not both")
    output = None if args.output is None else str(args.output)
    try:
        return BatchOptions(
            output=None if output is None else Path(output),
            output_folder=output is not None and output.endswith(("/", os.sep)),
            recursive=args.recursive,
            overwrite=args.overwrite,
            strength=args.strength,
            skip_color=args.skip_color,
            format=args.format,
            quality=args.quality,
            png_compression=args.png_compression,
            max_megapixels=args.max_megapixels,
            hints=args.hints,
            hint_points=_checked_hints(args),
            strip_metadata=args.strip_metadata,
        )
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None


def _checked_hints(args: argparse.Namespace) -> tuple["Point", ...]:
    """--hints checked (readable, with alpha, not empty) and --hint values parsed into points:
    UsageError naming what is wrong. The hints module (numpy, Pillow) loads only for hints."""
    if args.hints is None and not args.hint:
        return ()
    from .hints import HintError, parse_point, read_file

    try:
        if args.hints is not None:
            read_file(args.hints, max_megapixels=args.max_megapixels)
        return tuple(parse_point(text) for text in args.hint)
    except HintError as exc:
        raise UsageError(f"hints: {exc}") from None
