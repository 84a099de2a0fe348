"""The seed's crop and the grayscale detector."""
import numpy as np
from PIL import Image

from colorize_core.preprocess import center_crop_square, is_grayscale


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
    assert is_grayscale(gray_photo.convert("RGB"))           # gray stored as RGB
    assert not is_grayscale(astronaut_rgb)
    sepia = Image.merge("RGB", [gray_photo.point(lambda v: min(255, v + 12)), gray_photo,
                                gray_photo.point(lambda v: max(0, v - 12))])
    assert not is_grayscale(sepia)                            # a toned print carries colour
