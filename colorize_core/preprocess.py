"""The seed's photo preparation and the grayscale detector, shared by training and the CLI."""
from __future__ import annotations

import numpy as np
from PIL import Image

from .color import CHROMA_CODE_SCALE, chroma_magnitude, split_8bit

GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


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


def is_grayscale(image: Image.Image, *, thumb: int = 128, p99_max: float = 4.0, mean_max: float = 2.0) -> bool:
    """True when a photo carries no real colour.

    Same rule the training data were filtered with: on a small thumbnail, the 99th percentile
    of the chroma magnitude is under 4 and its mean under 2, in 8-bit Cb/Cr units.
    """
    if image.mode in GRAY_MODES:
        return True
    scale = thumb / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    small = image.resize(size, Image.BILINEAR, reducing_gap=2.0) if scale < 1 else image
    _, uv = split_8bit(small)
    mag = chroma_magnitude(uv) * CHROMA_CODE_SCALE
    return bool(np.percentile(mag, 99) < p99_max and mag.mean() < mean_max)
