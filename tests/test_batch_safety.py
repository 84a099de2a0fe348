"""The second hostile battery (issue 27): no photo silently lost, damaged files fail alone with the
batch's summary, closed streams cost messages and never photos, toned monochrome is monochrome."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli as _run_cli
from PIL import Image, features

CLI = [sys.executable, "-m", "colorize_core"]
# the batch's behaviour is under test, not the model's colours: the quickest one
FAST = ("--model", "fast")


def run_cli(*args, **kw) -> subprocess.CompletedProcess:
    return _run_cli(*args, *FAST, **kw)


@pytest.fixture
def small_gray(gray_photo) -> Image.Image:
    return gray_photo.resize((96, 96))


# -- two photos, one output name -------------------------------------------------------------------
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_two_photos_bound_for_one_output_are_refused_naming_both(
    tmp_path, small_gray, coffee_rgb, overwrite
):
    for folder, photo in (("d1", small_gray), ("d2", coffee_rgb.convert("L").resize((96, 64)))):
        (tmp_path / folder).mkdir()
        photo.save(tmp_path / folder / "p.png")
    out = tmp_path / "out"
    proc = run_cli(tmp_path / "d1", tmp_path / "d2", "-o", out, *overwrite)
    assert proc.returncode == 2, proc.stderr
    assert (
        str(tmp_path / "d1" / "p.png") in proc.stderr
        and str(tmp_path / "d2" / "p.png") in proc.stderr
    )
    assert not out.exists() or not list(out.iterdir())


def test_same_stem_in_two_formats_with_one_output_format_is_refused(tmp_path, small_gray):
    small_gray.save(tmp_path / "a.png")
    small_gray.rotate(90).save(tmp_path / "a.jpg")
    proc = run_cli(tmp_path / "a.png", tmp_path / "a.jpg", "--format", "png", "--json")
    assert proc.returncode == 2
    report = json.loads(proc.stdout)
    assert report["status"] == "usage error"
    assert report["inputs"] == [str(tmp_path / "a.png"), str(tmp_path / "a.jpg")]
    assert not (tmp_path / "a_colorized.png").exists()
    # each keeps its own format: two names
    run_cli(tmp_path / "a.png", tmp_path / "a.jpg", check=True)
    assert (tmp_path / "a_colorized.png").exists() and (tmp_path / "a_colorized.jpg").exists()


def test_one_photo_given_twice_is_colorized_once(tmp_path, small_gray):
    small_gray.save(tmp_path / "a.png")
    proc = run_cli(
        tmp_path / "a.png", tmp_path / "a.png", "-o", tmp_path / "out", "--json", check=True
    )
    assert json.loads(proc.stdout)["summary"] == {"ok": 1, "skipped": 0, "error": 0}


def test_a_trailing_slash_means_a_folder(tmp_path, small_gray):
    src = tmp_path / "a.png"
    small_gray.save(src)
    run_cli(src, "-o", f"{tmp_path / 'new.png'}/", check=True)
    assert (tmp_path / "new.png").is_dir() and (tmp_path / "new.png" / "a_colorized.png").is_file()
    holiday = tmp_path / "holiday.jpg"
    small_gray.rotate(90).save(holiday)
    before = holiday.read_bytes()
    proc = run_cli(src, "-o", f"{holiday}/", "--overwrite")
    assert proc.returncode == 2 and "is a file" in proc.stderr
    assert holiday.read_bytes() == before


# -- damaged files ---------------------------------------------------------------------------------
def _with_damaged_exif(photo: Image.Image, path: Path, fmt: str) -> Path:
    """The photo with an EXIF block whose TIFF header has one byte changed (its pixels intact)."""
    exif = photo.getexif()
    exif[0x010F] = "Scanner"
    buf = io.BytesIO()
    photo.save(buf, fmt, exif=exif.tobytes())
    data = bytearray(buf.getvalue())
    if fmt == "JPEG":
        data[data.index(b"Exif\0\0") + 6] = ord("z")
    else:  # PNG: the eXIf chunk, its CRC made right again
        at = data.index(b"eXIf")
        length = struct.unpack(">I", data[at - 4 : at])[0]
        data[at + 4] = ord("z")
        data[at + 4 + length : at + 8 + length] = struct.pack(
            ">I", zlib.crc32(bytes(data[at : at + 4 + length]))
        )
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("fmt, ext", [("JPEG", ".jpg"), ("PNG", ".png")])
def test_a_damaged_exif_block_is_left_out_with_a_warning(tmp_path, small_gray, fmt, ext):
    src = _with_damaged_exif(small_gray, tmp_path / f"scan{ext}", fmt)
    proc = run_cli(src, "--json")
    assert proc.returncode == 0, proc.stderr
    [result] = json.loads(proc.stdout)["results"]
    assert result["status"] == "ok"
    assert any("EXIF metadata is damaged" in w for w in result["warnings"])
    out = Image.open(result["output"])
    assert out.size == (96, 96) and not out.getexif()


def _tiff_ifds(data: bytes) -> list[int]:
    """Offsets of a little-endian TIFF's image file directories."""
    offsets, at = [], struct.unpack("<I", data[4:8])[0]
    while at:
        offsets.append(at)
        count = struct.unpack("<H", data[at : at + 2])[0]
        at = struct.unpack("<I", data[at + 2 + 12 * count : at + 6 + 12 * count])[0]
    return offsets


