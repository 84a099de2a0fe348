"""Reading photos safely and writing results without ever leaving a half-written file.

Every failure is an ImageIOError whose message names the file and says what is wrong, in a
line a user can act on (Pillow's tracebacks and decompression-bomb warnings never reach them).
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterable, Iterator

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from . import jpeg
from .atomic import write_atomic
from .formats import (
    DEFAULT_PNG_COMPRESSION,
    DEFAULT_QUALITY,
    FORMAT_NAMES,
    FORMATS,
    MULTI_PAGE_FORMATS,
)
from .limits import DEFAULT_MAX_MEGAPIXELS, available_memory, decoded_bytes, human_bytes

if TYPE_CHECKING:  # numpy is imported where pixels are handled (the CLI's --help never needs it)
    import numpy as np


TURNED = range(2, 9)  # EXIF orientations that need turning upright
# bytes of a file handed to its decoder at once (larger files: in such blocks)
DECODE_BLOCK_MAX = 64 << 20
KEYED_MODES = {
    "L": "LA",
    "RGB": "RGBA",
}  # modes whose transparency may be one key value -> with alpha
# Pillow's format plugins parse a file's headers in Python, so a damaged file surfaces as almost any
# built-in exception (TypeError for a TIFF page without dimensions, RuntimeError from the AVIF
# decoder, EOFError, struct.error, SyntaxError from an EXIF block): around Pillow's reading calls,
# every Exception but MemoryError is the file's fault.
UNREADABLE_EXIF = "its EXIF metadata is damaged and was left out (the pixels were read)"
LOOP = "symbolic link loop (a link that leads back to itself)"
NOT_REGULAR = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
# ISO media brands (the `ftyp` box that opens the file) of HEIC photos, the iPhone's format
HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}


class ImageIOError(Exception):
    """A photo could not be read or a result could not be written; the message says why."""


class OutputExistsError(ImageIOError):
    """The output file exists and replacing it was not allowed: nothing was written."""


def has_alpha(image: Image.Image) -> bool:
    """True when a PIL image carries transparency (an alpha band or a palette's transparent
    entry)."""
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )


def output_format(path: Path) -> str:
    """The Pillow format for an output path, or ImageIOError for an extension this tool cannot write
    (an output named after its input: `-o FILE` is refused before any work, see batch.plan)."""
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise ImageIOError(
            f"{path}: {unwritable(ext)}; use --format png (or one of {FORMAT_NAMES})"
        )
    return FORMATS[ext][0]


def unwritable(ext: str) -> str:
    """Why a file named *ext cannot be written, in words."""
    if not ext:
        return "cannot write a file without an extension"
    return f"cannot write {ext} files" + (
        " (GIF holds only 256 colours)" if ext.lower() == ".gif" else ""
    )


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


class PhotoFile:
    """A photo opened and checked (format, size, pixel limit, memory) with no pixels decoded yet.

    Checking takes milliseconds and decoding most of a photo's time: a caller that has slow work
    of its own to start (the CLI's model) starts it between the two, beside the decode. Close it
    (or use it in a `with`) when it is not decoded."""

    def __init__(self, path: str | os.PathLike, *, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS):
        self.path, self.max_megapixels = Path(path), max_megapixels
        self._said: list[str] = []  # Pillow's warnings about the file
        self._fp = _open_photo(self.path)
        try:
            with pillow_warnings(self._said):
                self._image = _open_checked(self._fp, self.path, max_megapixels)
        except BaseException:
            self._fp.close()
            raise

    def decode(self) -> Photo:
        """The first page decoded, upright, with its metadata; the file is closed after it (`pages`
        opens it again for the others). ImageIOError naming the file and the reason."""
        try:
            with pillow_warnings(self._said):
                photo = _read(self._image, self._fp, self.path, self.max_megapixels)
        finally:
            self.close()
        _add_new(photo.warnings, self._said)
        return photo

    def close(self) -> None:
        self._fp.close()

    def __enter__(self) -> "PhotoFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load(path: str | os.PathLike, *, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> Photo:
    """Decode a photo's first page fully, or raise ImageIOError naming the file and the reason."""
    return PhotoFile(path, max_megapixels=max_megapixels).decode()


def _add_new(warned: list[str], said: Iterable[str]) -> None:
    """Append what was said and is not in `warned` yet (Pillow reads a block twice, warning
    twice)."""
    for text in said:
        if text not in warned:
            warned.append(text)


def _read(opened: Image.Image, fp: BinaryIO, path: Path, max_megapixels: float) -> Photo:
    """The checked photo's first page decoded, upright, with its metadata."""
    im, gray = _decode(opened, fp, path)
    frames = _frames(opened, path)
    if im.mode in KEYED_MODES and "transparency" in im.info:
        # a transparency key (PNG's tRNS, common after PNG optimisers) is alpha: kept as such
        im = im.convert(KEYED_MODES[im.mode])
    photo = Photo(image=im, path=path, frames=frames, max_megapixels=max_megapixels)
    icc = im.info.get("icc_profile")
    # a grayscale or CMYK profile does not describe an RGB result
    if icc and len(icc) > 20 and icc[16:20] == b"RGB ":
        photo.icc_profile = icc
    elif icc:
        photo.warnings.append(
            f"{icc[16:20].decode('ascii', 'replace').strip()} "
            "ICC profile not carried to the RGB output"
        )
    exif = _exif_of(im)
    orientation = None if exif is None else exif.get(ExifTags.Base.Orientation, 1)
    if gray is not None and orientation not in TURNED:
        photo.image, photo.gray = im, gray  # upright, a plain image over the decoded array: no copy
    else:
        # upright and detached from the file, a copy if upright already: a multi-frame file would
        # be read again by a later load(), and a TIFF's getexif() lists its own tags, not EXIF
        photo.image = _upright(im, exif)
    if exif is not None and photo.image is not im:
        exif = _exif_of(photo.image)  # Pillow reads a JPEG's own EXIF more leniently than a copy's
    if exif is None:
        photo.warnings.append(UNREADABLE_EXIF)
    elif len(exif):
        photo.exif = exif.tobytes()
    return photo


def _open_photo(path: Path) -> BinaryIO:
    """The photo's file open for reading, or ImageIOError saying why it cannot be.

    Opened without waiting (O_NONBLOCK) and checked on the open file: a named pipe or a device
    named as a photo is refused at once instead of blocking the batch, and a file swapped for
    one after a check cannot slip past it."""
    if path.is_dir():  # before opening: Windows cannot open a folder
        raise ImageIOError(f"{path}: is a folder (pass --recursive or name the files)")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ImageIOError(f"{path}: {_open_failure(path, exc)}") from None
    try:
        info = os.fstat(fd)
        kind = stat.S_IFMT(info.st_mode)
        if stat.S_ISDIR(info.st_mode):
            raise ImageIOError(f"{path}: is a folder (pass --recursive or name the files)")
        if not stat.S_ISREG(info.st_mode):
            what = NOT_REGULAR.get(kind, "not a file")
            raise ImageIOError(
                f"{path}: {what}, not a regular file: save the photo into a file first"
            )
        if info.st_size == 0:
            raise ImageIOError(f"{path}: empty file (0 bytes)")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_failure(path: Path, exc: OSError) -> str:
    """Why a photo's file could not be opened, in words (symbolic links told apart: a loop, a
    link to a missing file)."""
    if exc.errno == errno.ELOOP:
        return LOOP
    if exc.errno == errno.ENOENT and path.is_symlink():
        return f"no such file (a symbolic link to {os.readlink(path)}, which is missing)"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file"
    if exc.errno == errno.ENXIO:  # a socket: nothing to open
        return f"{NOT_REGULAR[stat.S_IFSOCK]}, not a regular file: save the photo into a file first"
    return f"cannot read it ({exc.strerror or exc})"


def unreadable_format(path: Path) -> str | None:
    """Why a photo in a format Pillow cannot decode here cannot be read and what to do, or None.

    Pillow reads no HEIC without a plug-in, and "not an image" would send an iPhone user
    looking for a damaged file: the file's first bytes name the format."""
    Image.init()
    if "HEIF" in Image.OPEN:  # a HEIF plug-in (pillow-heif) is registered: HEIC is read
        return None
    try:
        with _open_photo(path) as f:  # a pipe is never waited on
            head = f.read(64)
    except (ImageIOError, OSError):
        return None
    if head[4:8] != b"ftyp":
        return None
    end = min(int.from_bytes(head[:4], "big"), len(head))
    # the major brand, then (past the minor version) the compatible ones
    brands = {head[8:12]} | {head[at : at + 4] for at in range(16, end - 3, 4)}
    if brands & HEIC_BRANDS:
        return (
            "a HEIC photo, which this tool cannot read (Pillow has no HEIC decoder here): "
            "convert it to "
            "JPEG, PNG or TIFF first"
        )
    return None


class _WarningRoute:
    """Sends Python warnings raised in a thread inside pillow_warnings() to that thread's list.

    warnings.catch_warnings swaps process-wide state and restores it on exit: photos decoded
    side by side (a batch's threads) would restore each other's and lose or misroute warnings.
    Here one swap is made while any photo decodes (counted under a lock), and each warning goes
    to the list of the thread that raised it, or where it went before for other threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.saved: warnings.catch_warnings | None = None
        self.previous: Callable[..., object] = warnings.showwarning
        self.local = threading.local()

    def enter(self) -> None:
        with self.lock:
            if self.users == 0:
                self.saved = warnings.catch_warnings()
                self.saved.__enter__()
                # every photo its own warnings (the default shows one text once per process) for
                # the kinds Pillow warns about a file with; deprecations stay as they were, not to
                # surface in other threads (the model loading beside the decode) meanwhile.
                # Decompression bombs are this tool's to refuse (--max-megapixels), not Pillow's.
                for category in (UserWarning, RuntimeWarning):
                    warnings.simplefilter("always", category)
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                self.previous, warnings.showwarning = warnings.showwarning, self.show
            self.users += 1

    def exit(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                self.saved.__exit__(None, None, None)
                self.saved = None

    def show(self, message, category, filename, lineno, file=None, line=None) -> None:
        into = getattr(self.local, "into", None)
        if into is None:
            self.previous(message, category, filename, lineno, file, line)
        else:  # the text alone: Pillow's source path and line mean nothing to the user
            into.append(" ".join(str(message).split()))


_ROUTE = _WarningRoute()


@contextmanager
def pillow_warnings(into: list[str]) -> Iterator[None]:
    """Python warnings raised in this thread meanwhile (Pillow's about a damaged file: "Corrupt
    EXIF data", "malformed MPO file") appended to `into` as one-line text, not printed: they are
    the photo's warnings, in the JSON report and silent under -q like the others."""
    _ROUTE.enter()
    outer, _ROUTE.local.into = getattr(_ROUTE.local, "into", None), into
    try:
        yield
    finally:
        _ROUTE.local.into = outer
        _ROUTE.exit()


def pages(photo: Photo) -> Iterator[Image.Image]:
    """Every page (frame) of a photo, upright, each decoded only when it is asked for."""
    yield photo.image
    if photo.frames == 1:
        return
    with pillow_warnings([]):  # what the first page's reading said already
        im = _open_unlimited(photo.path)
    with im:
        for i in range(1, photo.frames):
            said: list[str] = []
            try:
                with pillow_warnings(said):
                    im.seek(i)
                    _check_size(im, photo.path, photo.max_megapixels, f" (page {i + 1})")
                    im.load()
                    page = im.copy()
                    upright = _upright(page, _exif_of(page))
            except (ImageIOError, MemoryError):
                raise
            except Exception as exc:  # see the note at the top
                raise ImageIOError(
                    f"{photo.path}: page {i + 1} is truncated or corrupt ({_reason(exc)})"
                ) from None
            _add_new(photo.warnings, (f"page {i + 1}: {w}" for w in said))
            yield upright


def _exif_of(im: Image.Image) -> Image.Exif | None:
    """An image's EXIF (empty when it has none), or None when its EXIF block cannot be parsed."""
    try:
        return im.getexif()
    except MemoryError:
        raise
    except Exception:  # see the note at the top
        return None


def _upright(im: Image.Image, exif: Image.Exif | None) -> Image.Image:
    """`im` turned upright by its EXIF orientation, as a new image; as it is when its EXIF is
    unreadable."""
    if exif is not None:
        try:
            return ImageOps.exif_transpose(im)
        except MemoryError:
            raise
        except Exception:  # see the note at the top
            pass
    return im.copy()


def _frames(im: Image.Image, path: Path) -> int:
    """Pages of a TIFF, frames of a GIF: counting them reads the file's whole chain of pages."""
    with _failures_named(path, "read"):
        return getattr(im, "n_frames", 1)


@contextmanager
def _failures_named(path: Path, step: str) -> Iterator[None]:
    """Pillow's failures while it reads or decodes `path` (the `step`) as an ImageIOError naming
    the file: not a format it reads, out of memory, or anything else as a damaged file."""
    try:
        yield
    except ImageIOError:
        raise
    except UnidentifiedImageError:
        raise ImageIOError(
            f"{path}: "
            f"{unreadable_format(path) or 'not an image, or a format this tool cannot read'}"
        ) from None
    except MemoryError:
        raise ImageIOError(f"{path}: not enough memory to {step} this image") from None
    except Exception as exc:  # see the note at the top
        raise ImageIOError(f"{path}: truncated or corrupt image ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    """Pillow's words for what is wrong with a file, or its exception's name when it gave none."""
    return str(exc) or type(exc).__name__


def _open_checked(fp, path: Path, max_megapixels: float) -> Image.Image:
    """Image.open + the size, pixel-limit and memory checks (no pixels decoded yet)."""
    with _failures_named(path, "read"):
        im = _open_unlimited(fp)
    _check_size(im, path, max_megapixels)
    return im


_OPEN_LOCK = threading.Lock()


def _open_unlimited(fp: BinaryIO | Path) -> Image.Image:
    """Image.open without Pillow's own pixel limit (this tool's, --max-megapixels, is checked
    next, in words a user can act on). The limit is one global of Pillow's: it is lifted under a
    lock, so that photos opened side by side never see it restored mid-open (a DecompressionBomb
    error for a photo under --max-megapixels). Opening reads headers only: the lock is brief."""
    with _OPEN_LOCK:
        saved_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(fp)
        finally:
            Image.MAX_IMAGE_PIXELS = saved_limit


def _decode(im: Image.Image, fp, path: Path) -> tuple[Image.Image, "np.ndarray | None"]:
    """The first page decoded: (image, None), or for a grayscale JPEG (image, its pixels as an
    array the image shares), decoded by libjpeg-turbo straight into numpy so that the JPEG
    writer takes the photo's own pixels as its Y plane (no 13 MP copy out of Pillow). A JPEG
    libjpeg-turbo refuses (a missing end marker, say) goes to Pillow, which decides."""
    with _failures_named(path, "decode"):
        if im.format == "JPEG" and im.mode == "L":
            gray = _gray_jpeg(fp)
            if gray is not None:
                shared = Image.frombuffer("L", im.size, gray, "raw", "L", 0, 1)
                shared.info = dict(im.info)  # ICC, EXIF, DPI as Pillow read them
                return shared, gray
        # the whole file in one decoder call: Pillow lets go of the GIL for it, so the model
        # loading in another thread cannot stall it between blocks
        im.decodermaxblock = max(
            im.decodermaxblock, min(os.fstat(fp.fileno()).st_size, DECODE_BLOCK_MAX)
        )
        im.load()
    return im, None


def _gray_jpeg(fp) -> "np.ndarray | None":
    """A grayscale JPEG's pixels (H, W) by libjpeg-turbo (outside the GIL), or None if it
    refuses."""
    import simplejpeg  # loads numpy: imported when a grayscale JPEG is decoded, not at start-up

    fp.seek(0)
    try:
        return simplejpeg.decode_jpeg(fp.read(), colorspace="GRAY")[..., 0]
    except ValueError:
        return None


def _check_size(im: Image.Image, path: Path, max_megapixels: float, where: str = "") -> None:
    """Refuse, before decoding, an image that is empty, over the pixel limit, or larger than
    memory."""
    w, h = im.size
    if w < 1 or h < 1:
        raise ImageIOError(f"{path}{where}: image has zero size ({w} x {h})")
    if w * h > max_megapixels * 1e6:
        raise ImageIOError(
            f"{path}{where}: {w} x {h} is {w * h / 1e6:.0f} megapixels, over the limit of "
            f"{max_megapixels:g} (raise it with --max-megapixels)"
        )
    need, free = decoded_bytes(w, h, im.mode), available_memory()
    if free is not None and need > free:
        raise ImageIOError(
            f"{path}{where}: {w} x {h} needs about {human_bytes(need)} of memory to colorize, "
            f"and only {human_bytes(free)} is available"
        )


def save(
    image: Image.Image | jpeg.Planes | list[Image.Image],
    path: str | os.PathLike,
    *,
    quality: int = DEFAULT_QUALITY,
    png_compression: int = DEFAULT_PNG_COMPRESSION,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    overwrite: bool = False,
) -> Path:
    """Write `image` (or a list of pages, for TIFF; or JPEG planes, for JPEG) atomically: into a
    temporary file beside `path`, then published under its name (exclusively, unless overwrite).

    A failure (full disk, no permission) leaves no partial file and never touches an existing one;
    an existing `path` without overwrite raises OutputExistsError, even if another process
    created it a moment ago. icc_profile, exif: the metadata written where the format holds it;
    None writes none (never the image's own: --strip-metadata passes None for both).
    """
    path = Path(path)
    fmt = output_format(path)
    planes = image if isinstance(image, jpeg.Planes) else None
    images = [] if planes is not None else image if isinstance(image, list) else [image]
    _check_content(path, fmt, planes, images, exif)
    _check_destination(path, overwrite)
    options = _save_options(
        path,
        fmt,
        quality=quality,
        png_compression=png_compression,
        icc_profile=icc_profile,
        exif=exif,
    )
    try:
        write = (
            _planes_writer(planes, options)
            if planes is not None
            else _pillow_writer(images, fmt, options)
        )
        write_atomic(path, write, overwrite=overwrite)
    except FileExistsError:
        raise OutputExistsError(f"{path}: already exists (use --overwrite to replace it)") from None
    except OSError as exc:
        raise ImageIOError(
            f"{path}: could not write ({exc.strerror or exc}); nothing was written"
        ) from None
    except ValueError as exc:  # metadata the format cannot hold (an ICC profile over 16 MB in JPEG)
        raise ImageIOError(f"{path}: could not write ({exc}); nothing was written") from None
    return path


def _check_content(
    path: Path, fmt: str, planes: jpeg.Planes | None, images: list[Image.Image], exif: bytes | None
) -> None:
    """Refuse what `fmt` cannot hold (planes outside JPEG, pages, transparency, a long EXIF)
    before any file is made, so a refusal never leaves a partial file behind."""
    keeps_alpha = FORMATS[path.suffix.lower()][1]
    if planes is not None and fmt != "JPEG":
        raise ImageIOError(f"{path}: JPEG planes cannot be written as {fmt}")
    if len(images) > 1 and fmt not in MULTI_PAGE_FORMATS:
        raise ImageIOError(f"{path}: {fmt} cannot hold {len(images)} pages; write .tif")
    if any(im.mode in ("RGBA", "LA") for im in images) and not keeps_alpha:
        raise ImageIOError(
            f"{path}: {fmt} cannot store the photo's transparency; write .png, .tif or .webp"
        )
    if fmt == "JPEG" and exif and not jpeg.exif_fits(exif):
        raise ImageIOError(
            f"{path}: EXIF data is too long for JPEG ({len(exif):,} bytes, at most 64 KB); "
            "nothing was written: leave the metadata out with --strip-metadata, "
            "or write .png, .tif or .webp"
        )


def _check_destination(path: Path, overwrite: bool) -> None:
    """Refuse an existing `path` (without overwrite) or a missing folder up front, in words a user
    can act on (the atomic write still refuses a file that appears in the meantime)."""
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: already exists (use --overwrite to replace it)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ImageIOError(f"{path}: output folder {folder} does not exist")


def _save_options(
    path: Path,
    fmt: str,
    *,
    quality: int,
    png_compression: int,
    icc_profile: bytes | None,
    exif: bytes | None,
) -> dict:
    """The writer's options for `fmt`: quality and compression, and the metadata only where the
    format holds it."""
    _, _, keeps_icc, keeps_exif = FORMATS[path.suffix.lower()]
    options: dict = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    if fmt == "WEBP":
        options["exact"] = True  # keep the RGB under transparent pixels
    # the chroma is the model's, upsampled from 56x56: half-size chroma loses nothing of it
    if fmt == "JPEG":
        options["subsampling"] = 2
    if fmt == "PNG":
        options["compress_level"] = png_compression
    # always said, even as None: Pillow's writers fall back to the image's own info, which can hold
    # the input's gray profile
    options["icc_profile"] = icc_profile if keeps_icc and icc_profile else None
    if keeps_exif and exif:
        options["exif"] = exif
    return options


def _pillow_writer(
    images: list[Image.Image], fmt: str, options: dict
) -> Callable[[BinaryIO], object]:
    """What writes the pages into an open file, through Pillow."""
    if len(images) > 1:
        options = {**options, "save_all": True, "append_images": images[1:]}
    return lambda f: images[0].save(f, format=fmt, **options)


def _planes_writer(planes: jpeg.Planes, options: dict) -> Callable[[BinaryIO], object]:
    """What writes JPEG planes into an open file, through libjpeg-turbo (encoded here, before
    the temporary file is made)."""
    data = jpeg.encode(
        planes,
        quality=options["quality"],
        icc_profile=options.get("icc_profile"),
        exif=options.get("exif"),
    )
    return lambda f: f.write(data)
