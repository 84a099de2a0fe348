"""Colour hints: the grid encoding, the default network's hint input (its contract and behaviour),
the API, the CLI (--hints, --hint, STEM.hints.png in folders, every bad hint input)
and the bridge."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import hinted_cells, run_cli
from PIL import Image

from colorize_core import Colorizer, HintError, colorize
from colorize_core import hints as H
from colorize_core.color import rgb_to_yuv
from colorize_core.model import Model, ModelCard
from colorize_core.shipped import DEFAULT_MODEL, SHIPPED_DIR

RED, BLUE = (200, 30, 30), (40, 70, 220)


def _uv(rgb):
    return rgb_to_yuv(np.asarray(rgb, np.float32) / 255.0)[1:]


def _hue_uv(image: Image.Image, box) -> np.ndarray:
    """Mean (u, v) of an RGB image over box = (x0, y0, x1, y1)."""
    a = np.asarray(image.convert("RGB").crop(box), np.float32) / 255.0
    return rgb_to_yuv(a)[..., 1:].reshape(-1, 2).mean(0)


def _dot(size, centre, rgb, radius=6) -> Image.Image:
    """A transparent hint image with one opaque dot."""
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    x, y = centre
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if (
                dx * dx + dy * dy <= radius * radius
                and 0 <= x + dx < size[0]
                and 0 <= y + dy < size[1]
            ):
                im.putpixel((x + dx, y + dy), rgb + (255,))
    return im


# ---------------------------------------------------------------- the grid encoding


def test_one_opaque_pixel_hints_its_cell_with_its_chroma_only():
    im = Image.new("RGBA", (560, 280), (0, 0, 0, 0))
    im.putpixel((25, 15), RED + (255,))  # cell (row 3, col 2) of a 56x56 grid over 560x280
    grid = H.from_rgba(im, (56, 56))
    assert grid.shape == (56, 56, 3) and hinted_cells(grid) == 1
    assert grid[3, 2, 2] == 1.0
    np.testing.assert_allclose(grid[3, 2, :2], _uv(RED), atol=1e-6)
    # brightness is ignored: a dark and a light version of a hue give chroma in the same direction
    dark = H.from_rgba(_dot((56, 56), (5, 5), (100, 15, 15), radius=0), (56, 56))[5, 5, :2]
    assert np.dot(dark, grid[3, 2, :2]) > 0


def test_alpha_weights_the_mean_of_a_cell():
    a = np.zeros((2, 2, 4), np.uint8)
    a[0, 0] = RED + (255,)
    a[0, 1] = BLUE + (85,)
    grid = H.from_rgba(a, (1, 1))
    np.testing.assert_allclose(grid[0, 0, :2], (3 * _uv(RED) + _uv(BLUE)) / 4, atol=1e-5)


def test_points_land_in_their_cells_and_average():
    grid = H.from_points([(0, 0, RED), (5, 5, BLUE), (999, 499, RED)], (1000, 500), (10, 10))
    assert hinted_cells(grid) == 2
    np.testing.assert_allclose(grid[0, 0, :2], (_uv(RED) + _uv(BLUE)) / 2, atol=1e-6)
    np.testing.assert_allclose(grid[9, 9, :2], _uv(RED), atol=1e-6)


@pytest.mark.parametrize(
    "bad, words",
    [
        (Image.new("RGB", (8, 8)), "without alpha"),
        (Image.new("L", (8, 8)), "without alpha"),
        (Image.new("RGBA", (8, 8)), "every pixel is transparent"),
        (np.zeros((8, 8, 3), np.uint8), "(H, W, 4)"),
        (np.zeros((8, 8, 4), np.float32), "uint8"),
        ([], "no hint points"),
        ([(1, 2)], "expected (x, y, (r, g, b))"),
        ([(float("nan"), 2, RED)], "outside"),
        ([(float("inf"), 2, RED)], "outside"),
        ([(-1, 2, RED)], "outside"),
        ([(8, 2, RED)], "outside"),
        ([(1, 2, (256, 0, 0))], "0-255"),
        (42, "must be an RGBA image"),
    ],
)
def test_bad_hints_are_refused_with_what_is_wrong(bad, words):
    with pytest.raises(HintError, match=None) as err:
        H.to_grid(bad, (8, 8), (4, 4))
    assert words in str(err.value)


def test_propagate_spreads_a_correction_over_its_region_and_stops_at_edges():
    y = np.zeros((40, 40), np.float32)
    y[:, 20:] = 0.8  # two regions of different brightness, the edge at column 20
    uv = np.zeros((40, 40, 2), np.float32)
    grid = H.encode(
        np.full((40, 40, 2), 0.3, np.float32), np.pad(np.ones((1, 1)), ((10, 29), (10, 29)))
    )
    out = H.propagate(y, uv, grid, reach=0.003, edge=0.1)
    np.testing.assert_allclose(out[10, 10], [0.3, 0.3], atol=1e-6)  # the hinted cell gets the hint
    assert out[10, 18, 0] > 0.1  # 8 cells away, same region: most of the correction
    assert out[10, 22, 0] < 0.01  # just across the edge: almost none
    assert out[30, 10, 0] < out[14, 10, 0]  # it fades with distance
    assert H.propagate(y, uv, H.empty((40, 40)), reach=0.003, edge=0.1) is uv  # no hint, no change


@pytest.mark.parametrize(
    "text, expected",
    [
        ("120,80,#3050c0", (120.0, 80.0, (48, 80, 192))),
        (" 1.5, 2 ,3050C0", (1.5, 2.0, (48, 80, 192))),
    ],
)
def test_parse_point(text, expected):
    assert H.parse_point(text) == expected


@pytest.mark.parametrize(
    "text", ["1,2", "1,2,#12345", "a,2,#123456", "nan,2,#123456", "1,inf,#123456", "1,2,red"]
)
def test_parse_point_refuses(text):
    with pytest.raises(HintError, match="--hint"):
        H.parse_point(text)


# ---------------------------------------------------------------- the default's hint input


def test_the_default_takes_hints_as_the_second_input_of_its_one_network():
    card = ModelCard.read(DEFAULT_MODEL)
    assert card.takes_hints and card.hint_grid == card.chroma_size == (56, 56)
    assert card.raw["hints"]["channels"] == H.HINT_CHANNELS and card.raw["hints"]["encoding"]
    assert card.output_scale == 1.0  # a hinted colour comes back as given, not rescaled
    assert card.raw["training"]["hints"] is True and card.raw["training"]["loss"] == "classify"
    assert "blend" not in card.raw and not (SHIPPED_DIR / "hints.tflite").exists()
    c = Colorizer(threads=1)
    assert c.hint_model() is c.model  # no second model takes over when a dot appears


def test_no_hints_are_the_automatic_colours_exactly(gray_photo):
    """No hints is an empty hint grid to the same network: the automatic colours, bit for bit."""
    c = Colorizer(threads=1)
    base = np.asarray(c.colorize(gray_photo))
    assert np.array_equal(base, np.asarray(c.colorize(gray_photo, hints=None)))
    m = c.model
    x = np.asarray(gray_photo.resize(m.card.input_size), np.float32)
    assert np.array_equal(m.predict(x), m.predict(x, H.empty(m.card.hint_grid)))
    assert np.array_equal(base, np.asarray(colorize(gray_photo, threads=1)))


def _far_change(plain: Image.Image, hinted: Image.Image, centre) -> float:
    """Mean |RGB change| in 8-bit levels beyond a third of the long side from the dot."""
    delta = np.abs(np.asarray(hinted, np.float32) - np.asarray(plain, np.float32)).mean(-1)
    yy, xx = np.mgrid[0 : delta.shape[0], 0 : delta.shape[1]]
    far = np.hypot(xx - centre[0], yy - centre[1]) > max(delta.shape) / 3
    return float(delta[far].mean())


def test_a_dot_colours_its_region_and_leaves_far_regions_and_luminance(gray_photo):
    """A blue dot on the astronaut's orange suit: the suit around it turns blue, the photo far from
    the dot moves at most 2 levels on average, and the luminance is the photo's own."""
    c = Colorizer(threads=1)
    plain = c.colorize(gray_photo)
    hinted = c.colorize(gray_photo, hints=_dot(gray_photo.size, (96, 333), BLUE, radius=8))
    near = (76, 313, 116, 353)
    blue = _uv(BLUE) / np.linalg.norm(_uv(BLUE))
    # clearly blue (the suit is orange without the dot)
    assert np.dot(_hue_uv(hinted, near), blue) > 0.08
    assert np.dot(_hue_uv(plain, near), blue) < 0.0
    assert _far_change(plain, hinted, (96, 333)) <= 2.0
    y = np.asarray(gray_photo, np.int16)
    assert np.abs(np.asarray(hinted.convert("L"), np.int16) - y).mean() < 1.0


