"""Every input kind photo editors meet:
formats, modes, orientation, alpha, ICC and EXIF, atomic writes."""

import errno

import numpy as np
import pytest
from conftest import luma, run_cli, saturation
from PIL import Image, ImageCms

from colorize_core import imageio


@pytest.mark.parametrize("ext", ["jpg", "png", "tif", "webp", "bmp"])
def test_formats_round_trip(tmp_path, gray_photo, ext):
    src = tmp_path / f"photo.{ext}"
    gray_photo.save(src)
    run_cli(src, check=True)
    out = Image.open(tmp_path / f"photo_colorized.{ext}")
    assert out.size == gray_photo.size and out.mode == "RGB"
    assert saturation(out) > 2
    assert np.abs(luma(out) - luma(Image.open(src))).mean() < (
        3.0 if ext in ("jpg", "webp") else 1.5
    )


def _mode_image(gray: Image.Image, mode: str) -> Image.Image:
    if mode == "I;16":
        return Image.fromarray(np.asarray(gray, np.uint16) * 257)
    if mode == "LA":
        im = gray.copy()
        im.putalpha(Image.linear_gradient("L").resize(gray.size))
        return im
    if mode == "RGBA":
        im = gray.convert("RGB")
        im.putalpha(Image.linear_gradient("L").resize(gray.size))
        return im
    if mode == "P":
        return gray.convert("RGB").quantize(64)
    return gray.convert(mode)


@pytest.mark.parametrize(
    "mode, ext",
    [
        ("L", "png"),
        ("LA", "png"),
        ("RGB", "png"),
        ("RGBA", "png"),
        ("P", "png"),
        ("I;16", "png"),
        ("I;16", "tif"),
        ("CMYK", "jpg"),
        ("CMYK", "tif"),
        ("RGBA", "webp"),
        ("LA", "tif"),
    ],
)
def test_modes(tmp_path, gray_photo, mode, ext):
    im = _mode_image(gray_photo, mode)
    src = tmp_path / f"in.{ext}"
    im.save(src, **({"lossless": True} if ext == "webp" else {}))
    loaded_mode = Image.open(src).mode
    run_cli(src, check=True)
    out = Image.open(tmp_path / f"in_colorized.{ext}")
    has_alpha = "A" in mode
    assert out.mode == ("RGBA" if has_alpha else "RGB"), loaded_mode
    assert saturation(out) > 2
    lossy = ext in ("jpg", "webp") or mode in ("P", "CMYK")
    assert np.abs(luma(out) - luma(gray_photo)).mean() < (4.0 if lossy else 1.5)
    if has_alpha:
        assert np.array_equal(np.asarray(out)[..., 3], np.asarray(im.getchannel("A")))


def test_exif_orientation_is_honoured_and_exif_carried(tmp_path, gray_photo):
    im = gray_photo.resize((400, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    exif[0x013B] = "A. Photographer"  # Artist
    src = tmp_path / "rotated.jpg"
    im.save(src, exif=exif)
    run_cli(src, check=True)
    out = Image.open(tmp_path / "rotated_colorized.jpg")
    assert out.size == (200, 400)
    assert out.getexif().get(0x013B) == "A. Photographer"
    assert out.getexif().get(0x0112, 1) == 1


@pytest.mark.parametrize("ext", ["jpg", "png", "tif", "webp"])
def test_icc_profile_is_carried(tmp_path, gray_photo, ext):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / f"icc.{ext}"
    gray_photo.convert("RGB").save(src, icc_profile=icc)
    run_cli(src, check=True)
    assert Image.open(tmp_path / f"icc_colorized.{ext}").info.get("icc_profile") == icc


def test_alpha_cannot_silently_vanish_into_jpeg(tmp_path, gray_photo):
    src = tmp_path / "a.png"
    _mode_image(gray_photo, "RGBA").save(src)
    proc = run_cli(src, "-o", tmp_path / "a.jpg")
    assert proc.returncode == 1 and "cannot store the photo's transparency" in proc.stderr
    assert not (tmp_path / "a.jpg").exists()


def test_a_failed_write_leaves_no_partial_file(tmp_path, gray_photo, monkeypatch):
    """A full disk mid-write: the error names the file, nothing half-written is left,
    the old file stays."""
    target = tmp_path / "out.png"
    target.write_bytes(b"previous result")

    def full_disk(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk)
    with pytest.raises(
        imageio.ImageIOError, match=r"out\.png: could not write \(No space left on device\)"
    ):
        imageio.save(gray_photo, target, overwrite=True)
    assert target.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_zero_size_and_huge_dimensions_are_refused(tmp_path):
    huge = tmp_path / "huge.png"
    Image.new("1", (30000, 30000)).save(huge)  # 900 megapixels, tiny file
    with pytest.raises(imageio.ImageIOError, match="900 megapixels, over the limit of 200"):
        imageio.load(huge)
