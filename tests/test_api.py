"""The Python API on real photos: sizes, luminance kept, alpha exact, dtypes, strength."""

import numpy as np
import pytest
from conftest import luma, saturation
from PIL import Image

from colorize_core import Colorizer, colorize


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer(threads=2)


def test_gray_photo_gets_colour_and_keeps_its_luminance(colorizer, gray_photo):
    out = colorizer.colorize(gray_photo)
    assert out.mode == "RGB" and out.size == gray_photo.size
    assert saturation(out) > 2.0
    assert np.abs(luma(out) - luma(gray_photo)).mean() < 1.5


def test_full_resolution_detail_survives(colorizer):
    """A fine 1-pixel checkerboard (detail far above the model's 224 px) comes out intact."""
    a = (np.indices((1200, 1600)).sum(axis=0) % 2 * 200 + 28).astype(np.uint8)
    out = colorizer.colorize(Image.fromarray(a))
    assert out.size == (1600, 1200)
    assert np.abs(luma(out) - a).max() <= 12


def test_alpha_is_kept_exactly(colorizer, gray_photo):
    alpha = Image.linear_gradient("L").resize(gray_photo.size)
    la = gray_photo.copy()
    la.putalpha(alpha)
    out = colorizer.colorize(la)
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out)[..., 3], np.asarray(alpha))


def test_colour_input_is_colorized_from_its_luminance(colorizer, astronaut_rgb, gray_photo):
    a = np.asarray(colorizer.colorize(astronaut_rgb))
    b = np.asarray(colorizer.colorize(gray_photo))
    assert np.abs(a.astype(int) - b).max() <= 2


@pytest.mark.parametrize("dtype, peak", [(np.uint8, 255), (np.uint16, 65535), (np.float32, 1.0)])
def test_numpy_arrays_keep_dtype_and_shape(colorizer, gray_photo, dtype, peak):
    g = np.asarray(gray_photo, np.float64) / 255.0
    rgba = np.stack([g, g, g, np.linspace(0, 1, g.shape[1])[None].repeat(g.shape[0], 0)], axis=-1)
    arr = (rgba * peak).round().astype(dtype) if dtype != np.float32 else rgba.astype(dtype)
    out = colorizer.colorize(arr)
    assert out.dtype == dtype and out.shape == arr.shape
    assert np.array_equal(out[..., 3], arr[..., 3])
    y_out = (0.299 * out[..., 0] + 0.587 * out[..., 1] + 0.114 * out[..., 2]) / peak
    assert np.abs(y_out - g).mean() < 0.01


def test_2d_array_gives_rgb(colorizer, gray_photo):
    out = colorizer.colorize(np.asarray(gray_photo))
    assert out.shape == (512, 512, 3) and out.dtype == np.uint8


def test_strength(colorizer, gray_photo):
    zero = colorizer.colorize(gray_photo, strength=0)
    one = colorizer.colorize(gray_photo, strength=1)
    two = colorizer.colorize(gray_photo, strength=2)
    assert saturation(zero) < 1.0
    assert saturation(two) > saturation(one) * 1.5
    with pytest.raises(ValueError, match="strength"):
        colorizer.colorize(gray_photo, strength=-1)


def test_high_bit_gray_modes(colorizer, gray_photo):
    i16 = Image.fromarray((np.asarray(gray_photo, np.uint16) * 257))
    assert i16.mode.startswith("I;16")
    out = colorizer.colorize(i16)
    assert out.mode == "RGB" and np.abs(luma(out) - luma(gray_photo)).mean() < 1.5


def test_one_shot_function_and_bad_types(gray_photo):
    assert colorize(gray_photo.resize((64, 48))).size == (64, 48)
    with pytest.raises(TypeError):
        colorize("not an image")
    with pytest.raises(ValueError, match="shape"):
        colorize(np.zeros((4, 4, 5), np.uint8))
