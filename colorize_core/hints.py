"""Colour hints: dots of known colour that steer a model that reads them, as the grid it reads.

The model reads hints at its chroma size (56x56 for the shipped default) as three planes:
u * mask, v * mask, mask. A cell is hinted (mask 1) when any hint pixel falls in it, and its
chroma is the alpha-weighted mean chroma of those pixels; a hint's brightness is ignored (only
its U, V reach the model): the result keeps the photo's own luminance, as every colorization
does. Training simulates hints in this same encoding (convert.hints), so the runtime and the
training cannot drift apart.

Hints come as an RGBA image (any size, stretched over the photo as the model's view is: every
pixel with alpha above 0 is a hint of its own colour) or as points (x, y, (r, g, b)) in the
photo's pixel coordinates.
"""

from __future__ import annotations

import os
import re
from typing import Callable, Sequence, Union

import numpy as np
from PIL import Image

from .color import rgb_to_yuv
from .imageio import ImageIOError, load
from .limits import DEFAULT_MAX_MEGAPIXELS

HINT_CHANNELS = 3  # u * mask, v * mask, mask
Point = tuple[float, float, tuple[int, int, int]]
HintsLike = Union[Image.Image, np.ndarray, Sequence[Point], str, os.PathLike]
FLATTENED_SHARE = (
    0.5  # more of a hint image than this in one opaque colour is a background, not dots
)
_FLATTENED = (
    "it looks like a flattened export: "
    "hints must be dots on a transparent layer (export with alpha)"
)
_POINT = re.compile(r"^\s*([^,]+),([^,]+),\s*#?([0-9a-fA-F]{6})\s*$")


class HintError(ValueError):
    """Hints that cannot be used: the message says what is wrong with them."""


