"""Batches of photo files: finding the inputs, naming the outputs, colorizing one file into another.

Configured by BatchOptions (options.py), which Python callers build directly; the CLI and the
cluster mode only parse arguments into it and report what comes back.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .formats import (
    FORMAT_NAMES,
    FORMATS,
    HINTS_SUFFIX,
    MULTI_PAGE_FORMATS,
    PHOTO_SUFFIXES,
    format_suffix,
    hint_sidecar,
)
from .imageio import (
    ImageIOError,
    OutputExistsError,
    has_alpha,
    load,
    output_format,
    pages,
    save,
    unreadable_format,
    unwritable,
)
from .options import BatchOptions
from .results import EXISTS_REASON, Failure, PhotoResult, Skip, Status, failed, skipped

if (
    TYPE_CHECKING
):  # numpy and the model load in the CLI's helper thread while the first photo decodes
    from .hints import HintsLike
    from .pipeline import Colorizer

OUTPUT_TAG = "_colorized"


class BatchUsageError(ValueError):
    """The inputs and options contradict each other: nothing was attempted.

    inputs: the photos at fault, where some are (two that would be written to one file)."""

    def __init__(self, message: str, inputs: tuple[Path, ...] = ()):
        super().__init__(message)
        self.inputs = inputs


def collect(inputs: list[Path], recursive: bool) -> list[tuple[Path, Path]]:
    """(photo, path relative to its input root) for every input; folders expand to their photos.

    Files this tool wrote before (*_colorized.*) and hint files (*.hints.png) are not picked up
    from folders.
    Missing paths stay in the list, so that they are reported as failures.
    """
    jobs = []
    for item in inputs:
        if item.is_dir():
            pattern = item.rglob("*") if recursive else item.glob("*")
            found = sorted(
                p
                for p in pattern
                if p.is_file()
                and p.suffix.lower() in PHOTO_SUFFIXES
                and not p.stem.endswith(OUTPUT_TAG)
                and not p.name.startswith(".")
                and not p.name.lower().endswith(HINTS_SUFFIX)
            )
            jobs.extend((p, p.relative_to(item)) for p in found)
        else:
            jobs.append((item, Path(item.name)))
    return jobs


def plan(inputs: list[Path], opts: BatchOptions) -> list[tuple[Path, Path]]:
    """(input, output) for every photo, or BatchUsageError when the options cannot be met."""
    jobs = collect(inputs, opts.recursive)
    if not jobs:
        raise BatchUsageError(
            "no photos found in the given folders "
            f"({', '.join(PHOTO_SUFFIXES)}; use --recursive for sub-folders)"
        )
    out = opts.output
    single = len(jobs) == 1 and not inputs[0].is_dir()
    if (opts.hints is not None or opts.hint_points) and not single:
        raise BatchUsageError(
            f"--hints and --hint steer one photo, and {len(jobs)} were given; in folders, put "
            f"each photo's hints beside it (scan.jpg: scan{HINTS_SUFFIX})"
        )
    if opts.output_folder and out is not None and out.exists() and not out.is_dir():
        raise BatchUsageError(f"-o {out}{os.sep}: names a folder, and {out} is a file")
    to_file = (
        out is not None
        and single
        and not opts.output_folder
        and not out.is_dir()
        and bool(out.suffix)
    )
    if out is not None and not single and not opts.output_folder and not out.is_dir():
        if out.exists():
            raise BatchUsageError(
                f"-o {out}: several inputs need an output folder, and this is a file"
            )
        if out.suffix.lower() in PHOTO_SUFFIXES + (".gif",):
            raise BatchUsageError(
                f"-o {out}: {len(jobs)} photos cannot go into one file; name an output folder"
            )
    if to_file and format_suffix(out.suffix) is None:
        raise BatchUsageError(
            f"-o {out}: {unwritable(out.suffix)}; name it .png (or one of {FORMAT_NAMES}), "
            "or end it with / for a folder"
        )
    if to_file and opts.format and FORMATS.get(out.suffix.lower()) != FORMATS["." + opts.format]:
        raise BatchUsageError(
            f"-o {out} and --format {opts.format} contradict each other; give one of them"
        )
    return _one_claim_per_output(
        [(src, out if to_file else _output_name(src, rel, opts)) for src, rel in jobs]
    )


def _file_in_the_way(folder: Path) -> Path | None:
    """The file that stands where `folder` or one of its parents should be, or None when the
    folder exists or can be made (its nearest existing ancestor is a folder)."""
    for place in (folder, *folder.parents):
        if place.is_dir():
            return None
        if os.path.lexists(place) and not place.is_dir():  # a folder made meanwhile is no blocker
            return place
    return None


def _one_claim_per_output(jobs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """The jobs with a photo given twice kept once; BatchUsageError naming both photos when two
    different ones would be written to one file (one would be lost, and which one would vary)."""
    claimed: dict[str, Path] = {}
    kept = []
    for src, dst in jobs:
        key = os.path.normcase(os.path.abspath(dst))
        first = claimed.get(key)
        if first is None:
            claimed[key] = src
            kept.append((src, dst))
        elif os.path.realpath(first) != os.path.realpath(src):
            raise BatchUsageError(
                f"{first} and {src} would both be written to {dst}: rename one of them, or "
                "colorize them into different -o folders",
                inputs=(first, src),
            )
    return kept


def _output_name(src: Path, rel: Path, opts: BatchOptions) -> Path:
    """PHOTO_colorized.EXT beside the photo, or at its relative place inside the output folder."""
    ext = "." + opts.format if opts.format else src.suffix.lower()
    name = rel.with_name(rel.stem + OUTPUT_TAG + ext)
    return opts.output / name if opts.output is not None else src.with_name(name.name)


def colorize_file(
    colorizer: "Colorizer | Callable[[], Colorizer]",
    src: Path,
    dst: Path,
    opts: BatchOptions,
    *,
    before_decode: Callable[[], object] | None = None,
) -> PhotoResult:
    """process_one, timed, with a photo that fails as a result instead of an exception: what the
    CLI and the cluster's workers do with each photo. Only a model that cannot load (raised by
    `colorizer`) ends the batch."""
    t0 = time.perf_counter()
    try:
        result = process_one(colorizer, src, dst, opts, before_decode=before_decode)
    except ImageIOError as exc:
        result = failed(str(src), Failure.PHOTO, str(exc))
    except MemoryError:
        result = failed(str(src), Failure.OUT_OF_MEMORY, f"{src}: out of memory")
    result.seconds = round(time.perf_counter() - t0, 3)
    return result


def process_one(
    colorizer: "Colorizer | Callable[[], Colorizer]",
    src: Path,
    dst: Path,
    opts: BatchOptions,
    *,
    before_decode: Callable[[], object] | None = None,
) -> PhotoResult:
    """Colorize `src` into `dst`; returns its result (ok or skipped, with warnings).

    colorizer: a Colorizer, or a function that returns one when the photo is decoded (so that a
    model still loading in another thread loads while the photo decodes).
    before_decode: called just before the photo's pixels decode (imageio.load).
    Raises ImageIOError (with a message naming the file) on any failure; nothing is written then.
    An existing `dst` (without overwrite) is skipped, also when another process writes it first.
    """
    if os.path.lexists(dst) and not opts.overwrite:
        if src.exists() and dst.resolve() == src.resolve():
            raise ImageIOError(f"{dst}: is the input itself (use --overwrite to replace it)")
        return skipped(str(src), Skip.OUTPUT_EXISTS, EXISTS_REASON)
    try:
        fmt = output_format(dst)
    except ImageIOError as exc:
        # a photo no format would help (HEIC here): what is wrong with it comes first
        raise ImageIOError(f"{src}: {unreadable_format(src) or exc}") from None
    photo = load(src, max_megapixels=opts.max_megapixels, before_decode=before_decode)
    from .preprocess import (
        is_monochrome,
    )  # numpy: imported only now, so it imports while the photo decodes

    warnings = (
        photo.warnings
    )  # the same list: warnings about a TIFF's later pages join it as they decode
    if not is_monochrome(photo.image):
        if opts.skip_color:
            return skipped(str(src), Skip.IN_COLOUR, "already in colour (--skip-color)", warnings)
        warnings.append(
            "already in colour: colorized from its luminance (use --skip-color to leave it)"
        )
    from .hints import HintError  # numpy, like is_monochrome

    hints, hint_source = hints_for(src, opts)
    if not hasattr(colorizer, "colorize"):
        colorizer = colorizer()
    try:
        result = _colorize(colorizer, photo, fmt, opts.strength, hints, warnings)
    except HintError as exc:  # points outside this photo
        raise ImageIOError(f"{src}: {exc}") from None
    _make_parent(dst)
    try:
        save(
            result,
            dst,
            quality=opts.quality,
            png_compression=opts.png_compression,
            icc_profile=None if opts.strip_metadata else photo.icc_profile,
            exif=None if opts.strip_metadata else photo.exif,
            overwrite=opts.overwrite,
        )
    except OutputExistsError:
        return skipped(
            str(src),
            Skip.OUTPUT_EXISTS,
            EXISTS_REASON + "; another process wrote it first",
            warnings,
        )
    mode = "RGB" if result[0].mode == "YCbCr" else result[0].mode
    return PhotoResult(
        str(src),
        str(dst),
        Status.OK,
        warnings=warnings,
        size=tuple(result[0].size),
        mode=mode,
        pages=len(result),
        hints=hint_source if hints is not None else None,
    )


def hints_for(src: Path, opts: BatchOptions) -> tuple["HintsLike | None", str | None]:
    """(the hints for `src`, where they came from): the options' hint image or points, else the
    photo's own STEM.hints.png, else (None, None). ImageIOError naming a bad hint file."""
    from .hints import HintError, read_file

    if opts.hint_points:
        return list(opts.hint_points), "--hint"
    path = opts.hints if opts.hints is not None else hint_sidecar(src)
    if opts.hints is None and not path.is_file():
        return None, None
    try:
        return read_file(path, max_megapixels=opts.max_megapixels), str(path)
    except HintError as exc:
        raise ImageIOError(str(exc)) from None