def test_a_named_model_without_hint_input_refuses_hints(gray_photo):
    from colorize_core import ModelError

    with pytest.raises(ModelError, match="takes no colour hints"):
        colorize(gray_photo, model="fast", threads=1, hints=[(10, 10, RED)])


def test_api_takes_every_kind_of_hint_and_returns_the_input_kind(gray_photo, tmp_path):
    dot = _dot(gray_photo.size, (100, 100), BLUE)
    dot.save(tmp_path / "h.png")
    outs = [
        colorize(gray_photo, hints=h, threads=1)
        for h in (dot, np.asarray(dot), tmp_path / "h.png", str(tmp_path / "h.png"))
    ]
    assert all(isinstance(o, Image.Image) and o.size == gray_photo.size for o in outs)
    assert all(np.array_equal(np.asarray(outs[0]), np.asarray(o)) for o in outs[1:])
    arr = colorize(np.asarray(gray_photo), hints=[(100, 100, BLUE)], threads=1)
    assert isinstance(arr, np.ndarray) and arr.shape == (512, 512, 3)
    a16 = colorize(np.asarray(gray_photo).astype(np.uint16) * 257, hints=dot, threads=1)
    assert a16.dtype == np.uint16


# ---------------------------------------------------------------- the CLI


def _chroma_diff(a, b) -> float:
    return float(
        np.abs(
            np.asarray(Image.open(a).convert("RGB"), np.int16)
            - np.asarray(Image.open(b).convert("RGB"), np.int16)
        ).max()
    )