def encode(uv: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """UV (c, c, 2) in [-1, 1] and a mask (c, c) in [0, 1] -> the model's hint input (c, c, 3)."""
    m = np.asarray(mask, np.float32)[..., None]
    return np.concatenate([np.asarray(uv, np.float32) * m, m], axis=-1)


def empty(grid: tuple[int, int]) -> np.ndarray:
    """No hints at all: what a hint model reads when it colorizes on its own."""
    w, h = grid
    return np.zeros((h, w, HINT_CHANNELS), np.float32)


def propagate(
    luma: np.ndarray,
    uv: np.ndarray,
    hints: np.ndarray,
    *,
    reach: float,
    edge: float,
    iterations: int = 150,
) -> np.ndarray:
    """The model's chroma with each hint's correction spread over cells of similar luminance.

    Levin, Lischinski and Weiss 2004's colorization by optimization, applied to the residual
    D = hint - prediction: minimise sum over neighbours w_ij (D_i - D_j)^2 + reach * sum D_i^2 with
    D fixed at hinted cells, w_ij = exp(-(y_i - y_j)^2 / (2 edge^2)). A correction crosses smooth
    areas and stops at edges; `reach` makes it fade with distance, so a dot stays local.
    luma: (h, w) in [-1, 1] at the grid's size; uv: (h, w, 2) predicted; hints: the grid (h, w, 3).
    Solved by conjugate gradients (the system is symmetric positive definite).
    """
    known = hints[..., 2] > 0
    if not known.any():
        return uv
    fixed = np.where(known[..., None], hints[..., :2] - uv, 0.0).astype(np.float64)
    free = (~known)[..., None]
    weights, degree = _edge_weights(np.asarray(luma, np.float64), edge)

    def apply(x: np.ndarray) -> np.ndarray:  # the system on the free cells (x is 0 on hinted cells)
        return ((degree + reach) * x - _neighbours(x, weights)) * free

    x = _conjugate_gradients(apply, _neighbours(fixed, weights) * free, iterations)
    return np.clip(uv + np.where(known[..., None], fixed, x), -1.0, 1.0).astype(np.float32)


def _edge_weights(y: np.ndarray, edge: float) -> tuple[list[np.ndarray], np.ndarray]:
    """The weights between each cell and its right and lower neighbour (one weight serves both
    cells of a pair, so the system stays symmetric), and each cell's degree (their sum)."""
    weights = []  # to the right, then below
    for axis in (1, 0):
        diff = np.diff(y, axis=axis)
        weights.append(np.exp(-(diff**2) / (2 * edge**2))[..., None])
    degree = np.zeros(y.shape + (1,))
    degree[:, :-1] += weights[0]
    degree[:, 1:] += weights[0]
    degree[:-1] += weights[1]
    degree[1:] += weights[1]
    return weights, degree


def _neighbours(x: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """Each cell's weighted sum of its four neighbours' x: the off-diagonal part of the system."""
    out = np.zeros_like(x)
    out[:, :-1] += weights[0] * x[:, 1:]
    out[:, 1:] += weights[0] * x[:, :-1]
    out[:-1] += weights[1] * x[1:]
    out[1:] += weights[1] * x[:-1]
    return out


def _conjugate_gradients(
    apply: Callable[[np.ndarray], np.ndarray], b: np.ndarray, iterations: int
) -> np.ndarray:
    """x with apply(x) = b, U and V solved at once (each channel with its own step sizes), from
    x = 0; conjugate gradients because the system is symmetric positive definite."""
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = (r * r).sum(axis=(0, 1))
    for _ in range(iterations):
        ap = apply(p)
        alpha = rr / np.maximum((p * ap).sum(axis=(0, 1)), 1e-30)
        x += alpha * p
        r -= alpha * ap
        rr_new = (r * r).sum(axis=(0, 1))
        if rr_new.max() < 1e-12:
            break
        p = r + (rr_new / np.maximum(rr, 1e-30)) * p
        rr = rr_new
    return x


def from_rgba(image: Image.Image | np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """An RGBA hint image (PIL, or an (H, W, 4) uint8 array) -> the hint grid (h, w, 3).

    Raises HintError for an image without alpha, with no pixel above alpha 0, or that looks like a
    flattened export (no pixel at alpha 0, or over half of it one opaque colour).
    """
    rgba = _rgba_array(image)
    _check_has_hint(rgba)
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    ys, xs = np.nonzero(alpha > 0)
    w, h = grid
    H, W = alpha.shape
    cells = (ys * h // H) * w + (xs * w // W)
    weight = alpha[ys, xs]
    uv = rgb_to_yuv(rgba[ys, xs, :3].astype(np.float32) / 255.0)[:, 1:]
    total = np.bincount(cells, weight, minlength=w * h)
    sums = np.stack(
        [np.bincount(cells, weight * uv[:, k], minlength=w * h) for k in (0, 1)], axis=-1
    )
    hinted = total > 0
    mean = np.zeros_like(sums)
    mean[hinted] = sums[hinted] / total[hinted, None]
    return encode(mean.reshape(h, w, 2), hinted.reshape(h, w))


def from_points(
    points: Sequence[Point], photo_size: tuple[int, int], grid: tuple[int, int]
) -> np.ndarray:
    """Points (x, y, (r, g, b)) in the photo's pixel coordinates -> the hint grid (h, w, 3).

    Each point colours the one grid cell it falls in; points in the same cell are averaged.
    """
    W, H = photo_size
    if not points:
        raise HintError("no hint points given")
    w, h = grid
    uv_sum, n = np.zeros((h, w, 2), np.float32), np.zeros((h, w), np.float32)
    for x, y, rgb in (check_point(p, photo_size) for p in points):
        i, j = min(int(y * h / H), h - 1), min(int(x * w / W), w - 1)
        uv_sum[i, j] += rgb_to_yuv(np.asarray(rgb, np.float32) / 255.0)[1:]
        n[i, j] += 1
    hinted = n > 0
    uv_sum[hinted] /= n[hinted, None]
    return encode(uv_sum, hinted)


def check_point(point: Point, photo_size: tuple[int, int]) -> Point:
    """One (x, y, (r, g, b)) point, checked: finite coordinates inside the photo, 8-bit colour."""
    try:
        x, y, rgb = point
        x, y = float(x), float(y)
        rgb = tuple(int(c) for c in rgb)
    except (TypeError, ValueError) as exc:
        raise HintError(f"hint {point!r}: expected (x, y, (r, g, b))") from exc
    W, H = photo_size
    if not (np.isfinite(x) and np.isfinite(y)) or not (0 <= x < W and 0 <= y < H):
        raise HintError(f"hint at ({x:g}, {y:g}) is outside the {W}x{H} photo")
    if len(rgb) != 3 or any(not 0 <= c <= 255 for c in rgb):
        raise HintError(f"hint colour {rgb!r}: expected three values 0-255")
    return x, y, rgb


def parse_point(text: str) -> Point:
    """'X,Y,#RRGGBB' (the CLI's --hint) -> (x, y, (r, g, b))."""
    m = _POINT.match(text)
    if not m:
        raise HintError(
            f"--hint {text!r}: expected X,Y,#RRGGBB (pixel coordinates of the photo, a hex colour)"
        )
    try:
        x, y = float(m.group(1)), float(m.group(2))
    except ValueError as exc:
        raise HintError(f"--hint {text!r}: X and Y must be numbers") from exc
    if not (np.isfinite(x) and np.isfinite(y)):
        raise HintError(f"--hint {text!r}: X and Y must be finite numbers")
    h = m.group(3)
    return x, y, (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def to_grid(hints: HintsLike, photo_size: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """Any accepted hints (RGBA image or array, a hint file's path, or points) -> the hint grid
    (h, w, 3)."""
    if isinstance(hints, (str, os.PathLike)):
        hints = read_file(hints)
    if isinstance(hints, (Image.Image, np.ndarray)):
        return from_rgba(hints, grid)
    if isinstance(hints, (list, tuple)):
        return from_points(hints, photo_size, grid)
    raise HintError(
        "hints must be an RGBA image, an (H, W, 4) array, a hint file "
        "or a list of (x, y, (r, g, b)), "
        f"not {type(hints).__name__}"
    )


def read_file(
    path: str | os.PathLike, *, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
) -> Image.Image:
    """A hint file, decoded and checked (alpha, at least one hint, not a flattened export): RGBA;
    HintError naming the file."""
    try:
        image = load(path, max_megapixels=max_megapixels).image
        _check_has_hint(_rgba_array(image))
    except (ImageIOError, HintError) as exc:
        message = str(exc)
        raise HintError(
            message if message.startswith(str(path)) else f"{path}: {message}"
        ) from None
    return image.convert("RGBA")


def _check_has_hint(rgba: np.ndarray) -> None:
    """HintError for a hint image that hints nothing, or everything: an opaque background (a
    flattened export) would make every pixel a hint of its colour and wash the photo out."""
    alpha = rgba[..., 3]
    if not alpha.any():
        raise HintError(
            "the hint image has no hint: every pixel is transparent (paint dots of colour on it)"
        )
    if alpha.all():
        raise HintError(f"the hint image has no transparent pixel: {_FLATTENED}")
    solid = alpha == 255
    if np.count_nonzero(solid) <= FLATTENED_SHARE * alpha.size:
        return
    opaque = rgba[solid][:, :3].astype(np.uint32)
    codes = (opaque[:, 0] << 16) | (opaque[:, 1] << 8) | opaque[:, 2]
    # a colour on more than half of the pixels is more than half of the opaque ones: their median
    mode = np.partition(codes, len(codes) // 2)[len(codes) // 2]
    share = np.count_nonzero(codes == mode) / alpha.size
    if share > FLATTENED_SHARE:
        raise HintError(f"{share:.0%} of the hint image is opaque #{int(mode):06x}: {_FLATTENED}")


def _rgba_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """A hint image as (H, W, 4) uint8; HintError when it has no alpha channel to mark hints
    with."""
    if isinstance(image, Image.Image):
        if image.mode == "P" and "transparency" in image.info:
            image = image.convert("RGBA")
        if image.mode not in ("RGBA", "LA", "RGBa", "La"):
            raise HintError(
                f"the hint image is {image.mode} without alpha: "
                "hints are the non-transparent pixels of "
                "an RGBA image (paint dots on a transparent layer)"
            )
        return np.asarray(image.convert("RGBA"))
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[-1] != 4 or min(a.shape[:2]) < 1:
        raise HintError(f"a hint array must be (H, W, 4) RGBA, got shape {a.shape}")
    if a.dtype != np.uint8:
        raise HintError(f"a hint array must be uint8, got {a.dtype}")
    return a
