"""The real CLI in a subprocess: files, folders, naming, options, exit codes, JSON, bad inputs."""

import json
import os

import numpy as np
import pytest
from conftest import luma, run_cli, saturation
from PIL import Image


def test_version_and_help():
    from colorize_core import __version__

    assert run_cli("--version", check=True).stdout.strip() == f"colorize-core {__version__}"
    assert "--strength" in run_cli("--help", check=True).stdout


def test_one_file_default_name_and_no_overwrite(gray_file):
    proc = run_cli(gray_file, check=True)
    out = gray_file.with_name("scan_colorized.png")
    assert out.exists() and f"-> {out}" in proc.stderr
    img = Image.open(out)
    assert img.size == (512, 512) and saturation(img) > 2
    before = out.read_bytes()
    again = run_cli(gray_file)
    # skipped, not failed
    assert again.returncode == 0 and "output exists (use --overwrite" in again.stderr
    assert out.read_bytes() == before
    assert run_cli(gray_file, "--overwrite", "--strength", "0").returncode == 0
    assert saturation(Image.open(out)) < 1


def test_output_file_and_format_options(gray_file, tmp_path):
    jpg = tmp_path / "out" / "result.jpg"
    jpg.parent.mkdir()
    run_cli(gray_file, "-o", jpg, "--quality", "80", check=True)
    assert Image.open(jpg).format == "JPEG"
    webp = run_cli(gray_file, "-o", tmp_path, "--format", "webp", check=True)
    assert (tmp_path / "scan_colorized.webp").exists(), webp.stderr


def test_input_is_never_overwritten_without_permission(gray_file):
    before = gray_file.read_bytes()
    proc = run_cli(gray_file, "-o", gray_file)
    assert proc.returncode == 1 and "is the input itself" in proc.stderr
    assert gray_file.read_bytes() == before


def test_folder_recursive_json_and_progress(tmp_path, gray_photo):
    src = tmp_path / "album"
    (src / "1930s").mkdir(parents=True)
    gray_photo.resize((200, 150)).save(src / "a.jpg")
    gray_photo.resize((150, 200)).save(src / "1930s" / "b.png")
    (src / "notes.txt").write_text("not a photo")
    flat = run_cli(src, "-o", tmp_path / "flat", "--json", check=True)
    report = json.loads(flat.stdout)
    assert report["summary"] == {"ok": 1, "skipped": 0, "error": 0}
    deep = run_cli(src, "-r", "-o", tmp_path / "deep", check=True)
    assert (tmp_path / "deep" / "a_colorized.jpg").exists()
    assert (tmp_path / "deep" / "1930s" / "b_colorized.png").exists()
    assert deep.stderr.count("colorized ") == 2
    # beside the inputs, then a re-run does not pick up its own outputs
    run_cli(src, "-r", check=True)
    again = run_cli(src, "-r", "--json")
    assert {r["input"] for r in json.loads(again.stdout)["results"]} == {
        str(src / "a.jpg"),
        str(src / "1930s" / "b.png"),
    }


def test_batch_goes_on_past_bad_files(tmp_path, gray_photo):
    good = tmp_path / "good.png"
    gray_photo.resize((64, 64)).save(good)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello, not a png")
    jpeg = tmp_path / "cut.jpg"
    gray_photo.save(jpeg, quality=90)
    jpeg.write_bytes(jpeg.read_bytes()[:3000])
    proc = run_cli(
        tmp_path / "empty.jpg",
        tmp_path / "text.png",
        jpeg,
        good,
        tmp_path / "missing.tif",
        "--json",
    )
    assert proc.returncode == 1
    results = {os.path.basename(r["input"]): r for r in json.loads(proc.stdout)["results"]}
    assert results["good.png"]["status"] == "ok"
    assert "empty file" in results["empty.jpg"]["error"]
    assert "not an image" in results["text.png"]["error"]
    assert "truncated or corrupt" in results["cut.jpg"]["error"]
    assert "no such file" in results["missing.tif"]["error"]
    assert "Traceback" not in proc.stderr
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["good.png", "good_colorized.png", "empty.jpg", "text.png", "cut.jpg"])


