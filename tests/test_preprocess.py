"""The seed's crop and the grayscale detectors."""

import numpy as np
from PIL import Image
from skimage import data

from colorize_core.preprocess import center_crop_square, is_grayscale, is_monochrome


def test_center_crop_scales_shorter_side_and_crops_the_middle():
    im = Image.new("RGB", (600, 300), "blue")
    im.paste((255, 0, 0), (0, 0, 150, 300))  # left quarter red: cropped away
    crop = center_crop_square(im, 224)
    assert crop.size == (224, 224)
    assert np.asarray(crop)[:, :5, 0].mean() < 10  # no red at the left edge


def test_small_photos_are_scaled_up():
    assert center_crop_square(Image.new("RGB", (150, 150)), 224).size == (224, 224)


def test_grayscale_detector(astronaut_rgb, gray_photo):
    assert is_grayscale(gray_photo)
    assert is_grayscale(gray_photo.convert("RGB"))  # gray stored as RGB
    assert not is_grayscale(astronaut_rgb)
    sepia = Image.merge(
        "RGB",
        [
            gray_photo.point(lambda v: min(255, v + 12)),
            gray_photo,
            gray_photo.point(lambda v: max(0, v - 12)),
        ],
    )
    assert not is_grayscale(sepia)  # a toned print carries colour


def test_toned_monochrome_is_monochrome(gray_photo, astronaut_rgb, coffee_rgb):
    """Sepia, cyanotype and split-toned prints: their colour follows brightness alone."""
    y = np.asarray(gray_photo, np.float32)[..., None]
    sepia = np.clip(
        np.repeat(y, 3, -1)
        @ np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]).T,
        0,
        255,
    )
    cyanotype = y * np.array([0.35, 0.55, 0.85])
    t = y / 255
    split = np.concatenate([y + 80 * t * (1 - t), y, y - 80 * t * (1 - t)], -1)  # warm mid-tones
    for toned in (sepia, cyanotype, split):
        image = Image.fromarray(np.clip(toned, 0, 255).astype(np.uint8))
        assert is_monochrome(image) and not is_grayscale(image)  # training keeps dropping only gray
    assert is_monochrome(gray_photo) and is_monochrome(gray_photo.convert("RGB"))
    # a brown cat; a stain of two hues
    for colour in (
        astronaut_rgb,
        coffee_rgb,
        Image.fromarray(data.chelsea()),
        Image.fromarray(data.rocket()),
        Image.fromarray(data.immunohistochemistry()),
    ):
        assert not is_monochrome(colour)