def _two_page_tiff(photo: Image.Image) -> bytearray:
    buf = io.BytesIO()
    photo.save(buf, "TIFF", save_all=True, append_images=[photo.rotate(90)])
    return bytearray(buf.getvalue())


def _tiff_next_page_past_the_end(photo: Image.Image) -> bytes:
    data = _two_page_tiff(photo)
    first = _tiff_ifds(data)[0]
    link = first + 2 + 12 * struct.unpack("<H", data[first : first + 2])[0]
    data[link : link + 4] = struct.pack("<I", len(data) + 4096)
    return bytes(data)


def _tiff_page_without_dimensions(photo: Image.Image) -> bytes:
    data = _two_page_tiff(photo)
    second = _tiff_ifds(data)[1]
    for i in range(struct.unpack("<H", data[second : second + 2])[0]):
        entry = second + 2 + 12 * i
        if struct.unpack("<H", data[entry : entry + 2])[0] in (256, 257):  # ImageWidth, ImageLength
            data[entry : entry + 2] = struct.pack("<H", 65000)
    return bytes(data)


def _truncated_animated_gif(photo: Image.Image) -> bytes:
    buf = io.BytesIO()
    photo.save(buf, "GIF", save_all=True, append_images=[photo.rotate(a) for a in (30, 60, 90)])
    data = buf.getvalue()
    third = data.index(
        b"\x21\xf9\x04", data.index(b"\x21\xf9\x04", data.index(b"\x21\xf9\x04") + 1) + 1
    )
    return data[: third + 4]  # cut inside a later frame's header


def _damaged_avif(photo: Image.Image) -> bytes:
    buf = io.BytesIO()
    photo.convert("RGB").save(buf, "AVIF")
    data = bytearray(buf.getvalue())
    at = data.index(b"pitm")  # the primary item box, renamed: no image item
    data[at : at + 4] = b"xxxx"
    return bytes(data)


def test_damaged_files_fail_alone_and_the_batch_ends_with_its_summary(tmp_path, small_gray):
    bad = {
        "past.tif": _tiff_next_page_past_the_end(small_gray),
        "nodims.tif": _tiff_page_without_dimensions(small_gray),
        "cut.gif": _truncated_animated_gif(small_gray),
    }
    if features.check("avif"):
        bad["avif.jpg"] = _damaged_avif(small_gray)
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    small_gray.save(tmp_path / "good.png")
    inputs = [tmp_path / name for name in bad] + [tmp_path / "good.png"]
    proc = run_cli(*inputs, "--format", "png", "--json")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"] == {"ok": 1, "skipped": 0, "error": len(bad)}
    for r in report["results"][:-1]:
        assert r["error"].startswith(r["input"] + ": ") and "corrupt" in r["error"], r
    text = run_cli(*inputs, "--format", "png", "--overwrite")
    assert text.returncode == 1 and f"{len(bad)} of {len(inputs)} inputs failed:" in text.stderr
    assert "Traceback" not in text.stderr


# -- closed streams --------------------------------------------------------------------------------
@pytest.fixture
def three_photos(tmp_path, small_gray) -> list[Path]:
    paths = [tmp_path / f"p{i}.png" for i in range(3)]
    for i, path in enumerate(paths):
        small_gray.rotate(90 * i).save(path)
    return paths


