"""The colour math, once: BT.601 full-range YUV (JPEG's YCbCr) scaled to [-1, 1].

Training (targets) and inference (outputs) both go through these functions, so a model's
chroma and the runtime's reading of it can never drift apart.

Scaling (the seed treats YUV and YCbCr alike up to scale):
    y = 2 * Y - 1          Y  = 0.299 R + 0.587 G + 0.114 B        (R, G, B in [0, 1])
    u = 2 * Cb = (B - Y) / 0.886
    v = 2 * Cr = (R - Y) / 0.701
All three lie in [-1, 1]. Pillow's "L" and "YCbCr" modes use the same BT.601 full-range
transform on 8-bit data, which gives the runtime a fast path for 8-bit photos; a test pins
the two to within one 8-bit level.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import numpy as np
from PIL import Image

from .threads import by_halves, in_background

T = TypeVar("T")

KR, KG, KB = 0.299, 0.587, 0.114
U_DIV = 1.0 - KB  # (B - Y) / 0.886 spans [-1, 1]
V_DIV = 1.0 - KR  # (R - Y) / 0.701 spans [-1, 1]
# 8-bit code values of a [-1, 1] chroma: JPEG's Cb/Cr = 128 + 127.5 * u, clipped to 0..255.
CHROMA_CODE_SCALE = 127.5
CHROMA_CODE_ZERO = 128.0


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """RGB floats in [0, 1], shape (..., 3) -> YUV floats in [-1, 1], same shape (float32)."""
    rgb = np.asarray(rgb, dtype=np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = KR * r + KG * g + KB * b
    return np.stack([2.0 * y - 1.0, (b - y) / U_DIV, (r - y) / V_DIV], axis=-1).astype(np.float32)


def yuv_to_rgb(yuv: np.ndarray) -> np.ndarray:
    """YUV floats in [-1, 1], shape (..., 3) -> RGB floats clipped to [0, 1] (float32)."""
    yuv = np.asarray(yuv, dtype=np.float32)
    y = (yuv[..., 0] + 1.0) / 2.0
    b = y + yuv[..., 1] * U_DIV
    r = y + yuv[..., 2] * V_DIV
    g = (y - KR * r - KB * b) / KG
    return np.clip(np.stack([r, g, b], axis=-1), 0.0, 1.0).astype(np.float32)


def luma_to_unit(y8: np.ndarray) -> np.ndarray:
    """8-bit luminance codes (0..255) -> y in [-1, 1] (float32)."""
    return np.asarray(y8, dtype=np.float32) * (2.0 / 255.0) - 1.0


def chroma_from_codes(codes: np.ndarray) -> np.ndarray:
    """8-bit Cb/Cr codes -> u/v in [-1, 1] (float32)."""
    return np.clip(
        (np.asarray(codes, dtype=np.float32) - CHROMA_CODE_ZERO) / CHROMA_CODE_SCALE, -1.0, 1.0
    )


def chroma_to_codes(uv: np.ndarray) -> np.ndarray:
    """u/v in [-1, 1] -> 8-bit Cb/Cr codes (uint8), rounded."""
    codes = np.asarray(uv, dtype=np.float32) * CHROMA_CODE_SCALE + CHROMA_CODE_ZERO
    return np.clip(np.rint(codes), 0, 255).astype(np.uint8)


def split_8bit(image: Image.Image) -> tuple[Image.Image, np.ndarray]:
    """An 8-bit RGB image -> (Y as an "L" image, UV as float32 (H, W, 2) in [-1, 1])."""
    y, cb, cr = image.convert("RGB").convert("YCbCr").split()
    uv = np.stack([np.asarray(cb), np.asarray(cr)], axis=-1)
    return y, chroma_from_codes(uv)


def _resize_plane(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of one float plane (H, W) to size=(width, height), float32."""
    return np.asarray(
        Image.fromarray(np.asarray(plane, dtype=np.float32), "F").resize(size, Image.BICUBIC)
    )


