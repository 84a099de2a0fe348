"""The fast paths give the reference path's output: JPEG written from Y, Cb, Cr planes (grayscale
JPEGs decoded straight into numpy), threaded chroma, --jobs."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

# JPEG written from Y, Cb, Cr planes by libjpeg-turbo (its fast integer DCT) against the RGB path
# through Pillow's encoder (the accurate DCT), photos of 1 MP and more; measured: mean 0.38-0.57,
# max 6-9 at 1-4 MP, 0.78 and 10 on bench_throughput's 13 MP photo (0.87-0.92 at 0.25 MP, where
# JPEG's own error is larger: small photos are held to the uncompressed result instead, below)
JPEG_MEAN_BOUND, JPEG_MAX_BOUND = 1.0, 24


def _reference_rgb(gray: Image.Image, strength: float = 1.0) -> Image.Image:
    """The path before the fast ones: chroma planes resized one after the other, merged, to RGB."""
    from colorize_core import color
    from colorize_core.pipeline import Colorizer

    c = Colorizer()
    luma = gray.convert("L")
    codes = color.chroma_to_codes(c.predict_chroma(luma) * strength)
    cb, cr = (
        Image.fromarray(np.ascontiguousarray(codes[..., i]), "L").resize(luma.size, Image.BICUBIC)
        for i in range(2)
    )
    return Image.merge("YCbCr", (luma, cb, cr)).convert("RGB")


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a - b) ** 2)))


def test_threaded_chroma_equals_the_reference_exactly(gray_photo):
    from colorize_core import colorize

    big = gray_photo.resize((1500, 1000))
    assert np.array_equal(np.asarray(colorize(big)), np.asarray(_reference_rgb(big)))


# jpg: the grayscale JPEG decoded by libjpeg-turbo into numpy
@pytest.mark.parametrize("source", ["png", "jpg"])
def test_jpeg_output_is_within_the_bound_of_the_rgb_path(
    tmp_path, astronaut_rgb, coffee_rgb, source
):
    from colorize_core.imageio import save

    for name, photo in (("astronaut", astronaut_rgb), ("coffee", coffee_rgb)):
        gray = photo.convert("L").resize((photo.width * 2, photo.height * 2), Image.BICUBIC)
        src = tmp_path / f"{name}.{source}"
        gray.save(src)
        gray = Image.open(src).convert("L")  # what the JPEG source decodes to
        run_cli(src, "-o", tmp_path / f"{name}_fast.jpg", check=True)
        save(_reference_rgb(gray), tmp_path / f"{name}_ref.jpg")
        fast = np.asarray(Image.open(tmp_path / f"{name}_fast.jpg").convert("RGB"), np.int16)
        ref = np.asarray(Image.open(tmp_path / f"{name}_ref.jpg").convert("RGB"), np.int16)
        diff = np.abs(fast - ref)
        assert diff.mean() <= JPEG_MEAN_BOUND and diff.max() <= JPEG_MAX_BOUND, (
            name,
            diff.mean(),
            diff.max(),
        )
        # the photo's own luminance: TurboJPEG's fast integer DCT costs 1.1-1.5 dB of PSNR
        # at quality 95 against Pillow's accurate one
        # (measured on three photos, about 50 dB either way)
        truth = np.asarray(gray, np.float64)
        y_fast = np.asarray(Image.open(tmp_path / f"{name}_fast.jpg").convert("L"), np.float64)
        y_ref = np.asarray(Image.open(tmp_path / f"{name}_ref.jpg").convert("L"), np.float64)
        assert _psnr(y_fast, truth) >= _psnr(y_ref, truth) - 2.0 and _psnr(y_fast, truth) >= 45.0


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
    report = json.loads(
        run_cli(
            album, "-o", two, "--jobs", "2", "--format", ext.lstrip("."), "--json", check=True
        ).stdout
    )
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
    # the fast path must be about as close to the uncompressed result as the RGB path's JPEG is,
    # give or take libjpeg-turbo's fast DCT (TurboJPEG's for compression): 1.98 vs 1.68 at 101x63
    assert np.abs(fast - truth).mean() <= np.abs(ref - truth).mean() + 0.4
    assert np.abs(fast - ref).max() <= JPEG_MAX_BOUND


def test_16_bit_input_to_jpeg_within_the_bound(tmp_path, gray_photo):
    """16-bit photos: luminance from their full precision
    (the reference path), written as 8-bit JPEG."""
    from colorize_core.imageio import save

    big = gray_photo.resize((1024, 1024), Image.BICUBIC)  # 1 MP: the size the mean bound is for
    deep = (np.asarray(big, np.uint16) * 257 + 128).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    run_cli(tmp_path / "deep.png", "-o", tmp_path / "fast.jpg", check=True)
    from colorize_core.pipeline import _high_bit_luma

    save(_reference_rgb(_high_bit_luma(Image.open(tmp_path / "deep.png"))), tmp_path / "ref.jpg")
    fast = np.asarray(Image.open(tmp_path / "fast.jpg").convert("RGB"), np.int16)
    ref = np.asarray(Image.open(tmp_path / "ref.jpg").convert("RGB"), np.int16)
    assert (
        np.abs(fast - ref).mean() <= JPEG_MEAN_BOUND and np.abs(fast - ref).max() <= JPEG_MAX_BOUND
    )


def test_grayscale_jpeg_is_decoded_into_numpy_exactly_as_pillow_decodes_it(tmp_path, gray_photo):
    from colorize_core.imageio import load

    src = tmp_path / "scan.jpg"
    gray_photo.save(src, quality=90)
    photo = load(src)
    assert photo.gray is not None and photo.gray.dtype == np.uint8
    assert np.array_equal(photo.gray, np.asarray(Image.open(src)))
    # the image shares the array's pixels
    assert np.array_equal(np.asarray(photo.image), photo.gray)
    gray_photo.convert("RGB").save(tmp_path / "colour.jpg")  # colour JPEGs: Pillow, no array
    assert load(tmp_path / "colour.jpg").gray is None


def test_planes_from_the_array_equal_planes_from_the_image(gray_photo):
    from colorize_core.pipeline import Colorizer

    c = Colorizer()
    a = c.colorize_planes(np.asarray(gray_photo))
    b = c.colorize_planes(gray_photo)
    assert a.size == b.size == gray_photo.size
    assert b.cb.shape == ((gray_photo.height + 1) // 2, (gray_photo.width + 1) // 2)
    for x, y in ((a.y, b.y), (a.cb, b.cb), (a.cr, b.cr)):
        assert np.array_equal(x, y)
    with pytest.raises(ValueError, match=r"uint8 array of shape \(H, W\)"):
        c.colorize_planes(np.zeros((4, 4, 3), np.uint8))


def test_a_cut_grayscale_jpeg_goes_to_pillow_and_is_an_error_that_writes_nothing(
    tmp_path, gray_photo
):
    """libjpeg-turbo refuses a cut file (no end marker);
    Pillow, which then decides, refuses it too."""
    from colorize_core.imageio import _gray_jpeg

    src = tmp_path / "cut.jpg"
    gray_photo.save(src)
    src.write_bytes(src.read_bytes()[:-2])  # no end marker
    with open(src, "rb") as f:
        assert _gray_jpeg(f) is None  # refused: the decode falls back to Pillow
    proc = run_cli(src, "--json")
    result = json.loads(proc.stdout)["results"][0]
    assert proc.returncode == 1 and "truncated or corrupt" in result["error"], result
    assert not (tmp_path / "cut_colorized.jpg").exists()


def test_large_icc_profile_and_exif_are_carried_by_the_planes_writer(tmp_path, gray_photo):
    """An ICC profile over one marker segment (65,519 bytes) is split into numbered APP2 chunks,
    as Pillow splits it; EXIF goes into APP1."""
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    big = icc + bytes(range(256)) * 600  # 153,600 bytes more: three chunks
    exif = Image.Exif()
    exif[0x013B] = "A. Photographer"
    src = tmp_path / "scan.png"
    gray_photo.convert("RGB").save(src, icc_profile=big, exif=exif)
    run_cli(src, "-o", tmp_path / "out.jpg", check=True)
    out = Image.open(tmp_path / "out.jpg")
    assert out.info["icc_profile"] == big
    assert out.getexif().get(0x013B) == "A. Photographer"
    out.load()  # and the file decodes


def test_exif_too_long_for_jpeg_is_an_error_that_writes_nothing(tmp_path, gray_photo):
    exif = Image.Exif()
    exif[0x010E] = "x" * 70000  # ImageDescription: one APP1 segment holds 65,533 bytes
    src = tmp_path / "scan.png"
    gray_photo.save(src, exif=exif)
    proc = run_cli(src, "-o", tmp_path / "out.jpg", "--json")
    result = json.loads(proc.stdout)["results"][0]
    assert proc.returncode == 1 and "EXIF data is too long for JPEG" in result["error"], result
    assert list(tmp_path.iterdir()) == [src]


@pytest.mark.parametrize("size", [(101, 63), (100, 63), (101, 64), (1, 1)])
def test_jpeg_planes_of_odd_size_read_nothing_past_the_photo(size):
    """libjpeg-turbo reads a 4:2:0 Y plane of odd width or height as if padded to even ones: what
    lies past the photo's last row and column (here, noise in the same buffer) must not reach the
    file, so the file is the same whatever is there."""
    from colorize_core import jpeg

    w, h = size
    rng = np.random.default_rng(0)
    y = rng.integers(60, 200, (h, w), dtype=np.uint8)
    cw, ch = jpeg.chroma_size((w, h))
    cb, cr = (rng.integers(100, 160, (ch, cw), dtype=np.uint8) for _ in range(2))
    noisy = rng.integers(0, 256, (h + 1, w + 1), dtype=np.uint8)  # the photo, then noise beyond it
    noisy[:h, :w] = y
    alone = jpeg.encode(jpeg.Planes(y.copy(), cb, cr), quality=95)
    assert jpeg.encode(jpeg.Planes(noisy[:h, :w], cb, cr), quality=95) == alone
    decoded = Image.open(io.BytesIO(alone))
    assert decoded.size == (w, h)
    assert np.abs(np.asarray(decoded.convert("L"), np.int16) - y).mean() < 3