def test_a_reader_that_leaves_early_costs_no_photo_and_no_traceback(tmp_path, three_photos):
    for stream, args in (("stdout", ["--json"]), ("stderr", [])):
        out = tmp_path / f"out_{stream}"
        proc = subprocess.Popen(
            [*CLI, *map(str, three_photos), "-o", str(out), *FAST, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        getattr(proc, stream).close()  # `--json | head -1`, `2>&1 | head -1`: the reader is gone
        other = proc.stderr if stream == "stdout" else proc.stdout
        said = other.read().decode()
        assert proc.wait(timeout=120) == 0, said
        assert "Traceback" not in said and "BrokenPipe" not in said
        assert len(list(out.glob("*_colorized.png"))) == 3


@pytest.mark.parametrize("redirect", ["2>&-", ">&-", ">&- 2>&-"])
def test_closed_stdout_or_stderr_cost_no_photo(tmp_path, three_photos, redirect):
    out = tmp_path / "out"
    command = (
        " ".join([*CLI, *map(str, three_photos), "-o", str(out), *FAST, "--json"]) + f" {redirect}"
    )
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert len(list(out.glob("*_colorized.png"))) == 3


# -- toned monochrome ------------------------------------------------------------------------------
def _sepia(gray: Image.Image) -> Image.Image:
    """A sepia-toned print of a black-and-white photo (the classic toning matrix)."""
    rgb = np.asarray(gray.convert("RGB"), np.float32)
    toning = np.array(
        [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32
    )
    return Image.fromarray(np.clip(rgb @ toning.T, 0, 255).astype(np.uint8))


def test_a_sepia_print_is_colorized_without_a_warning_and_never_skipped(
    tmp_path, gray_photo, coffee_rgb
):
    _sepia(gray_photo).save(tmp_path / "sepia.jpg", quality=90)
    coffee_rgb.save(tmp_path / "colour.jpg", quality=90)
    proc = run_cli(
        tmp_path / "sepia.jpg", tmp_path / "colour.jpg", "--skip-color", "--json", check=True
    )
    sepia, colour = json.loads(proc.stdout)["results"]
    assert sepia["status"] == "ok" and not any("colour" in w for w in sepia["warnings"])
    assert colour["status"] == "skipped"
    warned = run_cli(tmp_path / "sepia.jpg", "-o", tmp_path / "again.jpg", check=True)
    assert "already in colour" not in warned.stderr


# -- a transparency key ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode, key", [("L", 3), ("RGB", (3, 2, 1))])
def test_a_png_transparency_key_is_kept_as_alpha(tmp_path, small_gray, mode, key):
    """PNG optimisers store a photo's single transparent value as a tRNS key instead of alpha."""
    photo = small_gray.convert(mode)
    photo.paste(key, (10, 10, 40, 30))
    src = tmp_path / "keyed.png"
    photo.save(src, transparency=key)
    alpha = np.asarray(Image.open(src).convert("RGBA").getchannel("A"))
    assert (alpha == 0).sum() >= 600
    for ext in ("png", "tif", "webp"):
        run_cli(src, "-o", tmp_path / f"out.{ext}", check=True)
        out = Image.open(tmp_path / f"out.{ext}")
        assert out.mode == "RGBA" and np.array_equal(np.asarray(out.getchannel("A")), alpha), ext
    proc = run_cli(src, "-o", tmp_path / "out.jpg")
    assert proc.returncode == 1 and "cannot store the photo's transparency" in proc.stderr


def _gray_icc() -> bytes:
    """The header of a gray display profile: enough for a reader to see its colour space."""
    icc = bytearray(128)
    icc[0:4], icc[12:16], icc[16:20], icc[36:40] = (
        (128).to_bytes(4, "big"),
        b"mntr",
        b"GRAY",
        b"acsp",
    )
    return bytes(icc)


@pytest.mark.parametrize("src", ["png", "tif", "jpg"])
def test_a_gray_icc_profile_never_reaches_an_rgb_output(tmp_path, small_gray, src):
    photo = tmp_path / f"g.{src}"
    small_gray.save(photo, icc_profile=_gray_icc())
    outs = [tmp_path / f"out.{ext}" for ext in ("png", "tif", "webp", "jpg")]
    for out in outs:
        proc = run_cli(photo, "-o", out)
        assert proc.returncode == 0 and "GRAY ICC profile not carried" in proc.stderr, proc.stderr
        with Image.open(out) as im:
            assert im.mode == "RGB" and not im.info.get("icc_profile"), out


def test_more_jobs_than_the_machine_allows_are_capped_and_said():
    from colorize_core.limits import JOB_RESERVE_BYTES, JOBS_PER_CORE, batch_workers

    assert batch_workers(None, 1000, cores=2) == (2, None)
    assert batch_workers(3, 1000, cores=2, free=2**40) == (3, None)
    # the photos bound it: nothing cut
    assert batch_workers(1000, 5, cores=2, free=2**40) == (5, None)
    workers, why = batch_workers(1000, 1000, cores=2, free=2**40)
    assert workers == 2 * JOBS_PER_CORE and "cores" in why
    workers, why = batch_workers(1000, 1000, cores=64, free=10 * JOB_RESERVE_BYTES)
    assert workers == 10 and "memory" in why


def test_a_batch_with_jobs_1000_under_a_memory_cap_colorizes_every_photo(tmp_path, small_gray):
    import resource

    album = tmp_path / "album"
    album.mkdir()
    for i in range(200):
        small_gray.resize((32, 32)).save(album / f"p{i:03d}.png")
    cap = 1500 * 2**20  # room for the runtime, not for 200 threads' 8 MB stacks

    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    proc = subprocess.run(
        [*CLI, str(album), "-o", str(tmp_path / "out"), "--jobs", "1000", *FAST],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limited,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--jobs 1000 is more than" in proc.stderr
    assert len(list((tmp_path / "out").iterdir())) == 200


# -- messages --------------------------------------------------------------------------------------
def _jpeg_with_corrupt_exif(photo: Image.Image, path: Path) -> Path:
    """A JPEG whose EXIF directory promises five entries and holds one:
    Pillow warns "Corrupt EXIF data"."""
    exif = (
        b"Exif\0\0II*\0" + struct.pack("<IH", 8, 5) + struct.pack("<HHII", 0x010F, 2, 4, 0x00434241)
    )
    photo.save(path, exif=exif)
    return path


def _malformed_mpo(photo: Image.Image, path: Path) -> Path:
    """A JPEG with an MPF (multi-picture) segment that lacks its number of images: Pillow warns
    "Image appears to be a malformed MPO file" and reads it as the plain JPEG it is."""
    buf = io.BytesIO()
    photo.save(buf, "JPEG")
    mpf = (
        b"MPF\0II*\0"
        + struct.pack("<IH", 8, 1)
        + struct.pack("<HHII", 0xB000, 7, 4, 0x30313030)
        + b"\0" * 4
    )
    data = buf.getvalue()
    path.write_bytes(data[:2] + b"\xff\xe2" + struct.pack(">H", len(mpf) + 2) + mpf + data[2:])
    return path


def test_pillow_warnings_are_the_photos_warnings(tmp_path, small_gray):
    """Pillow's own warnings (printed with its source paths, even under -q) become each photo's
    warnings: in the JSON report, printed like the others, silent under -q; every photo gets its
    own, also photos decoded side by side."""
    corrupt = _jpeg_with_corrupt_exif(small_gray, tmp_path / "exif.jpg")
    mpo = [_malformed_mpo(small_gray.rotate(90 * i), tmp_path / f"mpo{i}.jpg") for i in range(3)]
    proc = run_cli(corrupt, *mpo, "-o", tmp_path / "json", "--json", "--jobs", "3", check=True)
    assert "Warning" not in proc.stderr and "PIL" not in proc.stderr, proc.stderr
    first, *others = json.loads(proc.stdout)["results"]
    assert any(w.startswith("Corrupt EXIF data. Expecting to read") for w in first["warnings"]), (
        first
    )
    for r in others:
        assert (
            "Image appears to be a malformed MPO file, it will be interpreted as a base JPEG file"
            in r["warnings"]
        )
    for r in (first, *others):
        assert not any(".py" in w or "site-packages" in w for w in r["warnings"]), r
    quiet = run_cli(corrupt, *mpo, "-o", tmp_path / "quiet", "-q", check=True)
    assert quiet.stderr == ""
    said = run_cli(mpo[0], "-o", tmp_path / "said.jpg", check=True)
    assert (
        f"colorize-core: warning: {mpo[0]}: Image appears to be a malformed MPO file" in said.stderr
    )
    assert "PIL" not in said.stderr and "UserWarning" not in said.stderr


def test_a_symbolic_link_loop_is_called_one(tmp_path):
    (tmp_path / "self.png").symlink_to("self.png")
    (tmp_path / "a.png").symlink_to("b.png")
    (tmp_path / "b.png").symlink_to("a.png")
    (tmp_path / "dangling.png").symlink_to("gone.png")
    names = ["self.png", "a.png", "dangling.png"]
    proc = run_cli(*(tmp_path / n for n in names), "--json")
    assert proc.returncode == 1
    loop, pair, dangling = (r["error"] for r in json.loads(proc.stdout)["results"])
    assert loop == f"{tmp_path / 'self.png'}: symbolic link loop (a link that leads back to itself)"
    assert pair == f"{tmp_path / 'a.png'}: symbolic link loop (a link that leads back to itself)"
    assert dangling.startswith(f"{tmp_path / 'dangling.png'}: no such file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_reading_it(tmp_path):
    pipe = tmp_path / "scan.png"
    os.mkfifo(pipe)
    proc = run_cli(pipe, "--json", timeout=60)  # nothing writes to the pipe: reading it would block
    assert proc.returncode == 1
    [result] = json.loads(proc.stdout)["results"]
    assert (
        result["error"]
        == f"{pipe}: a named pipe (FIFO), not a regular file: save the photo into a file first"
    )


HEIC_HEADER = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0\0\0\x08free"


@pytest.mark.parametrize("extra", [[], ["--format", "png"]])
def test_heic_is_refused_as_unreadable_with_what_to_do(tmp_path, extra):
    """Not "use --format png" (no format helps) nor "not an image": what it is and what to do."""
    src = tmp_path / "IMG_0001.HEIC"
    src.write_bytes(HEIC_HEADER + bytes(200))
    proc = run_cli(src, *extra, "--json")
    assert proc.returncode == 1
    [result] = json.loads(proc.stdout)["results"]
    assert result["error"] == (
        f"{src}: a HEIC photo, which this tool cannot read (Pillow has no HEIC decoder "
        "here): convert it to JPEG, PNG or TIFF first"
    )


@pytest.mark.parametrize("name", ["x.gif", "x.heic", "x.GIF"])
def test_an_output_file_this_tool_cannot_write_is_a_usage_error(tmp_path, small_gray, name):
    small_gray.save(tmp_path / "a.png")
    proc = run_cli(tmp_path / "a.png", "-o", tmp_path / name)
    assert proc.returncode == 2, proc.stderr
    suffix = Path(name).suffix
    assert f"-o {tmp_path / name}: cannot write {suffix} files" in proc.stderr
    assert "--format" not in proc.stderr  # the name is what to change (-o with --format must agree)
    report = json.loads(run_cli(tmp_path / "a.png", "-o", tmp_path / name, "--json").stdout)
    assert report["status"] == "usage error"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


@pytest.mark.parametrize(
    "given, suffix",
    [
        ("JPG", ".jpg"),
        (".png", ".png"),
        ("TIFF", ".tiff"),
        (".Tif", ".tif"),
        ("jpeg", ".jpeg"),
        ("WebP", ".webp"),
    ],
)
def test_format_names_work_as_file_names_do(tmp_path, small_gray, given, suffix):
    small_gray.save(tmp_path / "a.png")
    run_cli(tmp_path / "a.png", "--format", given, check=True)
    assert (tmp_path / f"a_colorized{suffix}").is_file()
    upper = tmp_path / f"B{suffix.upper()}"
    run_cli(tmp_path / "a.png", "-o", upper, "--format", given, check=True)  # agree: any spelling
    assert upper.is_file()


def test_format_names_are_one_list():
    from colorize_core.batch import BatchOptions
    from colorize_core.formats import format_suffix

    assert [
        format_suffix(n) for n in ("JPG", ".jpeg", " tif ", "TIFF", "Png", "gif", "heic", "")
    ] == [".jpg", ".jpeg", ".tif", ".tiff", ".png", None, None, None]
    assert BatchOptions(format=".JPG").format == "jpg"
    with pytest.raises(
        ValueError, match="format must be one of jpg, jpeg, png, tif, tiff, webp, bmp"
    ):
        BatchOptions(format="gif")
    proc = run_cli("a.png", "--format", "GIF")
    assert (
        proc.returncode == 2
        and "argument --format: 'GIF' is not a format this tool writes" in proc.stderr
    )


def test_an_output_under_a_file_says_the_file_is_not_a_folder(tmp_path, small_gray):
    """As when the folder cannot be created for want of permission: that photo fails (exit 1)."""
    src = tmp_path / "a.png"
    small_gray.save(src)
    for out, dst in (
        (src / "x.png", src / "x.png"),
        (src / "sub" / "x.png", src / "sub" / "x.png"),
        (src / "sub", src / "sub" / "a_colorized.png"),
    ):
        proc = run_cli(src, "-o", out, "--json")
        assert proc.returncode == 1, proc.stderr
        [result] = json.loads(proc.stdout)["results"]
        assert (
            result["error"]
            == f"{dst}: cannot create output folder {dst.parent}: {src} is a file, not a folder"
        )
    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    small_gray.save(album / "sub" / "p.png")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sub").write_bytes(b"a file where a sub-folder goes")
    proc = run_cli(album, "-r", "-o", tmp_path / "out")
    assert proc.returncode == 1
    assert (
        f"cannot create output folder {tmp_path / 'out' / 'sub'}: "
        f"{tmp_path / 'out' / 'sub'} is a file, not a folder"
    ) in proc.stderr
    assert "File exists" not in proc.stderr and "Not a directory" not in proc.stderr


def _srgb_icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_exif_too_large_for_jpeg_says_how_to_leave_it_out(tmp_path, small_gray, mode):
    photo = small_gray.convert(mode)
    exif = photo.getexif()
    exif[0x9286] = b"x" * 70_000  # UserComment: a scanner's notes, say
    src = tmp_path / "big.png"
    photo.save(src, exif=exif.tobytes(), icc_profile=_srgb_icc())
    proc = run_cli(src, "-o", tmp_path / "out.jpg", "--json")
    assert proc.returncode == 1
    [result] = json.loads(proc.stdout)["results"]
    assert result["error"].startswith(
        f"{tmp_path / 'out.jpg'}: EXIF data is too long for JPEG (70,"
    )
    assert result["error"].endswith(
        "at most 64 KB); nothing was written: leave the metadata out with "
        "--strip-metadata, or write .png, .tif or .webp"
    )
    assert not (tmp_path / "out.jpg").exists()
    run_cli(src, "-o", tmp_path / "out.jpg", "--strip-metadata", check=True)
    with Image.open(tmp_path / "out.jpg") as out:
        assert not out.getexif() and not out.info.get("icc_profile")


@pytest.mark.parametrize("ext", ["png", "tif", "webp", "jpg"])
def test_strip_metadata_writes_no_exif_and_no_icc(tmp_path, small_gray, ext):
    photo = small_gray.convert("RGB")
    exif = photo.getexif()
    exif[0x010F] = "Scanner"
    src = tmp_path / "a.png"
    photo.save(src, exif=exif.tobytes(), icc_profile=_srgb_icc())
    run_cli(src, "-o", tmp_path / f"kept.{ext}", check=True)
    with Image.open(tmp_path / f"kept.{ext}") as kept:
        assert kept.getexif().get(0x010F) == "Scanner" and kept.info.get("icc_profile")
    run_cli(src, "-o", tmp_path / f"bare.{ext}", "--strip-metadata", check=True)
    with Image.open(
        tmp_path / f"bare.{ext}"
    ) as bare:  # a TIFF's getexif() lists its own tags too: not these
        assert (
            0x010F not in bare.getexif()
            and 0x8769 not in bare.getexif()
            and not bare.info.get("icc_profile")
        )


def test_the_bridge_calls_hints_for_a_model_without_them_a_usage_error(tmp_path):
    np.save(tmp_path / "in.npy", np.full((32, 48, 3), 128, np.uint8))
    np.save(tmp_path / "hints.npy", np.zeros((32, 48, 4), np.uint8))
    proc = subprocess.run(
        [
            *CLI,
            "bridge",
            str(tmp_path / "in.npy"),
            str(tmp_path / "out.npy"),
            *FAST,
            "--hints",
            str(tmp_path / "hints.npy"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert (
        proc.stderr.startswith("colorize-core: error: model: ")
        and "takes no colour hints" in proc.stderr
    )
    assert not (tmp_path / "out.npy").exists()
