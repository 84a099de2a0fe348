"""The seed's photo preparation and the grayscale detectors, shared by training and the CLI."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .color import CHROMA_CODE_SCALE, chroma_magnitude, split_8bit

GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
# the training data's line for sepia and tinted monochrome scans (../shared/data/README.md): chroma
# spread sqrt(var Cb + var Cr) under 4.5 codes
TONED_SPREAD_MAX = 4.5
TONE_BINS = 32  # brightness classes among which a toned print's colour may change (split toning)


def center_crop_square(image: Image.Image, size: int = 224) -> Image.Image:
    """Scale the shorter side to `size` (bicubic) and centre-crop size x size, as the seed did."""
    w, h = image.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    resized = image.resize((nw, nh), Image.BICUBIC, reducing_gap=3.0)
    left, top = (nw - size) // 2, (nh - size) // 2
    return resized.crop((left, top, left + size, top + size))


def model_view(luma: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The luminance as the model sees it: resized straight to its input size (bicubic).

    One function for the runtime and for training, so a model trained on a smaller view (an
    input size under 224) sees the same resampling in both.
    """
    return luma.resize(size, Image.BICUBIC, reducing_gap=3.0)


def is_grayscale(
    image: Image.Image, *, thumb: int = 128, p99_max: float = 4.0, mean_max: float = 2.0
) -> bool:
    """True when a photo carries no real colour.

    Same rule the training data were filtered with: on a small thumbnail, the 99th percentile
    of the chroma magnitude is under 4 and its mean under 2, in 8-bit Cb/Cr units.
    """
    if image.mode in GRAY_MODES:
        return True
    _, uv = split_8bit(_thumbnail(image, thumb))
    mag = chroma_magnitude(uv) * CHROMA_CODE_SCALE
    return bool(np.percentile(mag, 99) < p99_max and mag.mean() < mean_max)


def is_monochrome(
    image: Image.Image, *, thumb: int = 128, spread_max: float = TONED_SPREAD_MAX
) -> bool:
    """True for a black-and-white photo, toned ones included (sepia, cyanotype, selenium, a tinted
    scan).

    A toned print's colour follows its brightness alone, so among pixels of one brightness the
    chroma hardly varies: the spread sqrt(var Cb + var Cr) within each brightness class, pooled,
    is under `spread_max` codes. That is the training data's line for the plain spread, which is
    never smaller, so whatever it calls tinted is monochrome here too. A colour photo has different
    colours at one brightness. Training still drops only what is_grayscale finds.
    """
    if is_grayscale(image, thumb=thumb):
        return True
    y, uv = split_8bit(_thumbnail(image, thumb))
    codes = uv.reshape(-1, 2).astype(np.float64) * CHROMA_CODE_SCALE
    tone = np.asarray(y).reshape(-1).astype(np.intp) * TONE_BINS // 256
    count = np.bincount(tone, minlength=TONE_BINS)
    within = 0.0
    for channel in codes.T:
        total = np.bincount(tone, channel, TONE_BINS)
        within += float(
            (
                np.bincount(tone, channel * channel, TONE_BINS)
                - total * total / np.maximum(count, 1)
            ).sum()
        )
    return bool(np.sqrt(max(within, 0.0) / len(codes)) < spread_max)


def _thumbnail(image: Image.Image, size: int) -> Image.Image:
    """The photo at most `size` pixels on its longer side (bilinear), where colour is judged."""
    scale = size / max(image.size)
    if scale >= 1:
        return image
    return image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        Image.BILINEAR,
        reducing_gap=2.0,
    )
