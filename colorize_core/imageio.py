"""Reading photos safely and writing results without ever leaving a half-written file.

Every failure is an ImageIOError whose message names the file and says what is wrong, in a
line a user can act on (Pillow's tracebacks and decompression-bomb warnings never reach them).
"""
from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_MEGAPIXELS = 200.0
# extension -> (Pillow format, keeps alpha, keeps ICC, keeps EXIF)
FORMATS = {
    ".jpg": ("JPEG", False, True, True), ".jpeg": ("JPEG", False, True, True),
    ".png": ("PNG", True, True, True),
    ".tif": ("TIFF", True, True, True), ".tiff": ("TIFF", True, True, True),
    ".webp": ("WEBP", True, True, True),
    ".bmp": ("BMP", False, False, False),
}


class ImageIOError(Exception):
    """A photo could not be read or a result could not be written; the message says why."""


@dataclass
class Photo:
    """A decoded photo, upright (EXIF orientation applied), with what should carry to its output."""
    image: Image.Image
    path: Path
    icc_profile: bytes | None = None
    exif: bytes | None = None
    warnings: list[str] = field(default_factory=list)


def load(path: str | os.PathLike, *, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> Photo:
    """Decode a photo fully, or raise ImageIOError naming the file and the reason."""
    path = Path(path)
    if not path.exists():
        raise ImageIOError(f"{path}: no such file")
    if path.is_dir():
        raise ImageIOError(f"{path}: is a folder (pass --recursive or name the files)")
    if path.stat().st_size == 0:
        raise ImageIOError(f"{path}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                im = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = saved_limit
        w, h = im.size
        if w < 1 or h < 1:
            raise ImageIOError(f"{path}: image has zero size ({w} x {h})")
        if w * h > max_megapixels * 1e6:
            raise ImageIOError(f"{path}: {w} x {h} is {w * h / 1e6:.0f} megapixels, over the limit of "
                               f"{max_megapixels:g} (raise it with --max-megapixels)")
        im.load()
    except ImageIOError:
        raise
    except UnidentifiedImageError:
        raise ImageIOError(f"{path}: not an image, or a format this tool cannot read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageIOError(f"{path}: truncated or corrupt image ({exc})") from None
    except MemoryError:
        raise ImageIOError(f"{path}: not enough memory to decode this image") from None
    photo = Photo(image=im, path=path)
    icc = im.info.get("icc_profile")
    # a grayscale or CMYK profile does not describe an RGB result
    if icc and len(icc) > 20 and icc[16:20] == b"RGB ":
        photo.icc_profile = icc
    elif icc:
        photo.warnings.append(f"{icc[16:20].decode('ascii', 'replace').strip()} ICC profile not carried to the RGB output")
    photo.image = ImageOps.exif_transpose(im) or im
    exif = photo.image.getexif()
    photo.exif = exif.tobytes() if len(exif) else None
    return photo


def save(image: Image.Image, path: str | os.PathLike, *, quality: int = 95, png_compression: int = 6,
         icc_profile: bytes | None = None, exif: bytes | None = None, overwrite: bool = False) -> Path:
    """Write `image` atomically: into a temporary file beside `path`, then renamed over it.

    A failure (full disk, no permission) leaves no partial file and never touches an existing one.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise ImageIOError(f"{path}: unknown output format {ext or '(no extension)'}; "
                           f"use one of {', '.join(sorted(FORMATS))}")
    fmt, keeps_alpha, keeps_icc, keeps_exif = FORMATS[ext]
    if image.mode in ("RGBA", "LA") and not keeps_alpha:
        raise ImageIOError(f"{path}: {fmt} cannot store the photo's transparency; write .png, .tif or .webp")
    if path.exists() and not overwrite:
        raise ImageIOError(f"{path}: already exists (use --overwrite to replace it)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ImageIOError(f"{path}: output folder {folder} does not exist")
    options: dict = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    if fmt == "WEBP":
        options["exact"] = True  # keep the RGB under transparent pixels
    if fmt == "JPEG":
        options["subsampling"] = 0 if quality >= 90 else 2
    if fmt == "PNG":
        options["compress_level"] = png_compression
    if keeps_icc and icc_profile:
        options["icc_profile"] = icc_profile
    if keeps_exif and exif:
        options["exif"] = exif
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ImageIOError(f"{path}: cannot write in {folder} ({exc.strerror})") from None
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a photo should get normal permissions
        with os.fdopen(fd, "wb") as f:
            image.save(f, format=fmt, **options)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise ImageIOError(f"{path}: could not write ({exc.strerror or exc}); nothing was written") from None
    except BaseException:
        _remove_quietly(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_quietly(tmp: str) -> None:
    """Delete a temporary file that may already be gone."""
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
