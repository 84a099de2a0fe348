"""Damaged photos, made the ways files get damaged (issue 27): real photos in every format read,
with bits flipped, cut short, header bytes edited and runs of bytes overwritten, from a fixed seed.
Only the documented per-photo error (ImageIOError, naming the file) may come out of reading one,
and a batch of them always ends with its summary."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
from conftest import run_cli
from PIL import Image, features

from colorize_core.imageio import ImageIOError, load, pages
from colorize_core.preprocess import is_monochrome

SEED = 27
CASES = 240
# where a header edit lands:
# EXIF blocks, TIFF directories, GIF frames, AVIF boxes, PNG/JPEG/WebP headers
ANCHORS = (
    b"Exif\0\0",
    b"eXIf",
    b"II*\0",
    b"\x21\xf9\x04",
    b"\x2c",
    b"pitm",
    b"iloc",
    b"ispe",
    b"IHDR",
    b"\xff\xc0",
    b"VP8",
)


def _originals(photo: Image.Image) -> dict[str, bytes]:
    """The photo (64x64) in each format and layout read: file name -> bytes."""
    photo = photo.resize((64, 64))
    gray = photo.convert("L")
    exif = Image.Exif()
    exif[0x0112] = 6  # turned: the upright path runs too
    exif[0x010F] = "Scanner"
    files = {}

    def save(name: str, image: Image.Image, fmt: str, **options) -> None:
        buf = io.BytesIO()
        image.copy().save(buf, fmt, **options)
        files[name] = buf.getvalue()

    save("gray_exif.jpg", gray, "JPEG", exif=exif.tobytes())
    save("colour.jpg", photo, "JPEG", quality=85)
    save("gray_exif.png", gray, "PNG", exif=exif.tobytes())
    save("rgba.png", photo.convert("RGBA"), "PNG")
    save("pages.tif", gray, "TIFF", save_all=True, append_images=[gray.rotate(90), photo])
    save("lzw.tif", gray, "TIFF", compression="tiff_lzw")
    save("frames.gif", gray, "GIF", save_all=True, append_images=[gray.rotate(a) for a in (30, 60)])
    save("photo.webp", photo, "WEBP")
    save("photo.bmp", gray, "BMP")
    if features.check("avif"):
        save("avif.jpg", photo, "AVIF")  # another format under a .jpg name
    return files


def _mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    kind = rng.choice(("flip", "cut", "header", "overwrite"))
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "cut":
        data = data[: rng.randrange(1, len(data))]
    elif kind == "header":
        spots = [i for anchor in ANCHORS for i in range(len(data)) if data.startswith(anchor, i)][
            :64
        ] or [0]
        base = rng.choice(spots)
        for _ in range(rng.randint(1, 3)):
            data[min(len(data) - 1, base + rng.randrange(16))] = rng.randrange(256)
    else:
        at = rng.randrange(len(data))
        data[at : at + rng.randint(1, 16)] = bytes(
            rng.randrange(256) for _ in range(rng.randint(1, 16))
        )
    return bytes(data)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory, astronaut_rgb) -> list[Path]:
    """CASES damaged files, each format in turn, named with its original's extension."""
    folder = tmp_path_factory.mktemp("damaged")
    originals = _originals(astronaut_rgb)
    names = sorted(originals)
    rng = random.Random(SEED)
    paths = []
    for i in range(CASES):
        name = names[i % len(names)]
        path = folder / f"case{i:03d}_{name}"
        path.write_bytes(_mutate(rng, originals[name]))
        paths.append(path)
    return paths


@pytest.mark.filterwarnings("ignore")  # Pillow's own warnings about the damage
def test_reading_a_damaged_photo_raises_only_the_documented_error(damaged):
    escaped, outcomes = [], {"read": 0, "refused": 0}
    for path in damaged:
        try:
            photo = load(path)
            for _ in pages(photo):
                pass
            is_monochrome(photo.image)
            outcomes["read"] += 1
        except ImageIOError as exc:
            assert str(exc).startswith(f"{path}"), exc
            outcomes["refused"] += 1
        except Exception as exc:
            escaped.append(f"{path.name}: {type(exc).__name__}: {exc}")
    assert not escaped, "\n".join(escaped)
    assert min(outcomes.values()) > CASES // 5, outcomes  # damage of both kinds: harmless and fatal


def test_a_batch_of_damaged_photos_ends_with_its_summary(damaged, gray_photo, tmp_path):
    intact = tmp_path / "intact.png"
    gray_photo.resize((64, 64)).save(intact)
    inputs = [*damaged[:40], intact]
    proc = run_cli(*inputs, "-o", tmp_path / "out", "--format", "png", "--model", "fast", "--json")
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert sum(report["summary"].values()) == len(inputs)
    assert report["results"][-1]["status"] == "ok"
    for r in report["results"]:
        assert r["status"] in ("ok", "error") and (
            r["status"] == "ok" or r["error"].startswith(r["input"])
        )