def resize_chroma(uv: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of UV (H, W, 2) to size=(width, height), clipped to [-1, 1] (float32)."""
    planes = [_resize_plane(uv[..., c], size) for c in range(2)]
    return np.clip(np.stack(planes, axis=-1), -1.0, 1.0)


def merge(y: np.ndarray, uv_small: np.ndarray) -> np.ndarray:
    """Luminance y (H, W) in [-1, 1] + low-resolution chroma (h, w, 2) -> RGB floats
    (H, W, 3) in [0, 1].

    The chroma is grown to the luminance's size and merged with it: the product's colorization,
    in float for 16-bit photos, training figures, oracles and conversion checks alike.
    """
    full = resize_chroma(uv_small, (y.shape[1], y.shape[0]))
    return yuv_to_rgb(np.concatenate([np.asarray(y, np.float32)[..., None], full], axis=-1))


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """RGB floats in [0, 1] -> 8-bit codes, rounded."""
    return np.rint(np.asarray(rgb) * 255.0).astype(np.uint8)


def expand_chroma_codes(
    uv_small: np.ndarray,
    size: tuple[int, int],
    finish: Callable[[Image.Image], T] = lambda plane: plane,
) -> tuple[T, T]:
    """Fast chroma expansion for 8-bit output: UV (h, w, 2) -> Cb, Cr "L" images of `size`,
    each passed through finish() (the JPEG writer's halving and copy into numpy).

    The two planes are resized at once, Cb in a helper thread (Pillow releases the GIL while it
    resizes), so a large photo's chroma costs one plane's time on two cores.
    """
    codes = chroma_to_codes(uv_small)
    cb_small, cr_small = (
        Image.fromarray(np.ascontiguousarray(codes[..., c]), "L") for c in range(2)
    )
    cb = in_background(lambda: finish(cb_small.resize(size, Image.BICUBIC)))
    cr = finish(cr_small.resize(size, Image.BICUBIC))
    return cb.result(), cr


# Pillow's "L" from RGB: the same BT.601 weights in 16-bit fixed point, rounded (a test pins it)
LUMA_WEIGHTS_16 = (19595, 38470, 7471)
ROWS_AT_ONCE = 64  # rows converted at a time: the temporaries stay small and in cache
STREAM_ROWS = 256  # rows made final at a time for a reader that takes them as they come


def luma_codes(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> its 8-bit luminance (H, W), bit for bit Pillow's convert("L"),
    without Pillow's full-size 4-byte RGB copy: a few rows at a time, the halves on two cores.
    Fresh memory is slow to touch (a 12 MP photo's 48 MB copy cost more than the arithmetic)."""
    out = np.empty(rgb.shape[:2], np.uint8)

    def rows(top: int, bottom: int) -> None:
        for a in range(top, bottom, ROWS_AT_ONCE):
            b = min(a + ROWS_AT_ONCE, bottom)
            acc = rgb[a:b, :, 0].astype(np.uint32)
            acc *= LUMA_WEIGHTS_16[0]
            for c in (1, 2):
                acc += rgb[a:b, :, c] * np.uint32(LUMA_WEIGHTS_16[c])
            acc += 0x8000
            acc >>= 16
            out[a:b] = acc

    by_halves(out.shape[0], rows)
    return out


def rgb_codes(
    y: Image.Image,
    cb: Image.Image,
    cr: Image.Image,
    out: np.ndarray | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Full-resolution Y, Cb, Cr "L" images -> uint8 RGB (H, W, 3), bit for bit merge_8bit's (the
    conversion is per pixel), a few rows at a time into the one output array (`out`, or a new one),
    the halves on two cores: no full-size YCbCr, RGB or copy of it is ever made.

    on_rows(n): called as the first n rows become final, top to bottom, STREAM_ROWS at a time (the
    GIMP plug-in hands them to GIMP while the next ones are made)."""
    w, h = y.size
    out = np.empty((h, w, 3), np.uint8) if out is None else out

    def rows(top: int, bottom: int) -> None:
        for a in range(top, bottom, ROWS_AT_ONCE):
            box = (0, a, w, min(a + ROWS_AT_ONCE, bottom))
            out[box[1] : box[3]] = np.asarray(merge_8bit(*(p.crop(box) for p in (y, cb, cr))))

    if on_rows is None:
        by_halves(h, rows)
        return out
    for top in range(0, h, STREAM_ROWS):
        bottom = min(top + STREAM_ROWS, h)
        by_halves(bottom - top, lambda a, b, top=top: rows(top + a, top + b))
        on_rows(bottom)
    return out


def merge_8bit(y: Image.Image, cb: Image.Image, cr: Image.Image) -> Image.Image:
    """Full-resolution Y with full-size Cb, Cr "L" images -> RGB image (Pillow's BT.601)."""
    return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")


def chroma_magnitude(uv: np.ndarray) -> np.ndarray:
    """Euclidean chroma magnitude sqrt(u^2 + v^2) per pixel."""
    return np.sqrt(np.sum(np.square(uv, dtype=np.float32), axis=-1))
