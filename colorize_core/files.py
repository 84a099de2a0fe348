"""Colorize one photo file into another, carrying over what the output format can keep."""
from __future__ import annotations

import argparse
from pathlib import Path

from .imageio import ImageIOError, load, save
from .pipeline import Colorizer
from .preprocess import is_grayscale


def process_one(colorizer: Colorizer, src: Path, dst: Path, args: argparse.Namespace) -> dict:
    """Colorize `src` into `dst`; returns {"status": "ok"|"skipped", "warnings": [...], ...}.

    Raises ImageIOError (with a message naming the file) on any failure; nothing is written then.
    """
    if dst.exists() and not args.overwrite:
        what = "is the input itself" if src.exists() and dst.resolve() == src.resolve() else "already exists"
        raise ImageIOError(f"{dst}: {what} (use --overwrite to replace it)")
    photo = load(src, max_megapixels=args.max_megapixels)
    warnings = list(photo.warnings)
    if not is_grayscale(photo.image):
        if args.skip_color:
            return {"status": "skipped", "reason": "already in colour (--skip-color)", "output": None,
                    "warnings": warnings}
        warnings.append("already in colour: colorized from its luminance (use --skip-color to leave it)")
    result = colorizer.colorize(photo.image, strength=args.strength)
    if args.output is not None and dst != args.output and not dst.parent.is_dir():  # -o FOLDER
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageIOError(f"{dst}: cannot create output folder {dst.parent} ({exc.strerror})") from None
    save(result, dst, quality=args.quality, png_compression=args.png_compression,
         icc_profile=photo.icc_profile, exif=photo.exif, overwrite=args.overwrite)
    return {"status": "ok", "warnings": warnings, "size": list(result.size), "mode": result.mode}
