"""Faults a hostile test battery found:
races, signals, memory, bad values, pages, permissions, paths."""

from __future__ import annotations

import io
import json
import math
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, saturation
from PIL import Image

CLI = [sys.executable, "-m", "colorize_core"]


def _popen(*args, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw
    )


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".part")]


@pytest.fixture
def album(tmp_path, gray_photo) -> Path:
    """Six black-and-white photos, 1024x1024 (big enough that writing one takes a moment)."""
    folder = tmp_path / "album"
    folder.mkdir()
    big = gray_photo.resize((1024, 1024))
    for i in range(6):
        big.rotate(90 * (i % 4)).save(folder / f"p{i}.png")
    return folder


# -- 1. two processes, one output folder ---------------------------------------------------------
def test_two_processes_racing_for_one_folder_never_share_an_output(album, tmp_path):
    out = tmp_path / "out"
    procs = [_popen(album, "-o", out, "--json", "--png-compression", "1") for _ in range(2)]
    reports = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs), [p.returncode for p in procs]
    claimed = {}
    for report in reports:
        for r in report["results"]:
            if r["status"] == "ok":
                assert r["output"] not in claimed, f"{r['output']} written by both processes"
                claimed[r["output"]] = True
            else:
                assert r["status"] == "skipped" and r["reason"].startswith("output exists")
    assert len(claimed) == 6 and len(list(out.glob("*_colorized.png"))) == 6
    assert not _temps(out)


# -- 2. SIGTERM / SIGHUP, and the leftovers of SIGKILL ---------------------------------------------
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_terminate_mid_batch_keeps_finished_outputs_and_no_temp_file(album, tmp_path, signum, code):
    out = tmp_path / "out"
    proc = _popen(album, "-o", out, "--png-compression", "9")
    deadline = time.time() + 120
    while time.time() < deadline and not (out.is_dir() and list(out.iterdir())):
        time.sleep(0.01)  # the first output (or its temp file) has appeared: the batch is mid-way
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "finished outputs are kept" in err
    assert not _temps(out)
    for done in out.glob("*_colorized.png"):
        Image.open(done).load()  # every file there is whole


def test_temp_files_of_a_killed_run_are_removed_by_the_next_run(tmp_path, gray_photo):
    """SIGKILL while a big PNG is being written leaves its temp file;
    the next run into the folder clears it."""
    src = tmp_path / "huge.png"
    gray_photo.resize((5000, 5000)).save(src, compress_level=1)
    out = tmp_path / "out"
    out.mkdir()
    proc = _popen(src, "-o", out, "--png-compression", "9")
    deadline = time.time() + 120
    while time.time() < deadline and not _temps(out) and proc.poll() is None:
        time.sleep(0.005)
    left = _temps(out)
    proc.kill()
    proc.wait(timeout=30)
    assert left, "the run ended before it started writing"
    assert all(p.exists() for p in left)
    # a user's own dot-file and a fresh temp file of a live writer on another machine stay
    mine = out / ".notes.part"
    mine.write_text("mine")
    other_host = out / f".x.png.colorize-otherhost-{os.getpid()}-abcd1234.part"
    other_host.write_text("in progress elsewhere")
    run_cli(src, "-o", out / "again.png", "--max-megapixels", "30", check=True)
    assert not any(p.exists() for p in left)
    assert mine.exists() and other_host.exists()


def test_stale_rule_only_touches_this_tools_files(tmp_path):
    from colorize_core.atomic import STALE_AFTER_S, _host, is_stale

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    cases = {
        f".a.png.colorize-{_host()}-{dead.pid}-k2j3h4g5.part": True,  # its writer is gone
        f".a.png.colorize-{_host()}-{os.getpid()}-k2j3h4g5.part": False,  # its writer runs
        ".a.png.colorize-elsewhere-1-k2j3h4g5.part": False,  # another machine's, fresh
        ".a.png.k2j3h4g5.part": False,
        "a.png.colorize-x-1-y.part": False,
    }  # not this tool's name
    for name, stale in cases.items():
        (tmp_path / name).write_text("x")
        assert is_stale(tmp_path / name) == stale, name
    old = tmp_path / ".a.png.colorize-elsewhere-1-k2j3h4g5.part"
    os.utime(old, (time.time() - STALE_AFTER_S - 60,) * 2)
    assert is_stale(old)