def uses_hints(jobs: list[tuple[Path, Path]], opts: BatchOptions) -> bool:
    """True when some photo of the batch will be colorized with hints (so a hint model is
    needed)."""
    return (
        opts.hints is not None
        or bool(opts.hint_points)
        or any(hint_sidecar(src).is_file() for src, _ in jobs)
    )


def _colorize(
    colorizer: "Colorizer", photo, fmt: str, strength: float, hints, warnings: list[str]
) -> list:
    """The colorized pages to write: every page for a multi-page output, else the first."""
    if photo.frames > 1 and fmt in MULTI_PAGE_FORMATS:
        return [colorizer.colorize(page, strength=strength, hints=hints) for page in pages(photo)]
    if photo.frames > 1:
        warnings.append(
            f"only the first of its {photo.frames} frames was colorized "
            f"({fmt} holds one image; write .tif to keep every page)"
        )
    if fmt == "JPEG" and not has_alpha(photo.image):
        # JPEG stores YCbCr with half-size chroma: hand it over as such (tests bound the difference)
        return [
            colorizer.colorize_planes(
                photo.gray if photo.gray is not None else photo.image,
                strength=strength,
                hints=hints,
            )
        ]
    return [colorizer.colorize(photo.image, strength=strength, hints=hints)]


def _make_parent(dst: Path) -> None:
    """Create the output's folder (and its parents), as `-o FOLDER` promises. Safe when several
    jobs make it at once: mkdir first, the reason looked for only when it fails."""
    if not str(dst.parent):
        return
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # mkdir says "File exists" or "Not a directory": name the file instead
        blocker = _file_in_the_way(dst.parent)
        why = f": {blocker} is a file, not a folder" if blocker else f" ({exc.strerror})"
        raise ImageIOError(f"{dst}: cannot create output folder {dst.parent}{why}") from None
