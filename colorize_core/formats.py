"""The photo formats the product reads from folders and writes, listed once (no heavy imports,
so the CLI can build its --help without loading Pillow)."""

from __future__ import annotations

from pathlib import Path

# extension -> (Pillow format, keeps alpha, keeps ICC, keeps EXIF)
FORMATS = {
    ".jpg": ("JPEG", False, True, True),
    ".jpeg": ("JPEG", False, True, True),
    ".png": ("PNG", True, True, True),
    ".tif": ("TIFF", True, True, True),
    ".tiff": ("TIFF", True, True, True),
    ".webp": ("WEBP", True, True, True),
    ".bmp": ("BMP", False, False, False),
}


# what is read from folders and written: one list for the whole product
PHOTO_SUFFIXES = tuple(FORMATS)
FORMAT_NAMES = ", ".join(s.lstrip(".") for s in FORMATS)  # as --format takes them
MULTI_PAGE_FORMATS = ("TIFF",)  # output formats that hold every page of a multi-page input
DEFAULT_QUALITY = 95  # JPEG and WebP
# zlib level 3: within 0.3% of level 6's size on colorized photos at a third of its time
# (measured: 3,071 vs 3,063 KB, 0.23 vs 0.64 s for 3.3 MP; level 1 is 11% larger, level 9 four
# times slower again)
DEFAULT_PNG_COMPRESSION = 3


def format_suffix(name: str) -> str | None:
    """The output suffix (".jpg") a format name stands for, or None for one this tool cannot write.

    `--format JPG`, `--format .tiff` and `-o X.JPEG` name formats alike: any case, with or without
    the dot, every alias FORMATS lists (jpg/jpeg, tif/tiff), so that one name never works in one
    place and fails in the other."""
    suffix = "." + name.strip().lower().removeprefix(".")
    return suffix if suffix in FORMATS else None


HINTS_SUFFIX = ".hints.png"  # STEM.hints.png beside a photo holds its colour hints in batches


def hint_sidecar(photo: Path) -> Path:
    """Where a photo's own hint file lives: STEM.hints.png beside it."""
    return photo.with_name(photo.stem + HINTS_SUFFIX)
