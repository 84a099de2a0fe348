"""The raw-pixel bridge the GIMP plug-in uses, driven as the plug-in drives it: a subprocess."""

import json
import struct

import numpy as np
import pytest
from conftest import run_cli


def write_npy_stdlib(path, raw: bytes, shape, descr: str) -> None:
    """Write .npy the way the plug-in does, with the standard library only."""
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d, %d), }" % (
        (descr,) + tuple(shape)
    )
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    path.write_bytes(
        b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + raw
    )


@pytest.fixture
def gray_rgba(gray_photo):
    g = np.asarray(gray_photo)
    alpha = np.tile(np.linspace(0, 255, g.shape[1]).astype(np.uint8), (g.shape[0], 1))
    return np.stack([g, g, g, alpha], axis=-1)


def test_bridge_u8_rgba_keeps_alpha_and_luminance(tmp_path, gray_rgba):
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    write_npy_stdlib(src, gray_rgba.tobytes(), gray_rgba.shape, "|u1")
    proc = run_cli("bridge", src, dst, "--progress", check=True)
    fractions = [
        float(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("progress ")
    ]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    out = np.load(dst)
    assert out.shape == gray_rgba.shape and out.dtype == np.uint8
    assert np.array_equal(out[..., 3], gray_rgba[..., 3])
    y = 0.299 * out[..., 0] + 0.587 * out[..., 1] + 0.114 * out[..., 2]
    assert np.abs(y - gray_rgba[..., 0]).mean() < 1.5
    assert np.abs(out[..., 0].astype(int) - out[..., 2]).mean() > 2  # colour appeared


def test_bridge_u16_rgb(tmp_path, gray_rgba):
    rgb16 = gray_rgba[..., :3].astype(np.uint16) * 257
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    write_npy_stdlib(src, rgb16.astype("<u2").tobytes(), rgb16.shape, "<u2")
    run_cli("bridge", src, dst, check=True)
    out = np.load(dst)
    assert out.dtype == np.uint16 and out.shape == rgb16.shape
    y = 0.299 * out[..., 0] + 0.587 * out[..., 1] + 0.114 * out[..., 2]
    assert np.abs(y - rgb16[..., 0]).mean() < 1.5 * 257


def test_bridge_check_reports_model():
    info = json.loads(run_cli("bridge", "--check", check=True).stdout)
    assert info["model"] and info["version"]
    # the GIMP dialog's Model field passes what the user typed: a shipped model's name works
    from colorize_core.model import Model

    fast = json.loads(run_cli("bridge", "--check", "--model", "fast", check=True).stdout)
    assert fast["model"] == Model("fast").card.name != info["model"]


@pytest.mark.parametrize(
    "content, message", [(None, "no such file"), (b"garbage", "not a valid .npy pixel file")]
)
def test_bridge_errors_leave_no_output(tmp_path, content, message):
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    if content is not None:
        src.write_bytes(content)
    proc = run_cli("bridge", src, dst)
    assert proc.returncode == 1
    assert (
        proc.stderr.strip().splitlines()[-1].startswith("colorize-core: error:")
        and message in proc.stderr
    )
    assert not dst.exists()


@pytest.mark.parametrize("empty", ["input", "hints"])
def test_bridge_says_a_zero_byte_hand_over_is_empty(tmp_path, gray_rgba, empty):
    """What a hand-over on a full disk leaves: a file of 0 bytes."""
    src, hints, dst = tmp_path / "in.npy", tmp_path / "hints.npy", tmp_path / "out.npy"
    np.save(src, gray_rgba)
    (src if empty == "input" else hints).write_bytes(b"")
    # hints need the default model; an empty input is found before any model loads
    proc = run_cli(
        "bridge", src, dst, *(["--hints", hints] if empty == "hints" else ["--model", "fast"])
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("colorize-core: error:")
    assert f"{src if empty == 'input' else hints}: empty file (0 bytes)" in proc.stderr
    assert not dst.exists()


def test_bridge_rejects_wrong_shapes(tmp_path):
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, np.zeros((8, 8, 2), np.uint8))
    proc = run_cli("bridge", src, dst)
    assert (
        proc.returncode == 1
        and "expected uint8 or uint16 pixels of shape (H, W, 3|4)" in proc.stderr
    )
    assert not dst.exists()


def test_bridge_bad_model_exit_2(tmp_path, gray_rgba):
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, gray_rgba)
    proc = run_cli("bridge", src, dst, "--model", tmp_path / "none.tflite")
    assert proc.returncode == 2 and "model file not found" in proc.stderr


@pytest.mark.parametrize("kind", ["u8-rgb", "u8-rgba", "u16-rgb"])
def test_rows_are_written_in_place_as_they_are_made(tmp_path, gray_rgba, kind):
    """--rows: `rows N` lines, increasing to the height, and an output identical to the atomic
    one (8-bit RGB comes in bands of color.STREAM_ROWS, the rest at once)."""
    from colorize_core.color import STREAM_ROWS

    tall = np.concatenate([gray_rgba, gray_rgba[::-1]])  # 1024 rows: several bands
    pixels = {
        "u8-rgb": tall[..., :3],
        "u8-rgba": tall,
        "u16-rgb": tall[..., :3].astype("<u2") * 257,
    }[kind]
    src = tmp_path / "in.npy"
    np.save(src, np.ascontiguousarray(pixels))
    whole = tmp_path / "whole.npy"
    run_cli("bridge", src, whole, check=True)
    rows = tmp_path / "rows.npy"
    proc = run_cli("bridge", src, rows, "--rows", check=True)
    said = [int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("rows ")]
    assert said == sorted(said) and said[-1] == len(tall)
    assert len(said) == (-(-len(tall) // STREAM_ROWS) if kind == "u8-rgb" else 1)
    assert rows.read_bytes() == whole.read_bytes()
