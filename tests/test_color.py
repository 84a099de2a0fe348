"""The colour math: known values, round trips, agreement with Pillow's BT.601,
chroma compression."""

import numpy as np
import pytest

from colorize_core import color


@pytest.mark.parametrize(
    "rgb, yuv",
    [
        ((1, 1, 1), (1, 0, 0)),
        ((0, 0, 0), (-1, 0, 0)),
        ((1, 0, 0), (2 * 0.299 - 1, -0.299 / 0.886, 1.0)),
        ((0, 0, 1), (2 * 0.114 - 1, 1.0, -0.114 / 0.701)),
        ((0, 1, 0), (2 * 0.587 - 1, -0.587 / 0.886, -0.587 / 0.701)),
    ],
)
def test_known_values(rgb, yuv):
    np.testing.assert_allclose(color.rgb_to_yuv(np.array(rgb, np.float32)), yuv, atol=1e-6)


def test_round_trip_random_colours():
    rgb = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    np.testing.assert_allclose(color.yuv_to_rgb(color.rgb_to_yuv(rgb)), rgb, atol=1e-5)


def test_yuv_ranges_cover_minus_one_to_one():
    cube = np.stack(np.meshgrid(*[np.linspace(0, 1, 9)] * 3), axis=-1).reshape(-1, 3)
    yuv = color.rgb_to_yuv(cube)
    assert yuv.min() >= -1 - 1e-6 and yuv.max() <= 1 + 1e-6
    np.testing.assert_allclose(np.abs(yuv).max(axis=0), [1, 1, 1], atol=1e-6)


def test_pillow_fast_path_agrees_with_the_float_math(astronaut_rgb):
    y_img, uv = color.split_8bit(astronaut_rgb)
    ref = color.rgb_to_yuv(np.asarray(astronaut_rgb, np.float32) / 255.0)
    level = 2.0 / 255  # one 8-bit code; Pillow truncates where the float math rounds
    assert np.abs(color.luma_to_unit(np.asarray(y_img)) - ref[..., 0]).max() <= 1.1 * level
    assert np.abs(uv - ref[..., 1:]).max() <= 1.5 / 127.5
    cb, cr = color.expand_chroma_codes(uv, astronaut_rgb.size)  # same size: codes only
    merged = np.asarray(color.merge_8bit(y_img, cb, cr), np.int16)
    assert np.abs(merged - np.asarray(astronaut_rgb, np.int16)).max() <= 3


def test_chroma_codes_round_trip():
    uv = np.linspace(-1, 1, 101, dtype=np.float32)
    np.testing.assert_allclose(
        color.chroma_from_codes(color.chroma_to_codes(uv)), uv, atol=0.5 / 127.5 + 1e-6
    )


def test_compress_then_expand_sizes_and_constant_chroma():
    uv = np.full((224, 224, 2), (0.3, -0.2), np.float32)
    small = color.resize_chroma(uv, (33, 33))
    assert small.shape == (33, 33, 2)
    np.testing.assert_allclose(small, uv[:33, :33], atol=1e-5)
    big = color.resize_chroma(small, (640, 480))
    assert big.shape == (480, 640, 2)
    np.testing.assert_allclose(big, 0.0 * big + (0.3, -0.2), atol=1e-5)


def test_compression_keeps_most_of_a_real_photo(astronaut_rgb):
    """The seed's claim: 85% of the chroma can go with little visible loss
    (PSNR of the round trip)."""
    crop = astronaut_rgb.resize((224, 224))
    y, uv = color.split_8bit(crop)
    back = color.resize_chroma(color.resize_chroma(uv, (33, 33)), (224, 224))
    yuv = np.concatenate([color.luma_to_unit(np.asarray(y))[..., None], back], axis=-1)
    out = color.yuv_to_rgb(yuv) * 255
    mse = np.mean((out - np.asarray(crop, np.float32)) ** 2)
    assert 10 * np.log10(255**2 / mse) > 28


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (129, 77), (130, 200)])
def test_luma_and_rgb_by_rows_are_pillows_bit_for_bit(astronaut_rgb, shape):
    """The 8-bit array path's row-by-row luminance and RGB equal Pillow's one-piece conversions
    (odd heights, a band of rows that does not fill ROWS_AT_ONCE, one pixel)."""
    from PIL import Image

    h, w = shape
    rgb = np.array(np.asarray(astronaut_rgb)[:h, :w])
    rgb[0, : min(w, 3)] = [(0, 0, 0), (255, 255, 255), (255, 0, 128)][: min(w, 3)]
    y = color.luma_codes(rgb)
    assert np.array_equal(y, np.asarray(Image.fromarray(rgb).convert("L")))
    planes = [Image.fromarray(y)] + [
        Image.fromarray(np.asarray(Image.fromarray(rgb).convert("YCbCr"))[..., c]) for c in (1, 2)
    ]
    assert np.array_equal(color.rgb_codes(*planes), np.asarray(color.merge_8bit(*planes)))
    # rows handed over as they are made (the GIMP bridge's --rows): the same pixels, top to bottom
    out, said = np.zeros((h, w, 3), np.uint8), []
    color.rgb_codes(*planes, out=out, on_rows=said.append)
    assert np.array_equal(out, np.asarray(color.merge_8bit(*planes)))
    assert said == sorted(said) and said[-1] == h and len(said) == -(-h // color.STREAM_ROWS)
