"""Batches of photo files: finding the inputs, naming the outputs, colorizing one file into another.

Configured by BatchOptions (options.py), which Python callers build directly; the CLI and the
cluster mode only parse arguments into it and report what comes back.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
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
    Photo,
    PhotoFile,
    has_alpha,
    output_format,
    pages,
    save,
    unreadable_format,
    unwritable,
)
from .jpeg import Planes
from .options import BatchOptions
from .results import EXISTS_REASON, Failure, PhotoResult, Skip, Status, failed, skipped

# numpy and the model load in the CLI's helper thread while the first photo decodes
if TYPE_CHECKING:
    from PIL import Image

    from .hints import HintsLike
    from .pipeline import Colorizer

OUTPUT_TAG = "_colorized"
Job = tuple[Path, Path]  # (photo, its output)


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


def plan(inputs: list[Path], opts: BatchOptions) -> list[Job]:
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


def _one_claim_per_output(jobs: list[Job]) -> list[Job]:
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


@dataclass
class OpenedPhoto:
    """A photo ready to colorize: its output free, its format known, the file open and checked."""

    src: Path
    dst: Path
    fmt: str
    file: PhotoFile


def colorize_file(
    colorizer: Callable[[], "Colorizer"], src: Path, dst: Path, opts: BatchOptions
) -> PhotoResult:
    """One photo file colorized into another, as a result (a photo that fails too): what the
    cluster's workers do with each photo (the CLI runs the two steps itself, starting its model's
    load between them). colorizer: called once the photo is decoded. Only a model that cannot
    load, raised by it, ends the batch."""

    def steps() -> PhotoResult:
        opened = open_one(src, dst, opts)
        return opened if isinstance(opened, PhotoResult) else finish_one(opened, colorizer, opts)

    return as_result(src, steps)


def as_result(src: Path, work: Callable[[], PhotoResult]) -> PhotoResult:
    """work() timed, with a photo that fails (ImageIOError, out of memory) as a failed result."""
    t0 = time.perf_counter()
    try:
        result = work()
    except ImageIOError as exc:
        result = failed(str(src), Failure.PHOTO, str(exc))
    except MemoryError:
        result = failed(str(src), Failure.OUT_OF_MEMORY, f"{src}: out of memory")
    result.seconds = round(time.perf_counter() - t0, 3)
    return result


def open_one(src: Path, dst: Path, opts: BatchOptions) -> "OpenedPhoto | PhotoResult":
    """The photo opened and checked, or its result when it is skipped: an existing `dst` (without
    overwrite) is. Raises ImageIOError naming the file. No pixels are decoded yet."""
    if os.path.lexists(dst) and not opts.overwrite:
        if src.exists() and dst.resolve() == src.resolve():
            raise ImageIOError(f"{dst}: is the input itself (use --overwrite to replace it)")
        return skipped(str(src), Skip.OUTPUT_EXISTS, EXISTS_REASON)
    try:
        fmt = output_format(dst)
    except ImageIOError as exc:
        # a photo no format would help (HEIC here): what is wrong with it comes first
        raise ImageIOError(f"{src}: {unreadable_format(src) or exc}") from None
    return OpenedPhoto(src, dst, fmt, PhotoFile(src, max_megapixels=opts.max_megapixels))


def finish_one(
    opened: OpenedPhoto, colorizer: Callable[[], "Colorizer"], opts: BatchOptions
) -> PhotoResult:
    """Decode, colorize and write an opened photo; its result (ok, or skipped: in colour with
    --skip-color, or its output written by another process first). Raises ImageIOError."""
    src, dst = opened.src, opened.dst
    photo = opened.file.decode()
    # numpy is imported only now, so that it imports while the first photo decodes
    from .hints import HintError
    from .preprocess import is_monochrome

    warnings = photo.warnings  # the same list: a TIFF's later pages add theirs as they decode
    if not is_monochrome(photo.image):
        if opts.skip_color:
            return skipped(str(src), Skip.IN_COLOUR, "already in colour (--skip-color)", warnings)
        warnings.append(
            "already in colour: colorized from its luminance (use --skip-color to leave it)"
        )
    hints, hint_source = hints_for(src, opts)
    try:
        result = _colorize(colorizer(), photo, opened.fmt, opts.strength, hints, warnings)
    except HintError as exc:  # points outside this photo
        raise ImageIOError(f"{src}: {exc}") from None
    _make_parent(dst)
    try:
        _save(result, dst, photo, opts)
    except OutputExistsError:
        return skipped(
            str(src),
            Skip.OUTPUT_EXISTS,
            EXISTS_REASON + "; another process wrote it first",
            warnings,
        )
    planes = isinstance(result, Planes)
    return PhotoResult(
        str(src),
        str(dst),
        Status.OK,
        warnings=warnings,
        size=result.size if planes else tuple(result[0].size),
        mode="RGB" if planes else result[0].mode,
        pages=1 if planes else len(result),
        hints=hint_source if hints is not None else None,
    )


def _save(
    result: "list[Image.Image] | Planes", dst: Path, photo: Photo, opts: BatchOptions
) -> None:
    """The colorized pages written to dst with the photo's metadata (unless stripped)."""
    save(
        result,
        dst,
        quality=opts.quality,
        png_compression=opts.png_compression,
        icc_profile=None if opts.strip_metadata else photo.icc_profile,
        exif=None if opts.strip_metadata else photo.exif,
        overwrite=opts.overwrite,
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


def uses_hints(jobs: list[Job], opts: BatchOptions) -> bool:
    """True when some photo of the batch will be colorized with hints (so a hint model is
    needed)."""
    return (
        opts.hints is not None
        or bool(opts.hint_points)
        or any(hint_sidecar(src).is_file() for src, _ in jobs)
    )


def _colorize(
    colorizer: "Colorizer", photo: Photo, fmt: str, strength: float, hints, warnings: list[str]
) -> "list[Image.Image] | Planes":
    """What to write: every page for a multi-page output, else the first; for a JPEG without
    alpha, the planes the JPEG stores."""
    if photo.frames > 1 and fmt in MULTI_PAGE_FORMATS:
        return [colorizer.colorize(page, strength=strength, hints=hints) for page in pages(photo)]
    if photo.frames > 1:
        warnings.append(
            f"only the first of its {photo.frames} frames was colorized "
            f"({fmt} holds one image; write .tif to keep every page)"
        )
    if fmt == "JPEG" and not has_alpha(photo.image):
        # JPEG stores YCbCr with half-size chroma: hand it over as such (tests bound the difference)
        return colorizer.colorize_planes(
            photo.gray if photo.gray is not None else photo.image, strength=strength, hints=hints
        )
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
