"""Reading photos safely and writing results without ever leaving a half-written file.

Every failure is an ImageIOError whose message names the file and says what is wrong, in a
line a user can act on (Pillow's tracebacks and decompression-bomb warnings never reach them).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterator

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from . import jpeg
from .atomic import write_atomic
from .formats import DEFAULT_PNG_COMPRESSION, DEFAULT_QUALITY, FORMATS, MULTI_PAGE_FORMATS
from .limits import DEFAULT_MAX_MEGAPIXELS, available_memory, decoded_bytes, human_bytes

if TYPE_CHECKING:  # numpy is imported where pixels are handled (the CLI's --help never needs it)
    import numpy as np


TURNED = range(2, 9)  # EXIF orientations that need turning upright
DECODE_BLOCK_MAX = 64 << 20  # bytes of a file handed to its decoder at once (larger files: in such blocks)


class ImageIOError(Exception):
    """A photo could not be read or a result could not be written; the message says why."""


class OutputExistsError(ImageIOError):
    """The output file exists and replacing it was not allowed: nothing was written."""


def has_alpha(image: Image.Image) -> bool:
    """True when a PIL image carries transparency (an alpha band or a palette's transparent entry)."""
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (image.mode == "P" and "transparency" in image.info)


def output_format(path: Path) -> str:
    """The Pillow format for an output path, or ImageIOError for an extension this tool cannot write."""
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        hint = " (GIF holds only 256 colours)" if ext == ".gif" else ""
        raise ImageIOError(f"{path}: cannot write {ext or 'a file without an extension'}{hint}; "
                           f"use --format png (or one of {', '.join(sorted(FORMATS))})")
    return FORMATS[ext][0]


@dataclass
class Photo:
    """A decoded photo, upright (EXIF orientation applied), with what should carry to its output."""
    image: Image.Image
    path: Path
    icc_profile: bytes | None = None
    exif: bytes | None = None
    warnings: list[str] = field(default_factory=list)
    frames: int = 1  # pages of a multi-page TIFF, frames of an animated GIF
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    gray: "np.ndarray | None" = None  # a grayscale JPEG's pixels, shared with `image` (see _decode)


def load(path: str | os.PathLike, *, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
         before_decode: Callable[[], object] | None = None) -> Photo:
    """Decode a photo's first page fully, or raise ImageIOError naming the file and the reason.

    before_decode: called once the photo is checked, just before its pixels decode (outside the
    GIL): the CLI starts loading the model then, so that the two overlap."""
    path = Path(path)
    if not path.exists():
        raise ImageIOError(f"{path}: no such file")
    if path.is_dir():
        raise ImageIOError(f"{path}: is a folder (pass --recursive or name the files)")
    if path.stat().st_size == 0:
        raise ImageIOError(f"{path}: empty file (0 bytes)")
    try:
        fp = open(path, "rb")
    except OSError as exc:
        raise ImageIOError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        opened = _open_checked(fp, path, max_megapixels, before_decode)
        im, gray = _decode(opened, fp, path)
    except BaseException:
        fp.close()
        raise
    frames = getattr(opened, "n_frames", 1)
    photo = Photo(image=im, path=path, frames=frames, max_megapixels=max_megapixels)
    icc = im.info.get("icc_profile")
    # a grayscale or CMYK profile does not describe an RGB result
    if icc and len(icc) > 20 and icc[16:20] == b"RGB ":
        photo.icc_profile = icc
    elif icc:
        photo.warnings.append(f"{icc[16:20].decode('ascii', 'replace').strip()} ICC profile not carried to the RGB output")
    if gray is not None and im.getexif().get(ExifTags.Base.Orientation, 1) not in TURNED:
        photo.image, photo.gray = im, gray  # upright, a plain image over the decoded array: no copy
    else:
        # upright and detached from the file, a copy if upright already: a multi-frame file would
        # be read again by a later load(), and a TIFF's getexif() lists its own tags, not EXIF
        photo.image = ImageOps.exif_transpose(im)
    exif = photo.image.getexif()
    photo.exif = exif.tobytes() if len(exif) else None
    fp.close()  # the first page is decoded; `pages` opens the file again for the others
    return photo


def pages(photo: Photo) -> Iterator[Image.Image]:
    """Every page (frame) of a photo, upright, each decoded only when it is asked for."""
    yield photo.image
    if photo.frames == 1:
        return
    with Image.open(photo.path) as im:
        for i in range(1, photo.frames):
            try:
                im.seek(i)
                _check_size(im, photo.path, photo.max_megapixels, f" (page {i + 1})")
                im.load()
            except ImageIOError:
                raise
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise ImageIOError(f"{photo.path}: page {i + 1} is truncated or corrupt ({exc})") from None
            yield ImageOps.exif_transpose(im.copy())


def _open_checked(fp, path: Path, max_megapixels: float,
                  before_decode: Callable[[], object] | None = None) -> Image.Image:
    """Image.open + the size, pixel-limit and memory checks (no pixels decoded yet), then
    before_decode()."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                im = Image.open(fp)
            finally:
                Image.MAX_IMAGE_PIXELS = saved_limit
    except UnidentifiedImageError:
        raise ImageIOError(f"{path}: not an image, or a format this tool cannot read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageIOError(f"{path}: truncated or corrupt image ({exc})") from None
    _check_size(im, path, max_megapixels)
    if before_decode is not None:
        before_decode()
    return im


def _decode(im: Image.Image, fp, path: Path) -> tuple[Image.Image, "np.ndarray | None"]:
    """The first page decoded: (image, None), or for a grayscale JPEG (image, its pixels as an
    array the image shares), decoded by libjpeg-turbo straight into numpy so that the JPEG
    writer takes the photo's own pixels as its Y plane (no 13 MP copy out of Pillow). A JPEG
    libjpeg-turbo refuses (a missing end marker, say) goes to Pillow, which decides."""
    try:
        if im.format == "JPEG" and im.mode == "L":
            gray = _gray_jpeg(fp)
            if gray is not None:
                shared = Image.frombuffer("L", im.size, gray, "raw", "L", 0, 1)
                shared.info = dict(im.info)  # ICC, EXIF, DPI as Pillow read them
                return shared, gray
        # the whole file in one decoder call: Pillow lets go of the GIL for it, so the model
        # loading in another thread cannot stall it between blocks
        im.decodermaxblock = max(im.decodermaxblock, min(os.fstat(fp.fileno()).st_size, DECODE_BLOCK_MAX))
        im.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageIOError(f"{path}: truncated or corrupt image ({exc})") from None
    except MemoryError:
        raise ImageIOError(f"{path}: not enough memory to decode this image") from None
    return im, None


def _gray_jpeg(fp) -> "np.ndarray | None":
    """A grayscale JPEG's pixels (H, W) by libjpeg-turbo (outside the GIL), or None if it refuses."""
    import simplejpeg  # loads numpy: imported when a grayscale JPEG is decoded, not at start-up
    fp.seek(0)
    try:
        return simplejpeg.decode_jpeg(fp.read(), colorspace="GRAY")[..., 0]
    except ValueError:
        return None


def _check_size(im: Image.Image, path: Path, max_megapixels: float, where: str = "") -> None:
    """Refuse, before decoding, an image that is empty, over the pixel limit, or larger than memory."""
    w, h = im.size
    if w < 1 or h < 1:
        raise ImageIOError(f"{path}{where}: image has zero size ({w} x {h})")
    if w * h > max_megapixels * 1e6:
        raise ImageIOError(f"{path}{where}: {w} x {h} is {w * h / 1e6:.0f} megapixels, over the limit of "
                           f"{max_megapixels:g} (raise it with --max-megapixels)")
    need, free = decoded_bytes(w, h, im.mode), available_memory()
    if free is not None and need > free:
        raise ImageIOError(f"{path}{where}: {w} x {h} needs about {human_bytes(need)} of memory to colorize, "
                           f"and only {human_bytes(free)} is available")


def save(image: Image.Image | jpeg.Planes | list[Image.Image], path: str | os.PathLike, *,
         quality: int = DEFAULT_QUALITY, png_compression: int = DEFAULT_PNG_COMPRESSION,
         icc_profile: bytes | None = None, exif: bytes | None = None, overwrite: bool = False) -> Path:
    """Write `image` (or a list of pages, for TIFF; or JPEG planes, for JPEG) atomically: into a
    temporary file beside `path`, then published under its name (exclusively, unless overwrite).

    A failure (full disk, no permission) leaves no partial file and never touches an existing one;
    an existing `path` without overwrite raises OutputExistsError, even if another process
    created it a moment ago.
    """
    path = Path(path)
    fmt = output_format(path)
    _, keeps_alpha, keeps_icc, keeps_exif = FORMATS[path.suffix.lower()]
    images = image if isinstance(image, list) else [image]
    if len(images) > 1 and fmt not in MULTI_PAGE_FORMATS:
        raise ImageIOError(f"{path}: {fmt} cannot hold {len(images)} pages; write .tif")
    if any(im.mode in ("RGBA", "LA") for im in images) and not keeps_alpha:
        raise ImageIOError(f"{path}: {fmt} cannot store the photo's transparency; write .png, .tif or .webp")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: already exists (use --overwrite to replace it)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ImageIOError(f"{path}: output folder {folder} does not exist")
    options: dict = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    if fmt == "WEBP":
        options["exact"] = True  # keep the RGB under transparent pixels
    if fmt == "JPEG":  # the chroma is the model's, upsampled from 56x56: half-size chroma loses nothing of it
        options["subsampling"] = 2
    if fmt == "PNG":
        options["compress_level"] = png_compression
    if keeps_icc and icc_profile:
        options["icc_profile"] = icc_profile
    if keeps_exif and exif:
        options["exif"] = exif
    if len(images) > 1:
        options.update(save_all=True, append_images=images[1:])
    try:
        write_atomic(path, _writer(images[0], fmt, options), overwrite=overwrite)
    except FileExistsError:
        raise OutputExistsError(f"{path}: already exists (use --overwrite to replace it)") from None
    except OSError as exc:
        raise ImageIOError(f"{path}: could not write ({exc.strerror or exc}); nothing was written") from None
    except ValueError as exc:  # metadata the format cannot hold (EXIF over 64 KB in JPEG)
        raise ImageIOError(f"{path}: could not write ({exc}); nothing was written") from None
    return path


def _writer(image: Image.Image | jpeg.Planes, fmt: str, options: dict) -> Callable[[BinaryIO], object]:
    """What writes the photo into an open file: Pillow, or libjpeg-turbo for JPEG planes."""
    if not isinstance(image, jpeg.Planes):
        return lambda f: image.save(f, format=fmt, **options)
    if fmt != "JPEG":
        raise ImageIOError(f"JPEG planes cannot be written as {fmt}")
    data = jpeg.encode(image, quality=options["quality"], icc_profile=options.get("icc_profile"),
                       exif=options.get("exif"))
    return lambda f: f.write(data)