# -- 3. larger than memory -------------------------------------------------------------------------
def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that claims width x height gray pixels (its data is a few bytes:
    decoding would need it all)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def _cap_memory(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_an_image_larger_than_memory_is_refused_before_decoding(tmp_path, gray_file):
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 100_000, 100_000)
    cap = 3 << 30
    proc = subprocess.run(
        [*CLI, str(bomb), "-o", str(tmp_path / "o.png"), "--max-megapixels", "20000"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_cap_memory(cap),
    )
    assert proc.returncode == 1, proc.stderr
    line = [ln for ln in proc.stderr.splitlines() if "bomb.png" in ln][0]
    assert (
        "100000 x 100000 needs about" in line
        and "of memory to colorize" in line
        and "is available" in line
    )
    # under the same cap an ordinary photo still works
    ok = subprocess.run(
        [*CLI, str(gray_file), "-o", str(tmp_path / "ok.png")],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_cap_memory(cap),
    )
    assert ok.returncode == 0, ok.stderr


# -- 4. values that are not numbers ----------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["--strength", "nan"],
        ["--strength", "inf"],
        ["--strength", "1e9"],
        ["--strength", "-1"],
        ["--max-megapixels", "nan"],
        ["--max-megapixels", "inf"],
    ],
)
def test_non_finite_and_out_of_range_values_are_refused(gray_file, args):
    proc = run_cli(gray_file, *args)
    assert proc.returncode == 2, proc.stderr
    assert ("from 0 to 4" if args[0] == "--strength" else "positive number") in proc.stderr
    assert not gray_file.with_name("scan_colorized.png").exists()


def test_the_api_and_bridge_refuse_the_same_values(gray_photo, tmp_path):
    from colorize_core import Colorizer, colorize

    for bad in (math.nan, math.inf, -1.0, 1e9):
        with pytest.raises(ValueError, match="strength must be a number from 0 to 4"):
            colorize(gray_photo, strength=bad)
    for threads in (0, -1):
        with pytest.raises(ValueError, match="threads must be a whole number of 1 or more"):
            Colorizer(threads=threads)
    pixels = tmp_path / "in.npy"
    np.save(pixels, np.zeros((8, 8, 3), np.uint8))
    proc = run_cli("bridge", pixels, tmp_path / "out.npy", "--strength", "nan")
    assert proc.returncode == 2 and "from 0 to 4" in proc.stderr
    proc = run_cli("bridge", pixels, tmp_path / "out.npy", "--threads", "0")
    assert proc.returncode == 2 and "threads must be" in proc.stderr


# -- 5. pages and frames ---------------------------------------------------------------------------
@pytest.fixture
def three_page_tiff(tmp_path, astronaut_rgb, coffee_rgb) -> Path:
    pages = [
        astronaut_rgb.convert("L"),
        coffee_rgb.convert("L"),
        astronaut_rgb.convert("L").resize((300, 200)),
    ]
    path = tmp_path / "scans.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    return path


def test_every_page_of_a_tiff_is_colorized(three_page_tiff):
    proc = run_cli(three_page_tiff, check=True)
    out = Image.open(three_page_tiff.with_name("scans_colorized.tif"))
    assert out.n_frames == 3, proc.stderr
    sizes = []
    for i in range(3):
        out.seek(i)
        sizes.append(out.size)
        assert out.mode == "RGB" and saturation(out) > 2
    assert sizes == [(512, 512), (600, 400), (300, 200)]
    assert "frames" not in proc.stderr


def test_single_image_outputs_warn_that_only_the_first_frame_was_used(three_page_tiff, tmp_path):
    proc = run_cli(three_page_tiff, "-o", tmp_path / "first.png", "--json")
    assert proc.returncode == 0
    [result] = json.loads(proc.stdout)["results"]
    assert any("only the first of its 3 frames was colorized" in w for w in result["warnings"])
    text = run_cli(three_page_tiff, "-o", tmp_path / "first2.png")
    assert "only the first of its 3 frames was colorized" in text.stderr


def test_gif_output_is_refused_naming_the_input(tmp_path, gray_photo):
    gif = tmp_path / "anim.gif"
    frames = [gray_photo.resize((64, 64)), gray_photo.resize((64, 64)).rotate(90)]
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    proc = run_cli(gif)
    assert proc.returncode == 1
    assert f"{gif}:" in proc.stderr and "--format png" in proc.stderr
    assert not list(tmp_path.glob("anim_colorized*"))
    as_png = run_cli(gif, "--format", "png", check=True)
    assert "only the first of its 2 frames was colorized" in as_png.stderr


