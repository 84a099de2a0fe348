"""Input values the runtime must refuse or accept as they are (issue 27, items 9 and 12): hint
images that are flattened exports, float arrays outside [0, 1] or with NaN/infinity, and arrays
in a non-native byte order."""

import numpy as np
import pytest
from conftest import hinted_cells, run_cli
from PIL import Image

from colorize_core import HintError, colorize
from colorize_core import hints as H

RED = (200, 30, 30)


def _hints(size=(40, 30), background=(0, 0, 0, 0), fill=None) -> Image.Image:
    """A hint image: `background` everywhere, one opaque red dot, and `fill` = (share of rows,
    RGBA) painted over the top rows when given."""
    im = Image.new("RGBA", size, background)
    if fill is not None:
        share, rgba = fill
        im.paste(rgba, (0, 0, size[0], round(size[1] * share)))
    im.putpixel((size[0] - 3, size[1] - 3), RED + (255,))
    return im


# ---------------------------------------------------------------- item 9: flattened hint images


@pytest.mark.parametrize("kind", ["pil", "array"])
def test_an_opaque_hint_image_is_refused_as_a_flattened_export(kind):
    # a dot on white, exported without the layer's alpha
    flat = _hints(background=(255, 255, 255, 255))
    hints = flat if kind == "pil" else np.asarray(flat)
    with pytest.raises(HintError) as err:
        H.to_grid(hints, (400, 300), (56, 56))
    message = str(err.value)
    assert "no transparent pixel" in message and "flattened export" in message
    assert "dots on a transparent layer" in message and "\n" not in message


def test_an_opaque_hint_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "scan.hints.png"
    _hints(background=(255, 255, 255, 255)).save(path)
    with pytest.raises(HintError) as err:
        H.to_grid(path, (400, 300), (56, 56))
    assert str(err.value).startswith(str(path)) and "flattened export" in str(err.value)


def test_a_hint_image_mostly_one_opaque_colour_is_refused_and_dots_still_count():
    # 60% of it opaque white, the rest transparent: a background, not hints
    mostly = _hints(fill=(0.6, (255, 255, 255, 255)))
    with pytest.raises(HintError) as err:
        H.to_grid(mostly, (400, 300), (56, 56))
    assert "60% of the hint image is opaque #ffffff" in str(err.value)
    assert "flattened export" in str(err.value)
    # a big painted area under half of the image is hints, as are many dots of several colours
    wash = H.to_grid(_hints(fill=(0.4, (40, 70, 220, 255))), (400, 300), (56, 56))
    # each painted pixel of the 40x30 image hints a cell, and the dot
    assert hinted_cells(wash) == 40 * 12 + 1
    mixed = np.zeros((30, 40, 4), np.uint8)
    mixed[:, :15] = (255, 0, 0, 255)
    mixed[:, 15:30] = (0, 0, 255, 255)  # 75% opaque, no colour on over half: accepted
    assert hinted_cells(H.to_grid(mixed, (400, 300), (56, 56))) > 0


def test_the_cli_refuses_a_flattened_hint_file_in_one_line(tmp_path, gray_file):
    hints = tmp_path / "flat.png"
    _hints(background=(255, 255, 255, 255)).save(hints)
    out = tmp_path / "out.png"
    proc = run_cli(gray_file, "--hints", hints, "-o", out, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(hints) in lines[0] and "flattened export" in lines[0]
    assert not out.exists()


# ---------------------------------------------------------------- item 12: array values


@pytest.fixture(scope="module")
def small_gray(gray_photo) -> np.ndarray:
    return np.asarray(gray_photo.resize((96, 96)))


@pytest.mark.parametrize("scale, words", [(1.0, "divide by 255"), (-1.0 / 255, "values from -")])
def test_float_arrays_outside_unit_range_are_refused(small_gray, scale, words):
    a = small_gray.astype(np.float32) * scale  # 0-255 floats, or negatives
    with pytest.raises(ValueError) as err:
        colorize(a, model="fast", threads=1)
    assert "[0, 1]" in str(err.value) and words in str(err.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("channels", [1, 4])
def test_nan_or_infinite_pixels_are_refused(small_gray, bad, channels):
    a = np.repeat(small_gray[..., None].astype(np.float32) / 255.0, channels, axis=-1)
    a[10, 20, -1] = bad  # one pixel (in the alpha channel when there is one)
    with pytest.raises(ValueError, match="NaN or infinite"):
        colorize(a, model="fast", threads=1)


@pytest.mark.parametrize("native", [np.uint16, np.float32])
def test_big_endian_arrays_colorize_as_the_native_ones(small_gray, native):
    gray = small_gray.astype(np.float32) / 255.0
    a = np.stack([gray, gray, gray, np.linspace(0, 1, gray.size).reshape(gray.shape)], axis=-1)
    a = np.rint(a * 65535).astype(np.uint16) if native == np.uint16 else a.astype(np.float32)
    swapped = a.astype(a.dtype.newbyteorder(">"))
    assert not swapped.dtype.isnative and np.array_equal(swapped, a)
    out = colorize(swapped, model="fast", threads=1)
    assert out.dtype == np.dtype(native) and out.dtype.isnative
    np.testing.assert_array_equal(out, colorize(a, model="fast", threads=1))
