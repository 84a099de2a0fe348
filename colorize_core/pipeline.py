"""Colorize a photo: its own full-resolution luminance + the model's low-resolution chroma.

Y at full size -> Y resized to the model's input -> model -> UV at the chroma size ->
UV upsampled bicubically to full size -> merged with the ORIGINAL Y -> RGB -> alpha reattached.
The model never sees or produces full-resolution pixels, so every detail of a 12-megapixel
scan survives: only its colour comes from the model.
"""

from __future__ import annotations

import os
from typing import Callable, Union

import numpy as np
from PIL import Image, ImageOps

from . import color, jpeg
from . import hints as hints_module
from .hints import HintsLike
from .imageio import has_alpha
from .limits import check_strength
from .model import Model, ModelError
from .preprocess import model_view
from .threads import in_background

ImageLike = Union[Image.Image, np.ndarray]
HIGH_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "F")
ARRAY_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
PREMULTIPLIED_MODES = {"La": "LA", "RGBa": "RGBA"}  # colorized from their straight-alpha form


class Colorizer:
    """Loads a model once and colorizes any number of photos with it, with or without colour hints
    (the shipped default reads them as a second input of its one network)."""

    def __init__(
        self, model: str | os.PathLike | Model | None = None, *, threads: int | None = None
    ):
        self.model = model if isinstance(model, Model) else Model(model, threads=threads)

    def hint_model(self) -> Model:
        """The model that colorizes with hints: this one; ModelError when it takes none."""
        if not self.model.card.takes_hints:
            raise ModelError(
                f"model {self.model.card.name} takes no colour hints: "
                "leave out --model (the default "
                "reads hints)"
            )
        return self.model

    # -- the chroma the model predicts -------------------------------------------------
    def predict_chroma(self, luma: Image.Image, hints: HintsLike | None = None) -> np.ndarray:
        """A full-size luminance image ("L", or "F" in 0..255) -> predicted UV (h, w, 2) in [-1, 1].

        hints: colour hints for this photo (colorize_core.hints: an RGBA image or array stretched
        over the photo, or points (x, y, (r, g, b)) in its pixels); HintError if unusable.
        """
        if hints is None:
            return self.model.predict(
                np.asarray(model_view(luma, self.model.card.input_size), np.float32)
            )
        return self.chroma_with_grid(
            luma, hints_module.to_grid(hints, luma.size, self.hint_model().card.hint_grid)
        )

    def chroma_with_grid(self, luma: Image.Image, grid: np.ndarray) -> np.ndarray:
        """The model's chroma for a ready hint grid (colorize_core.hints; evaluations draw grids
        from the truth), with the corrections spread as the model's card says (hints.propagate)."""
        model = self.hint_model()
        uv = model.predict(np.asarray(model_view(luma, model.card.input_size), np.float32), grid)
        if model.card.hint_spread is None:
            return uv
        y = color.luma_to_unit(np.asarray(model_view(luma, model.card.hint_grid), np.float32))
        reach, edge = model.card.hint_spread
        return hints_module.propagate(y, uv, grid, reach=reach, edge=edge)

    # -- public entry points -------------------------------------------------------------
    def colorize(
        self,
        image: ImageLike,
        *,
        strength: float = 1.0,
        exif_transpose: bool = False,
        hints: HintsLike | None = None,
    ) -> ImageLike:
        """Colorize a PIL image or a numpy array; returns the same kind.

        strength scales the predicted chroma: 0 gives gray, 1 the model's colours, above 1
        more saturated (finite, at most limits.MAX_STRENGTH; ValueError otherwise). Alpha is
        kept exactly. Colour inputs are colorized from their luminance. PIL images come back as
        RGB or RGBA (8 bits a channel); arrays keep their dtype (uint8, uint16, or float in
        [0, 1]: ValueError for floats outside it, NaN or infinity; any byte order, returned in the
        machine's) and channel count (1/2 -> 3/4 channels).
        exif_transpose: turn a PIL image upright by its EXIF orientation first, as the CLI does
        (off by default: the result then has the input's pixel layout).
        hints: colour hints steering the colours (see predict_chroma; they refer to the upright
        photo when exif_transpose is on); None colorizes automatically.
        """
        strength = check_strength(strength)
        if isinstance(image, np.ndarray):
            return self._colorize_array(image, strength, hints)
        if isinstance(image, Image.Image):
            if exif_transpose:
                image = ImageOps.exif_transpose(image) or image
            return self._colorize_pil(_straight_alpha(image), strength, hints)
        raise TypeError(f"expected a PIL image or a numpy array, got {type(image).__name__}")

    def colorize_planes(
        self,
        image: Image.Image | np.ndarray,
        *,
        strength: float = 1.0,
        hints: HintsLike | None = None,
    ) -> jpeg.Planes:
        """The colorized photo as the planes a JPEG stores (full-size Y, half-size Cb and Cr), for
        jpeg.encode: no full-size chroma, no RGB and no encoder conversions. Alpha is dropped.

        image: a PIL image, or a grayscale photo's uint8 (H, W) array, which becomes the Y plane
        as it is (no copy)."""
        strength = check_strength(strength)
        if isinstance(image, np.ndarray):
            y = np.ascontiguousarray(_check_gray_codes(image))
            luma = Image.frombuffer("L", (y.shape[1], y.shape[0]), y, "raw", "L", 0, 1)
        else:
            luma = self._luma(_straight_alpha(image))
            # Pillow copies 13 MP in ~25 ms: beside the model's pass
            y = in_background(np.asarray, luma)
        uv = self.predict_chroma(luma, hints) * strength
        half = jpeg.chroma_size(luma.size)
        if half[0] >= uv.shape[1] and half[1] >= uv.shape[0]:  # grown: straight to half size
            cb, cr = color.expand_chroma_codes(uv, half, np.asarray)
        else:
            # a small photo: shrinking would low-pass the model's chroma; average 2x2 as libjpeg
            # does
            cb, cr = color.expand_chroma_codes(
                uv, luma.size, lambda plane: np.asarray(plane.reduce(2))
            )
        return jpeg.Planes(y if isinstance(y, np.ndarray) else y.result(), cb, cr)

    # -- 8-bit path: Pillow's C code for every full-resolution step ----------------------
    def _colorize_pil(
        self, image: Image.Image, strength: float, hints: HintsLike | None
    ) -> Image.Image:
        alpha = _alpha_of(image)
        luma = self._luma(image)
        uv = self.predict_chroma(luma, hints) * strength
        # one piece: bands (as the array path makes) and their join would hold the photo twice
        # (+60 MB at 13 MP, measured) to save ~20 ms of a PNG's 1.6 s
        out = color.merge_8bit(luma, *color.expand_chroma_codes(uv, luma.size))
        if alpha is not None:
            out.putalpha(alpha)
        return out

    @staticmethod
    def _luma(image: Image.Image) -> Image.Image:
        """An image's 8-bit luminance at full size ("L"; the image itself when it is one)."""
        if image.mode in HIGH_BIT_MODES:
            return _high_bit_luma(image)
        return (
            image
            if image.mode == "L"
            else image.convert("L")
            if image.mode == "RGB"
            else _to_rgb(image).convert("L")
        )

    def colorize_into(
        self,
        array: np.ndarray,
        out: np.ndarray,
        *,
        strength: float = 1.0,
        hints: HintsLike | None = None,
        on_rows: Callable[[int], None],
    ) -> None:
        """colorize(array) written into `out` (its shape and dtype), with on_rows(n) called as the
        first n rows of it are final: 8-bit RGB a few hundred rows at a time (the GIMP bridge hands
        them over while the rest are made), any other array once, whole."""
        strength = check_strength(strength)
        array = _check_array(array)
        if array.dtype == np.uint8 and array.shape[2:] == (3,) and out.shape == array.shape:
            self._rgb_codes(array, strength, hints, out=out, on_rows=on_rows)
            return
        out[...] = self.colorize(array, strength=strength, hints=hints)
        on_rows(out.shape[0])

    def _rgb_codes(
        self,
        array: np.ndarray,
        strength: float,
        hints: HintsLike | None,
        out: np.ndarray | None = None,
        on_rows: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """uint8 gray (H, W, 1) or RGB (H, W, 3) -> colorized uint8 RGB."""
        y = color.luma_codes(array) if array.shape[-1] == 3 else np.ascontiguousarray(array[..., 0])
        luma = Image.frombuffer("L", (y.shape[1], y.shape[0]), y, "raw", "L", 0, 1)
        uv = self.predict_chroma(luma, hints) * strength
        planes = color.expand_chroma_codes(uv, luma.size)
        return color.rgb_codes(luma, *planes, out=out, on_rows=on_rows)

    # -- array path: float math, keeps 16-bit precision ----------------------------------
    def _colorize_array(
        self, array: np.ndarray, strength: float, hints: HintsLike | None
    ) -> np.ndarray:
        array = _check_array(array)
        if array.dtype == np.uint8:  # the fast 8-bit path, through Pillow and back
            c = array.shape[-1]
            if c in (1, 3):  # no alpha: luminance and RGB a few rows at a time (color.py)
                return self._rgb_codes(array, strength, hints)
            pil = Image.fromarray(np.ascontiguousarray(array), ARRAY_MODES[c])
            return np.asarray(self._colorize_pil(pil, strength, hints))
        rgb, alpha, dtype = _split_array(array)
        y = color.rgb_to_yuv(rgb)[..., 0] if rgb.ndim == 3 else rgb * 2.0 - 1.0
        luma = Image.fromarray(((y + 1.0) * 127.5).astype(np.float32), "F")
        uv = self.predict_chroma(luma, hints) * strength
        out = color.merge(y, uv)
        if alpha is not None:
            out = np.concatenate([out, alpha[..., None]], axis=-1)
        return _restore_dtype(out, dtype, alpha_source=array if alpha is not None else None)


def colorize(
    image: ImageLike,
    *,
    model: str | os.PathLike | Model | None = None,
    strength: float = 1.0,
    threads: int | None = None,
    exif_transpose: bool = False,
    hints: HintsLike | None = None,
) -> ImageLike:
    """Colorize one photo with `model` (default: the shipped default). See Colorizer.colorize."""
    check_strength(strength)  # before the model loads
    return Colorizer(model, threads=threads).colorize(
        image, strength=strength, exif_transpose=exif_transpose, hints=hints
    )


# -- helpers ------------------------------------------------------------------------------
def _straight_alpha(image: Image.Image) -> Image.Image:
    """La / RGBa (premultiplied alpha) -> LA / RGBA; any other image as it is."""
    return (
        image.convert(PREMULTIPLIED_MODES[image.mode])
        if image.mode in PREMULTIPLIED_MODES
        else image
    )


def _alpha_of(image: Image.Image) -> Image.Image | None:
    """The alpha band of a straight-alpha or paletted image, or None."""
    if not has_alpha(image):
        return None
    return (image.convert("RGBA") if image.mode == "P" else image).getchannel("A")


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "P":
        image = image.convert("RGBA")
    return image.convert("RGB")


def _high_bit_luma(image: Image.Image) -> Image.Image:
    """A 16-bit or 32-bit grayscale image -> 8-bit luminance ("L"; PIL results are 8 bits a
    channel)."""
    a = np.asarray(image.convert("I") if image.mode != "F" else image, np.float32)
    peak = 65535.0 if image.mode.startswith("I;16") or a.max() > 255 else 255.0
    if image.mode == "F":
        peak = 1.0 if a.max() <= 1.0 else 255.0
    return Image.fromarray(np.clip(np.rint(a * (255.0 / peak)), 0, 255).astype(np.uint8), "L")


def _check_gray_codes(array: np.ndarray) -> np.ndarray:
    """A grayscale photo's 8-bit codes, (H, W) uint8 with H, W >= 1; ValueError naming anything
    else."""
    if array.dtype != np.uint8 or array.ndim != 2 or min(array.shape) < 1:
        raise ValueError(
            "expected a uint8 array of shape (H, W) with H, W >= 1, "
            f"got {array.dtype} {array.shape}"
        )
    return array


def _check_array(array: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 1..4) -> (H, W, C) in native byte order (a big-endian '>u2' from a FITS or
    TIFF reader is the same photo: converted, and the result comes back native); anything else is a
    ValueError naming the caller's shape."""
    shape = array.shape
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in ARRAY_MODES or min(array.shape[:2]) < 1:
        raise ValueError(
            f"expected an array of shape (H, W) or (H, W, 1-4) with H, W >= 1, got {shape}"
        )
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def _split_array(array: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.dtype]:
    """An (H, W, 1..4) array -> (RGB or gray floats in [0, 1], alpha floats or None, dtype)."""
    dtype = array.dtype
    if dtype == np.uint8:
        f = array.astype(np.float32) / 255.0
    elif dtype == np.uint16:
        f = array.astype(np.float32) / 65535.0
    elif np.issubdtype(dtype, np.floating):
        f = _check_unit_floats(array).astype(np.float32)
    else:
        raise ValueError(f"unsupported array dtype {dtype}: use uint8, uint16 or float in [0, 1]")
    c = f.shape[-1]
    colour = f[..., :3] if c >= 3 else f[..., 0]
    alpha = f[..., -1] if c in (2, 4) else None
    return colour, alpha, dtype


def _check_unit_floats(array: np.ndarray) -> np.ndarray:
    """A float photo, checked to be in [0, 1]: clipping 0-255 values would give white, and NaN or
    infinity would come out as NaN pixels; ValueError saying which."""
    lo, hi = float(array.min()), float(array.max())  # NaN propagates through both
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(
            "the float array has NaN or infinite pixels: every value must be a number in [0, 1]"
        )
    if lo < 0.0 or hi > 1.0:
        hint = " (for 0-255 values, divide by 255)" if hi > 1.0 else ""
        raise ValueError(
            f"float arrays must be in [0, 1]{hint}; this one has values from {lo:g} to {hi:g}"
        )
    return array


def _restore_dtype(out: np.ndarray, dtype: np.dtype, alpha_source: np.ndarray | None) -> np.ndarray:
    if dtype == np.uint8 or dtype == np.uint16:
        peak = 255.0 if dtype == np.uint8 else 65535.0
        result = np.rint(out * peak).astype(dtype)
    else:
        result = out.astype(dtype)
    if alpha_source is not None:  # alpha bit-exact, not through float
        result[..., -1] = alpha_source[..., -1]
    return result