# -- 6. an input that cannot be read ---------------------------------------------------------------
def _without_read_rights() -> list[str]:
    """Run a command unable to read unreadable files, also as root
    (whose capabilities are dropped)."""
    if os.geteuid() != 0:
        return []
    caps = "-dac_override,-dac_read_search"
    if not shutil.which("setpriv"):
        pytest.skip("running as root without util-linux's setpriv: root reads every file")
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_an_unreadable_input_says_permission_denied(gray_file, tmp_path):
    gray_file.chmod(0)
    try:
        proc = subprocess.run(
            [*_without_read_rights(), *CLI, str(gray_file), "-o", str(tmp_path / "o.png")],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        gray_file.chmod(0o644)
    assert proc.returncode == 1
    assert f"{gray_file}: cannot read it (Permission denied)" in proc.stderr
    assert "corrupt" not in proc.stderr


# -- 7. shipped model names (tests/test_model.py has the API side) ---------------------------------
def test_help_says_a_shipped_name_wins():
    assert "./NAME" in run_cli("--help", check=True).stdout


# -- 8. paths --------------------------------------------------------------------------------------
def test_a_file_name_starting_with_a_dash_gets_the_double_dash_hint(tmp_path, gray_photo):
    gray_photo.save(tmp_path / "-scan.png")
    proc = run_cli("-scan.png", cwd=tmp_path)
    assert proc.returncode == 2 and "goes after --" in proc.stderr
    run_cli("--", "-scan.png", cwd=tmp_path, check=True)
    assert (tmp_path / "-scan_colorized.png").exists()


def test_one_output_file_for_two_inputs_is_refused(tmp_path, gray_photo):
    for name in ("a.png", "b.png"):
        gray_photo.save(tmp_path / name)
    proc = run_cli(tmp_path / "a.png", tmp_path / "b.png", "-o", tmp_path / "result.jpg")
    assert proc.returncode == 2 and "cannot go into one file" in proc.stderr
    assert not (tmp_path / "result.jpg").exists()


def test_output_extension_and_format_must_agree(gray_file, tmp_path):
    proc = run_cli(gray_file, "-o", tmp_path / "x.webp", "--format", "jpg")
    assert proc.returncode == 2 and "contradict" in proc.stderr
    assert not list(tmp_path.glob("x.*"))
    run_cli(gray_file, "-o", tmp_path / "y.webp", "--format", "webp", check=True)


def test_missing_parent_folders_of_an_output_file_are_created(gray_file, tmp_path):
    out = tmp_path / "missing" / "dir" / "out.png"
    run_cli(gray_file, "-o", out, check=True)
    assert Image.open(out).size == (512, 512)


# -- 9. re-runs and --json -------------------------------------------------------------------------
def test_rerunning_a_folder_batch_skips_what_exists(album, tmp_path):
    out = tmp_path / "out"
    run_cli(album, "-o", out, "--png-compression", "1", check=True)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = run_cli(album, "-o", out)
    assert again.returncode == 0, again.stderr
    assert "6 of 6 outputs existed already and were skipped (use --overwrite" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    report = json.loads(run_cli(album, "-o", out, "--json").stdout)
    assert report["summary"] == {"ok": 0, "skipped": 6, "error": 0}


def test_json_reports_usage_errors_and_interrupts(album, tmp_path):
    proc = run_cli(album, "--json", "--strength", "nan")
    assert proc.returncode == 2
    report = json.loads(proc.stdout)
    assert report["status"] == "usage error" and "strength" in report["message"]
    proc = run_cli("--json", "--no-such-option", album)
    assert proc.returncode == 2 and json.loads(proc.stdout)["status"] == "usage error"
    out = tmp_path / "out"
    live = _popen(album, "-o", out, "--json", "--png-compression", "9")
    deadline = time.time() + 120
    while time.time() < deadline and not (out.is_dir() and list(out.iterdir())):
        time.sleep(0.01)
    live.send_signal(signal.SIGTERM)
    stdout, _ = live.communicate(timeout=60)
    assert live.returncode == 143
    report = json.loads(stdout)
    assert report["status"] == "interrupted" and report["exit_code"] == 143
    assert len(report["results"]) < 6


# -- 10. the Python API ----------------------------------------------------------------------------
def test_api_applies_exif_orientation_when_asked(gray_photo):
    from colorize_core import colorize

    sideways = gray_photo.resize((300, 200))
    exif = sideways.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    tagged = Image.open(_roundtrip(sideways, exif))
    assert colorize(tagged).size == (300, 200)
    assert colorize(tagged, exif_transpose=True).size == (200, 300)


def _roundtrip(image: Image.Image, exif) -> io.BytesIO:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", exif=exif.tobytes())
    buf.seek(0)
    return buf


@pytest.mark.parametrize("shape", [(0, 5), (4, 0, 3), (0, 0)])
def test_empty_arrays_name_the_callers_shape(shape):
    from colorize_core import colorize

    with pytest.raises(ValueError, match=rf"got \({shape[0]}, {shape[1]}"):
        colorize(np.zeros(shape, np.uint8))
    with pytest.raises(ValueError) as info:
        colorize(np.zeros(shape, np.uint8))
    assert str(shape) in str(info.value)


@pytest.mark.parametrize("mode, out_mode", [("La", "RGBA"), ("RGBa", "RGBA")])
def test_premultiplied_alpha_modes_work(gray_photo, mode, out_mode):
    from colorize_core import colorize

    base = gray_photo.resize((128, 128)).convert("LA" if mode == "La" else "RGBA")
    alpha = Image.linear_gradient("L").resize((128, 128))
    base.putalpha(alpha)
    out = colorize(base.convert(mode))
    assert out.mode == out_mode and out.size == (128, 128)
    assert np.array_equal(
        np.asarray(out.getchannel("A")),
        np.asarray(base.convert(mode).convert("LA" if mode == "La" else "RGBA").getchannel("A")),
    )