def test_cli_hint_file_and_points(gray_file, tmp_path):
    dot = _dot((512, 512), (400, 100), RED, radius=10)
    dot.resize((128, 128), Image.NEAREST).save(tmp_path / "small.hints.png")  # any size: stretched
    plain = tmp_path / "plain.png"
    run_cli(gray_file, "-o", plain, check=True)
    with_file = tmp_path / "file.png"
    proc = run_cli(
        gray_file, "--hints", tmp_path / "small.hints.png", "-o", with_file, "--json", check=True
    )
    report = json.loads(proc.stdout)
    assert report["results"][0]["hints"] == str(tmp_path / "small.hints.png")
    assert report["model"] == Model().card.name
    with_points = tmp_path / "points.png"
    run_cli(
        gray_file,
        "--hint",
        "400,100,#c81e1e",
        "--hint",
        "410,95,#c81e1e",
        "-o",
        with_points,
        check=True,
    )
    assert _chroma_diff(plain, with_file) > 10 and _chroma_diff(plain, with_points) > 10
    # the luminance is the photo's own: within rounding wherever the colour fits in RGB at that
    # brightness (where it does not, RGB clips, as without hints; the README says so)
    y = np.asarray(Image.open(gray_file), np.int16)
    for out in (with_file, with_points):
        rgb = np.asarray(Image.open(out).convert("RGB"), np.int16)
        fits = (rgb.min(-1) > 0) & (rgb.max(-1) < 255)
        assert fits.mean() > 0.6
        assert np.abs(np.asarray(Image.open(out).convert("L"), np.int16) - y)[fits].max() <= 1


def test_folder_batch_uses_each_photos_own_hint_file(tmp_path, gray_photo):
    album = tmp_path / "album"
    album.mkdir()
    small = gray_photo.resize((200, 200))
    small.save(album / "a.png")
    small.save(album / "b.png")
    _dot((200, 200), (150, 40), RED, radius=5).save(album / "a.hints.png")
    proc = run_cli(album, "-o", tmp_path / "out", "--json", check=True)
    results = {r["input"]: r for r in json.loads(proc.stdout)["results"]}
    assert set(results) == {
        str(album / "a.png"),
        str(album / "b.png"),
    }  # the hint file is not a photo
    assert results[str(album / "a.png")]["hints"] == str(album / "a.hints.png")
    assert "hints" not in results[str(album / "b.png")]
    assert (
        _chroma_diff(tmp_path / "out" / "a_colorized.png", tmp_path / "out" / "b_colorized.png")
        > 10
    )


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: p.write_text("not an image"), "not an image"),
        (lambda p: None, "no such file"),
        (lambda p: Image.new("RGB", (20, 20), RED).save(p), "without alpha"),
        (lambda p: Image.new("RGBA", (20, 20)).save(p), "every pixel is transparent"),
    ],
)
def test_bad_hint_files_give_one_line_naming_the_file_and_write_nothing(
    gray_file, tmp_path, make, words
):
    bad = tmp_path / "bad.hints.png"
    make(bad)
    out = tmp_path / "out.png"
    proc = run_cli(gray_file, "--hints", bad, "-o", out)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and words in lines[0], proc.stderr
    assert not out.exists()


