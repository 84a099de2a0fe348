"""The fast paths give the reference path's output: JPEG written as YCbCr, threaded chroma, --jobs."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli

# JPEG written from YCbCr skips the RGB round trip; where colour clips in RGB the two differ most
JPEG_MEAN_BOUND, JPEG_MAX_BOUND = 1.0, 24  # measured: mean 0.49-0.55, max 5-11 here, 17 on bench_throughput's 13 MP photo


def _reference_rgb(gray: Image.Image, strength: float = 1.0) -> Image.Image:
    """The path before the fast ones: chroma planes resized one after the other, merged, to RGB."""
    from colorize_core import color
    from colorize_core.pipeline import Colorizer
    c = Colorizer()
    luma = gray.convert("L")
    codes = color.chroma_to_codes(c.predict_chroma(luma) * strength)
    cb, cr = (Image.fromarray(np.ascontiguousarray(codes[..., i]), "L").resize(luma.size, Image.BICUBIC)
              for i in range(2))
    return Image.merge("YCbCr", (luma, cb, cr)).convert("RGB")


def test_threaded_chroma_equals_the_reference_exactly(gray_photo):
    from colorize_core import colorize
    big = gray_photo.resize((1500, 1000))
    assert np.array_equal(np.asarray(colorize(big)), np.asarray(_reference_rgb(big)))


def test_jpeg_output_is_within_the_bound_of_the_rgb_path(tmp_path, astronaut_rgb, coffee_rgb):
    from colorize_core.imageio import save
    for name, photo in (("astronaut", astronaut_rgb), ("coffee", coffee_rgb)):
        gray = photo.convert("L").resize((photo.width * 2, photo.height * 2), Image.BICUBIC)
        src = tmp_path / f"{name}.png"
        gray.save(src)
        run_cli(src, "-o", tmp_path / f"{name}_fast.jpg", check=True)
        save(_reference_rgb(gray), tmp_path / f"{name}_ref.jpg")
        fast = np.asarray(Image.open(tmp_path / f"{name}_fast.jpg").convert("RGB"), np.int16)
        ref = np.asarray(Image.open(tmp_path / f"{name}_ref.jpg").convert("RGB"), np.int16)
        diff = np.abs(fast - ref)
        assert diff.mean() <= JPEG_MEAN_BOUND and diff.max() <= JPEG_MAX_BOUND, (name, diff.mean(), diff.max())


def test_png_with_alpha_is_the_reference_exactly(tmp_path, gray_photo):
    rgba = gray_photo.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    src = tmp_path / "cutout.png"
    rgba.save(src)
    run_cli(src, "-o", tmp_path / "out.png", check=True)
    out = Image.open(tmp_path / "out.png")
    ref = _reference_rgb(gray_photo)
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out)[..., :3], np.asarray(ref))
    assert np.array_equal(np.asarray(out.getchannel("A")), np.asarray(rgba.getchannel("A")))


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_jobs_give_the_same_bytes_as_one_job(tmp_path, gray_photo, ext):
    album = tmp_path / "album"
    album.mkdir()
    for i in range(5):
        gray_photo.rotate(90 * i).resize((400 + 40 * i, 300)).save(album / f"p{i}.png")
    one, two = tmp_path / "one", tmp_path / "two"
    run_cli(album, "-o", one, "--jobs", "1", "--format", ext.lstrip("."), check=True)
    report = json.loads(run_cli(album, "-o", two, "--jobs", "2", "--format", ext.lstrip("."), "--json",
                                check=True).stdout)
    assert [r["input"] for r in report["results"]] == sorted(str(p) for p in album.iterdir())
    for p in sorted(one.iterdir()):
        assert (two / p.name).read_bytes() == p.read_bytes(), p.name


def test_jobs_must_be_positive(gray_file):
    proc = run_cli(gray_file, "--jobs", "0")
    assert proc.returncode == 2 and "--jobs must be 1 or more" in proc.stderr


@pytest.mark.parametrize("size", [(1, 37), (37, 1), (101, 63), (333, 1)])
def test_odd_sizes_equal_the_reference_exactly(gray_photo, size):
    from colorize_core import colorize
    small = gray_photo.resize(size)
    assert np.array_equal(np.asarray(colorize(small)), np.asarray(_reference_rgb(small)))


@pytest.mark.parametrize("size", [(1, 37), (101, 63)])
def test_odd_sized_jpeg_within_the_bound(tmp_path, gray_photo, size):
    from colorize_core.imageio import save
    small = gray_photo.resize(size)
    small.save(tmp_path / "odd.png")
    run_cli(tmp_path / "odd.png", "-o", tmp_path / "fast.jpg", check=True)
    save(_reference_rgb(small), tmp_path / "ref.jpg")
    fast = np.asarray(Image.open(tmp_path / "fast.jpg").convert("RGB"), np.int16)
    ref = np.asarray(Image.open(tmp_path / "ref.jpg").convert("RGB"), np.int16)
    truth = np.asarray(_reference_rgb(small), np.int16)  # the reference before JPEG
    assert fast.shape == ref.shape == (size[1], size[0], 3)
    # on a thumbnail JPEG's own error dominates (the two files differ by 1.1 on average at 101x63):
    # the fast path must be about as close to the uncompressed result as the RGB path's JPEG is
    assert np.abs(fast - truth).mean() <= np.abs(ref - truth).mean() + 0.25  # 1x37: 1.12 vs 0.97
    assert np.abs(fast - ref).max() <= JPEG_MAX_BOUND


def test_16_bit_input_to_jpeg_within_the_bound(tmp_path, gray_photo):
    """16-bit photos: luminance from their full precision (the reference path), written as 8-bit JPEG."""
    from colorize_core.imageio import save
    deep = (np.asarray(gray_photo, np.uint16) * 257 + 128).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    run_cli(tmp_path / "deep.png", "-o", tmp_path / "fast.jpg", check=True)
    from colorize_core.pipeline import _high_bit_luma
    save(_reference_rgb(_high_bit_luma(Image.open(tmp_path / "deep.png"))), tmp_path / "ref.jpg")
    fast = np.asarray(Image.open(tmp_path / "fast.jpg").convert("RGB"), np.int16)
    ref = np.asarray(Image.open(tmp_path / "ref.jpg").convert("RGB"), np.int16)
    assert np.abs(fast - ref).mean() <= JPEG_MEAN_BOUND and np.abs(fast - ref).max() <= JPEG_MAX_BOUND