def test_pixel_limit_instead_of_a_decompression_bomb(tmp_path):
    big = tmp_path / "big.png"
    Image.new("L", (4000, 3000)).save(big)
    proc = run_cli(big, "--max-megapixels", "5")
    assert proc.returncode == 1
    assert "12 megapixels, over the limit of 5 (raise it with --max-megapixels)" in proc.stderr
    assert "DecompressionBomb" not in proc.stderr


def test_unwritable_output_folder(gray_file, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli(gray_file, gray_file, "-o", blocker / "sub")
    assert proc.returncode == 1 and "cannot create output folder" in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--strength", "-1"], "--strength must be a number from 0 to 4"),
        (["--quality", "0"], "--quality must be 1-100"),
        (["--png-compression", "12"], "--png-compression must be 0-9"),
        (["--model", "/nonexistent.tflite"], "model file not found"),
    ],
)
def test_usage_errors_exit_2(gray_file, args, message):
    proc = run_cli(gray_file, *args)
    assert proc.returncode == 2 and message in proc.stderr


def test_the_fast_model_by_name(gray_file, tmp_path):
    from colorize_core.model import Model

    proc = run_cli(gray_file, "-o", tmp_path / "fast.png", "--model", "fast", "--json", check=True)
    assert json.loads(proc.stdout)["model"] == Model("fast").card.name
    img = Image.open(tmp_path / "fast.png")
    assert img.size == (512, 512) and saturation(img) > 2
    proc = run_cli(gray_file, "--model", "fastest")
    assert proc.returncode == 2 and "shipped models, by name: default, fast" in proc.stderr


def test_empty_folder_is_a_usage_error(tmp_path):
    proc = run_cli(tmp_path)
    assert proc.returncode == 2 and "no photos found" in proc.stderr
    assert run_cli().returncode == 2  # no inputs at all


def test_colour_photo_warning_and_skip(tmp_path, coffee_rgb):
    src = tmp_path / "colour.jpg"
    coffee_rgb.save(src)
    proc = run_cli(src, check=True)
    assert "already in colour" in proc.stderr
    out = Image.open(tmp_path / "colour_colorized.jpg")
    assert np.abs(luma(out) - luma(Image.open(src))).mean() < 2.5
    skipped = run_cli(src, "--skip-color", "--overwrite", "--json", check=True)
    assert json.loads(skipped.stdout)["summary"]["skipped"] == 1


def test_quiet_prints_nothing_on_success(gray_file):
    proc = run_cli(gray_file, "--quiet", check=True)
    assert proc.stderr == "" and proc.stdout == ""


def test_messages_written_while_the_model_loads_are_not_swallowed():
    """The model loader points fd 2 at a temporary file to catch LiteRT's banner; the CLI's own
    messages written meanwhile (from the main thread) must wait and reach the real stderr."""
    import subprocess
    import sys

    code = (
        "import sys, threading, time\n"
        "from colorize_core.native_stderr import native_stderr_captured, serialized_stderr\n"
        "sys.stderr = serialized_stderr(sys.stderr)\n"
        "inside = threading.Event()\n"
        "def load():\n"
        "    with native_stderr_captured():\n"
        "        inside.set(); time.sleep(0.5)\n"
        "t = threading.Thread(target=load); t.start(); inside.wait()\n"
        "print('colorize-core: error: reported while loading', file=sys.stderr)\n"
        "t.join()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "reported while loading" in proc.stderr


def test_json_says_why_a_photo_was_skipped_as_a_field(gray_file, tmp_path, astronaut_rgb):
    """A skipped photo's `skip` field is what code reads; `reason` is the same in words."""
    colour = tmp_path / "colour.png"
    astronaut_rgb.save(colour)
    run_cli(gray_file, "-o", tmp_path / "out.png", check=True)
    report = json.loads(run_cli(gray_file, "-o", tmp_path / "out.png", "--json", check=True).stdout)
    assert [(r["status"], r["skip"]) for r in report["results"]] == [("skipped", "output exists")]
    report = json.loads(
        run_cli(colour, "-o", tmp_path / "c.png", "--skip-color", "--json", check=True).stdout
    )
    assert [(r["status"], r["skip"]) for r in report["results"]] == [("skipped", "in colour")]