def test_a_bad_hint_file_beside_a_folder_photo_fails_that_photo_only(tmp_path, gray_photo):
    album = tmp_path / "album"
    album.mkdir()
    gray_photo.resize((64, 64)).save(album / "a.png")
    gray_photo.resize((64, 64)).save(album / "b.png")
    Image.new("RGB", (8, 8)).save(album / "a.hints.png")
    proc = run_cli(album, "-o", tmp_path / "out")
    assert proc.returncode == 1
    assert f"{album / 'a.hints.png'}" in proc.stderr and "without alpha" in proc.stderr
    assert (
        not (tmp_path / "out" / "a_colorized.png").exists()
        and (tmp_path / "out" / "b_colorized.png").exists()
    )


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["--hint", "1,2"], 2, "expected X,Y,#RRGGBB"),
        (["--hint", "nan,2,#ff0000"], 2, "finite"),
        (["--hint", "9999,2,#ff0000"], 1, "outside the 512x512 photo"),
        (["--hint", "1,2,#ff0000", "--model", "fast"], 2, "takes no colour hints"),
    ],
)
def test_bad_hint_points(gray_file, tmp_path, args, code, words):
    out = tmp_path / "out.png"
    proc = run_cli(gray_file, *args, "-o", out)
    assert proc.returncode == code and words in proc.stderr, proc.stderr
    assert not out.exists()


def test_hints_for_one_photo_refuse_a_batch_and_a_mix(gray_file, tmp_path):
    other = tmp_path / "other.png"
    Image.open(gray_file).save(other)
    _dot((64, 64), (5, 5), RED).save(tmp_path / "h.png")
    proc = run_cli(gray_file, other, "--hints", tmp_path / "h.png", "-o", tmp_path / "out")
    assert proc.returncode == 2 and "steer one photo" in proc.stderr
    proc = run_cli(gray_file, "--hints", tmp_path / "h.png", "--hint", "1,1,#ff0000")
    assert proc.returncode == 2 and "not both" in proc.stderr


# ---------------------------------------------------------------- the GIMP bridge


def _bridge(*args):
    return subprocess.run(
        [sys.executable, "-m", "colorize_core", "bridge", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bridge_carries_hints(tmp_path, gray_photo):
    px = np.dstack(
        [np.asarray(gray_photo.resize((160, 120)))] * 3 + [np.full((120, 160), 255, np.uint8)]
    )
    np.save(tmp_path / "in.npy", px)
    np.save(tmp_path / "hints.npy", np.asarray(_dot((160, 120), (120, 30), RED, radius=4)))
    assert _bridge(tmp_path / "in.npy", tmp_path / "plain.npy").returncode == 0
    r = _bridge(tmp_path / "in.npy", tmp_path / "hinted.npy", "--hints", tmp_path / "hints.npy")
    assert r.returncode == 0, r.stderr
    plain, hinted = np.load(tmp_path / "plain.npy"), np.load(tmp_path / "hinted.npy")
    assert hinted.shape == px.shape and np.array_equal(hinted[..., 3], px[..., 3])
    assert np.abs(plain.astype(int) - hinted.astype(int)).max() > 10
    np.save(tmp_path / "bad.npy", np.zeros((4, 4, 3), np.uint8))
    r = _bridge(tmp_path / "in.npy", tmp_path / "x.npy", "--hints", tmp_path / "bad.npy")
    assert r.returncode == 1 and "RGBA hints" in r.stderr and not (tmp_path / "x.npy").exists()
    np.save(tmp_path / "empty.npy", np.zeros((4, 4, 4), np.uint8))
    r = _bridge(tmp_path / "in.npy", tmp_path / "x.npy", "--hints", tmp_path / "empty.npy")
    assert (
        r.returncode == 1
        and "every pixel is transparent" in r.stderr
        and not (tmp_path / "x.npy").exists()
    )


def test_hint_curve_reports_the_gain_of_dots_and_draws_its_figures(
    tmp_path, astronaut_rgb, coffee_rgb
):
    from convert import hint_curve

    photos = tmp_path / "photos"
    photos.mkdir()
    astronaut_rgb.save(photos / "astronaut.png")
    coffee_rgb.save(photos / "coffee.png")
    assert (
        hint_curve.main(
            [
                "--model",
                str(DEFAULT_MODEL),
                "--photos",
                str(photos),
                "--out",
                str(tmp_path / "out"),
                "--grid",
                "2",
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "out" / "hints.json").read_text())
    rows = report["sets"]["photos"]
    assert [r["points"] for r in rows] == list(hint_curve.POINTS)
    assert rows[-1]["psnr"] > rows[0]["psnr"] + 1.0  # 20 dots of the true colours help
    reach = [r["mean_delta_uv"] for r in report["spread"]["photos"]]
    assert reach[0] > reach[-1]  # a dot acts most near itself
    assert Image.open(tmp_path / "out" / "hints_grid.png").size == (4 * 192, 18 + 2 * 192)
    assert (tmp_path / "out" / "hints.png").exists() and "20 points" in (
        tmp_path / "out" / "hints.md"
    ).read_text()
