"""The GIMP 3 plug-in inside a real GIMP 3.0 (Debian 13 chroot), installed as the README says:
`pip install` into a venv, then `colorize-core gimp install`.

Needs root and debootstrap (see tests/gimp_chroot.py); skips with the reason otherwise.
The chroot is kept in /var/cache/colorize-gimp3-chroot (or $COLORIZE_GIMP_CHROOT), so a re-run
takes seconds. One headless GIMP run does every case (startup dominates), then each test checks
its case's pixels: colour appears, luminance is kept, alpha and unselected pixels are untouched,
and the layer holds exactly what colorize-core computes for it.

COLORIZE_TEST_CORE_SOURCE=/dir installs the core from another project directory (development
only: a stand-in that follows the bridge protocol); by default the real core of this checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import gimp_chroot as gc
import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    gc.unavailable_reason() is not None, reason=gc.unavailable_reason() or ""
)

HOME = "/home/colorize-test"
WORK = "/tmp/colorize-gimp-test"
SRC = "/opt/colorize-src"
PLUGIN_DIR = f"{HOME}/.config/GIMP/3.0/plug-ins/colorize_gimp"
VENV_CORE = f"{HOME}/.local/share/colorize-core/venv/bin/colorize-core"
GIMP_BATCH = [
    "gimp-console-3.0",
    "-i",
    "--no-splash",
    "--quit",
    "--batch-interpreter=python-fu-eval",
]
FAKE_MODES = ("error", "hang", "crash", "garbage", "noout")
HINT_DOT = [250, 205, 220, 20, 20, 7]  # x, y, r, g, b, radius: a red dot on the photo's green grass


# ---------------------------------------------------------------- photos the tests make


def _photo(h=240, w=320, seed=0):
    """A colour 'photo': sky gradient, a sun, a red roof, green grass, some texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    img[..., 0] = 90 + 60 * yy / h
    img[..., 1] = 140 + 50 * yy / h
    img[..., 2] = 230 - 30 * yy / h
    grass = yy > h * 0.62
    img[grass] = [60, 150, 50]
    roof = (yy > h * 0.35) & (yy < h * 0.5) & (np.abs(xx - w * 0.3) < (yy - h * 0.35) * 1.2)
    img[roof] = [180, 40, 30]
    wall = (yy >= h * 0.5) & (yy < h * 0.75) & (np.abs(xx - w * 0.3) < h * 0.15)
    img[wall] = [200, 190, 170]
    sun = (xx - w * 0.8) ** 2 + (yy - h * 0.2) ** 2 < (h * 0.08) ** 2
    img[sun] = [255, 230, 120]
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _gray(rgb):
    return np.rint(rgb[..., :3] @ np.array([0.299, 0.587, 0.114])).clip(0, 255).astype(np.uint8)


def _luma(a):
    a = a.astype(np.float64)
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


def _chroma(a):
    a = a[..., :3].astype(np.float64)
    return a.max(-1) - a.min(-1)


def _write_inputs(d: Path) -> dict:
    from PIL import Image

    d.mkdir(parents=True, exist_ok=True)
    photo = _photo()
    g = _gray(photo)
    files = {}
    Image.fromarray(np.dstack([g, g, g])).save(d / "gray_rgb.png")
    files["gray_rgb"] = "gray_rgb.png"
    Image.fromarray(photo).save(d / "rgb.png")
    files["rgb"] = "rgb.png"
    alpha = np.tile(np.linspace(0, 255, photo.shape[1]).astype(np.uint8), (photo.shape[0], 1))
    alpha[:20] = 0
    alpha[-20:] = 255
    Image.fromarray(np.dstack([g, g, g, alpha]), "RGBA").save(d / "alpha.png")
    files["alpha"] = "alpha.png"
    Image.fromarray(g, "L").save(d / "grayscale.png")
    files["grayscale"] = "grayscale.png"
    g16 = (g.astype(np.uint16) * 257 + np.random.default_rng(1).integers(0, 200, g.shape)).astype(
        np.uint16
    )
    Image.fromarray(g16.astype(np.int32), "I").convert("I;16").save(d / "gray16.png")
    files["gray16"] = "gray16.png"
    return files


def _load(path: Path):
    return np.load(path) if path.exists() else None


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def chroot():
    t0 = time.monotonic()
    try:
        gc.ensure_chroot()
    except Exception as e:  # network down, mirror unreachable, no mount permission, ...
        pytest.skip(f"cannot build the GIMP 3 chroot: {e}")
    probe = gc.run(["gimp-console-3.0", "--version"], timeout=120)
    if probe.returncode != 0:  # e.g. a container without CAP_SYS_ADMIN cannot unshare/mount
        pytest.skip(f"cannot run GIMP in the chroot: {probe.stderr.strip()[-300:]}")
    return time.monotonic() - t0


@pytest.fixture(scope="module")
def installed(chroot):
    """pip install into a venv, then `colorize-core gimp install`, inside the chroot, as a user
    would (re-runs are the upgrade path)."""
    src = gc.copy_repo(SRC)
    source = SRC
    alt = os.environ.get("COLORIZE_TEST_CORE_SOURCE")
    if alt:
        dst = gc.host_path("/opt/colorize-alt-core")
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(alt, dst, ignore=gc.IGNORE)
        source = "/opt/colorize-alt-core"
    venv = VENV_CORE.rsplit("/bin/", 1)[0]
    script = (
        f"set -e; [ -x {venv}/bin/python ] || python3 -m venv {venv}; "
        f"{venv}/bin/python -m pip install -q --disable-pip-version-check --upgrade {source}; "
        f"{VENV_CORE} gimp install"
    )
    t0 = time.monotonic()
    r = gc.run(["sh", "-c", script], env={"HOME": HOME}, timeout=900)
    took = time.monotonic() - t0
    assert r.returncode == 0, (
        f"the install failed in the chroot:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    )
    assert "self-test ok" in r.stdout and "installed" in r.stdout
    # stand-in cores for the error paths (stdlib only, run by the chroot's python3)
    fake = gc.host_path("/opt/colorize-fake")
    fake.mkdir(parents=True, exist_ok=True)
    for mode in FAKE_MODES:
        p = fake / f"fake-core-{mode}"
        p.write_text(
            f"#!/bin/sh\nexec python3 {src}/tests/gimp_fake_core.py \"$@\"\n".replace(
                "exec python3",
                f"FAKE_CORE_MODE={mode} FAKE_CORE_PIDFILE=/tmp/fake-core-{mode}.pid exec python3",
            )
        )
        p.chmod(0o755)
    return {"stdout": r.stdout, "seconds": took}


def _cases(files):
    c = lambda name, f, **kw: dict(name=name, file=f"{WORK}/in/{files[f]}", **kw)  # noqa: E731
    return [
        c("gray_rgb", "gray_rgb"),
        c("rgb", "rgb"),
        c("alpha", "alpha"),
        c("grayscale", "grayscale"),
        c("gray16", "gray16"),
        c("offset", "gray_rgb", offset=[40, 25]),
        c("selection", "gray_rgb", select=[60, 40, 150, 120]),
        c("feather", "gray_rgb", select=[60, 40, 150, 120], feather=30),
        c("strength0", "gray_rgb", args={"strength": 0.0}),
        c("hints", "gray_rgb", hints={"dots": [HINT_DOT]}),
        c("hints_new_layer", "gray_rgb", hints={"dots": [HINT_DOT]}, args={"output": "new-layer"}),
        c("new_layer_grayscale", "grayscale", args={"output": "new-layer"}),
        c("err_missing", "grayscale", core="/nonexistent/bin/colorize-core"),
        c("err_error", "grayscale", core="/opt/colorize-fake/fake-core-error"),
        c("err_hang", "grayscale", core="/opt/colorize-fake/fake-core-hang", args={"timeout": 3}),
        c("err_crash", "grayscale", core="/opt/colorize-fake/fake-core-crash"),
        c("err_garbage", "grayscale", core="/opt/colorize-fake/fake-core-garbage"),
        c("err_noout", "grayscale", core="/opt/colorize-fake/fake-core-noout"),
        c("err_hints_gray", "grayscale", hints={"dots": [HINT_DOT]}),
    ]


@pytest.fixture(scope="module")
def batch(installed):
    work = gc.host_path(WORK)
    shutil.rmtree(work, ignore_errors=True)
    files = _write_inputs(work / "in")
    (work / "out").mkdir()
    job = {"plugin_dir": PLUGIN_DIR, "out_dir": f"{WORK}/out", "cases": _cases(files)}
    (work / "job.json").write_text(json.dumps(job))
    for folder in _resident_folders():  # a previous run's
        shutil.rmtree(folder)
    t0 = time.monotonic()
    r = gc.run(
        GIMP_BATCH + ["-b", f'exec(open("{SRC}/tests/gimp_batch_runner.py").read())'],
        env={"HOME": HOME, "COLORIZE_BATCH_JOB": f"{WORK}/job.json"},
        timeout=300,
    )
    took = time.monotonic() - t0
    assert r.returncode == 0, (
        f"GIMP batch failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    )
    results = {c["name"]: c for c in json.loads((work / "out/results.json").read_text())}
    for name, res in results.items():
        assert "exception" not in res, f"{name}: {res['exception']}"
    # What the core itself makes of each layer (the plug-in must deliver exactly that).
    ok_cases = [n for n in results if not n.startswith("err_")]
    script = "; ".join(
        f"{VENV_CORE} bridge {WORK}/out/{n}.before.npy {WORK}/out/{n}.ref.npy"
        + (" --strength 0" if n == "strength0" else "")
        + (f" --hints {WORK}/out/{n}.hints.before.npy" if n.startswith("hints") else "")
        for n in ok_cases
    )
    rr = gc.run(["sh", "-ec", script], env={"HOME": HOME}, timeout=300)
    assert rr.returncode == 0, rr.stderr[-3000:]
    return {"results": results, "dir": work / "out", "seconds": took, "stderr": r.stderr}


def _resident_folders() -> list[Path]:
    """The chroot's folders of resident-core sockets (no XDG_RUNTIME_DIR: /tmp/colorize-UID)."""
    return list(gc.host_path("/tmp").glob("colorize-[0-9]*"))


def _arrays(batch, name):
    d = batch["dir"]
    return (
        np.load(d / f"{name}.before.npy"),
        np.load(d / f"{name}.after.npy"),
        _load(d / f"{name}.ref.npy"),
        _load(d / f"{name}.mask.npy"),
    )


def _assert_colorized(batch, name, *, check_colour=True):
    res = batch["results"][name]
    assert res["status"] == "success", res
    before, after, ref, _ = _arrays(batch, name)
    scale = 257.0 if after.dtype == np.uint16 else 1.0
    # the layer holds what colorize-core computes for it (tolerance: rounding, thread order)
    diff = np.abs(after.astype(np.int32) - ref.astype(np.int32))
    assert diff.max() <= 2 * scale, (
        f"{name}: plug-in result differs from the core's by {diff.max()}"
    )
    # luminance kept, alpha exact
    dy = np.abs(_luma(after) - _luma(before)) / scale
    assert dy.mean() < 2.0, f"{name}: luminance moved by {dy.mean():.2f} levels on average"
    np.testing.assert_array_equal(after[..., 3], before[..., 3])
    if check_colour:
        assert _chroma(before).mean() / scale < 1.0 or name == "rgb"
        assert _chroma(after).mean() / scale > 1.0, f"{name}: no colour appeared"
    return before, after


# ---------------------------------------------------------------- the tests


def test_install_in_chroot_wrote_plugin_and_config(installed):
    d = gc.host_path(PLUGIN_DIR)
    assert os.access(d / "colorize_gimp.py", os.X_OK)
    cfg = json.loads((d / "colorize-core.json").read_text())
    assert cfg["core"] == VENV_CORE and cfg["written_by"] == "colorize-core gimp install"
    assert str(d / "colorize_gimp.py") in [str(gc.host_path(f)) for f in cfg["files"]]


def test_the_resident_core_served_and_ended_with_gimp(batch):
    """The first run started colorize-core bridge-server; every case's layer holds exactly what a
    fresh core computes (the other tests); once GIMP has quit, the server has gone too."""
    locks = [lock for f in _resident_folders() for lock in f.glob("core-*.sock.lock")]
    assert len(locks) == 1
    deadline = time.monotonic() + 15
    while locks[0].read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert locks[0].read_text() == "", "the resident core outlived its GIMP"
    assert not list(locks[0].parent.glob("*.sock"))


def test_gray_photo(batch):
    _assert_colorized(batch, "gray_rgb")


def test_rgb_photo_is_recolorized_from_luminance(batch):
    _assert_colorized(batch, "rgb")


def test_alpha_untouched(batch):
    before, after = _assert_colorized(batch, "alpha")
    assert before[..., 3].min() == 0 and before[..., 3].max() == 255


def test_grayscale_mode_image_becomes_rgb(batch):
    res = batch["results"]["grayscale"]
    assert res["base_type_before"] == "gray" and res["base_type_after"] == "rgb"
    _assert_colorized(batch, "grayscale")


def test_high_bit_depth(batch):
    res = batch["results"]["gray16"]
    assert "u16" in res["precision"], res
    before, after = _assert_colorized(batch, "gray16")
    assert after.dtype == np.uint16
    assert len(np.unique(after[..., 0] % 257)) > 1  # not squeezed through 8 bits


def test_layer_with_offset_smaller_than_canvas(batch):
    res = batch["results"]["offset"]
    assert res["offsets"] == [40, 25] and res["size"] == [320, 240]
    _assert_colorized(batch, "offset")


def test_selection_changes_only_selected_pixels(batch):
    res = batch["results"]["selection"]
    assert res["status"] == "success", res
    before, after, ref, mask = _arrays(batch, "selection")
    inside, outside = mask == 255, mask == 0
    assert inside.sum() > 1000 and outside.sum() > 1000
    np.testing.assert_array_equal(after[outside], before[outside])
    # inside: exactly the core's colours, computed on the WHOLE layer (context)
    assert np.abs(after[inside].astype(int) - ref[inside].astype(int)).max() <= 2
    assert _chroma(after[inside]).mean() > 1.0


def test_feathered_selection_blends(batch):
    res = batch["results"]["feather"]
    assert res["status"] == "success", res
    before, after, ref, mask = _arrays(batch, "feather")
    partial = (mask > 30) & (mask < 225)
    assert partial.sum() > 500
    np.testing.assert_array_equal(after[mask == 0], before[mask == 0])
    lo = np.minimum(before, ref).astype(int) - 2
    hi = np.maximum(before, ref).astype(int) + 2
    sel = after[partial].astype(int)
    assert ((sel >= lo[partial]) & (sel <= hi[partial])).all()
    # blended: strictly less colour at the edge than in the core's result there
    assert _chroma(after[partial]).mean() < _chroma(ref[partial]).mean()


def test_strength_zero_keeps_it_gray(batch):
    res = batch["results"]["strength0"]
    assert res["status"] == "success", res
    _before, after, _ref, _ = _arrays(batch, "strength0")
    assert _chroma(after).mean() < 1.0


def _uv(a):
    """Mean (u, v) of R'G'B'(A) pixels, BT.601, in [-1, 1]."""
    from colorize_core.color import rgb_to_yuv

    return rgb_to_yuv(a[..., :3].reshape(-1, 3).astype(np.float32) / 255.0)[:, 1:].mean(0)


def test_a_red_dot_on_the_hints_layer_makes_its_region_red(batch):
    """The hinted region turns red, a far region keeps the colour it gets without hints, the
    luminance is the photo's, and the hints layer is only read."""
    res = batch["results"]["hints"]
    assert res["status"] == "success", res
    before, after, ref, _ = _arrays(batch, "hints")
    assert batch["results"]["gray_rgb"]["status"] == "success"
    _, plain, _, _ = _arrays(batch, "gray_rgb")  # the same photo, the same model, no hints
    x, y = HINT_DOT[:2]
    near = (slice(y - 12, y + 13), slice(x - 12, x + 13))
    red_uv = _uv(np.array([[HINT_DOT[2:5]]], np.uint8))
    got = _uv(after[near])
    cos = float(np.dot(got, red_uv) / (np.linalg.norm(got) * np.linalg.norm(red_uv)))
    assert cos > 0.9 and np.linalg.norm(got) > 0.3 * np.linalg.norm(red_uv), (got, red_uv)
    assert np.dot(_uv(plain[near]), red_uv) < 0.5 * np.dot(got, red_uv)  # red because of the hint
    far = (slice(0, 40), slice(0, 60))  # the sky, top left
    assert np.abs(_uv(after[far]) - _uv(plain[far])).max() < 0.03
    assert np.abs(_luma(after) - _luma(before)).mean() < 2.0
    # what the core computes with the hints
    assert np.abs(after.astype(int) - ref.astype(int)).max() <= 2
    d = batch["dir"]
    np.testing.assert_array_equal(
        np.load(d / "hints.hints.after.npy"), np.load(d / "hints.hints.before.npy")
    )


def test_new_layer_output_leaves_the_original_untouched(batch):
    res = batch["results"]["hints_new_layer"]
    assert res["status"] == "success", res
    before, after, ref, _ = _arrays(batch, "hints_new_layer")
    np.testing.assert_array_equal(after, before)  # the original layer, bit for bit
    names = [n for n, _ in res["layers"]]
    assert names == ["Colour hints", "Background (colour)", "Background"], res["layers"]
    assert dict(res["layers"])["Background (colour)"] == "lch-color"
    new = np.load(batch["dir"] / "hints_new_layer.new.npy")
    assert np.abs(new.astype(int) - ref.astype(int)).max() <= 2  # the colour is the core's result
    d = batch["dir"]
    np.testing.assert_array_equal(
        np.load(d / "hints_new_layer.hints.after.npy"),
        np.load(d / "hints_new_layer.hints.before.npy"),
    )


def test_new_layer_output_on_a_grayscale_image(batch):
    """A Grayscale-mode image becomes RGB (a colour layer needs it);
    its photo layer keeps its pixels."""
    res = batch["results"]["new_layer_grayscale"]
    assert res["status"] == "success", res
    assert res["base_type_before"] == "gray" and res["base_type_after"] == "rgb"
    before, after, ref, _ = _arrays(batch, "new_layer_grayscale")
    np.testing.assert_array_equal(after, before)
    assert [m for _, m in res["layers"]] == ["lch-color", "normal"]
    new = np.load(batch["dir"] / "new_layer_grayscale.new.npy")
    assert np.abs(new.astype(int) - ref.astype(int)).max() <= 2 and _chroma(new).mean() > 1.0


@pytest.mark.parametrize(
    "case, words",
    [
        ("err_missing", ["missing", "colorize-core gimp install"]),
        ("err_error", ["the model file is corrupt"]),
        ("err_hang", ["did not finish within 3 s", "stopped"]),
        ("err_crash", ["crashed", "SIGSEGV"]),
        ("err_garbage", ["expected"]),
        ("err_noout", ["wrote no output"]),
        ("err_hints_gray", ["grayscale mode", "Image > Mode > RGB"]),
    ],
)
def test_failures_leave_the_layer_untouched_and_say_what_to_do(batch, case, words):
    res = batch["results"][case]
    assert res["status"] == "execution-error", res
    assert res["error"] and all(w in res["error"] for w in words), res["error"]
    assert res["base_type_after"] == "gray"  # not even converted to RGB
    before, after, _, _ = _arrays(batch, case)
    np.testing.assert_array_equal(after, before)


def test_hung_helper_is_killed(batch):
    pidfile = gc.host_path("/tmp/fake-core-hang.pid")
    assert pidfile.exists()
    pid = int(pidfile.read_text())
    assert (
        not Path(f"/proc/{pid}").exists() or "fake" not in Path(f"/proc/{pid}/cmdline").read_text()
    )
    assert batch["results"]["err_hang"]["seconds"][0] < 30


def test_check_procedure(installed):
    r = gc.run(
        GIMP_BATCH
        + [
            "-b",
            "from gi.repository import Gimp; p = Gimp.get_pdb().lookup_procedure("
            "'plug-in-colorize-check'); c = p.create_config(); "
            "c.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE); "
            "r = p.run(c); assert r.index(0) == Gimp.PDBStatusType.SUCCESS, r.index(1); "
            "a = Gimp.get_pdb().lookup_procedure('plug-in-colorize-auto'); "
            "assert a.get_menu_paths() == ['<Image>/Filters/Colorize'], a.get_menu_paths(); "
            "assert a.get_menu_label() == 'Auto Colorize (Deep Learning)...', a.get_menu_label(); "
            "assert a.get_image_types() == 'RGB*, GRAY*'",
        ],
        env={"HOME": HOME},
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Colorize is ready" in r.stderr


# ---------------------------------------------------------------- the real GUI


def _read_xwd(path: Path) -> np.ndarray:
    """An xwd screenshot (ZPixmap, 32 bits per pixel, as Xvfb -screen WxHx24 makes) -> RGB array."""
    import struct

    b = path.read_bytes()
    f = struct.unpack(">25I", b[:100])
    header_size, width, height, byte_order, bytes_per_line, ncolors = (
        f[0],
        f[4],
        f[5],
        f[7],
        f[12],
        f[19],
    )
    off = header_size + ncolors * 12
    a = np.frombuffer(b[off : off + bytes_per_line * height], np.uint8).reshape(
        height, bytes_per_line
    )
    a = a[:, : width * 4].reshape(height, width, 4)
    return np.ascontiguousarray(a[..., [2, 1, 0]] if byte_order == 0 else a[..., [1, 2, 3]])


def _gui_photo(path: Path):
    from PIL import Image

    try:
        from skimage import data

        g = Image.fromarray(data.astronaut()).convert("L").resize((400, 400), Image.LANCZOS)
    except ImportError:
        g = Image.fromarray(_gray(_photo(300, 400)), "L")
    g.save(path)


def _save_pair(left: np.ndarray, right: np.ndarray, target: str | None) -> None:
    """Two screenshots side by side, for the docs (only when a target path is given)."""
    if not target:
        return
    from PIL import Image

    sheet = Image.new("RGB", (768 * 2 + 8, 480), (255, 255, 255))
    for i, shot in enumerate((left, right)):
        sheet.paste(Image.fromarray(shot).resize((768, 480), Image.LANCZOS), (i * 776, 0))
    sheet.save(target, optimize=True)


def test_gui_menu_run_and_undo(installed):
    """Filters > Colorize > Auto Colorize in the real GIMP window: colour appears, Ctrl+Z restores.

    Set COLORIZE_GUI_SCREENSHOT=docs/gimp-screenshot.png to refresh the docs' screenshot.
    """
    gui_in = gc.host_path("/tmp/colorize-gui-in")
    shutil.rmtree(gui_in, ignore_errors=True)
    gui_in.mkdir(parents=True)
    _gui_photo(gui_in / "old-photo.png")
    out = "/tmp/colorize-gui-out"
    shutil.copy2(
        gc.REPO / "tests/gimp_gui_runner.sh", gc.host_path(SRC) / "tests/gimp_gui_runner.sh"
    )
    r = gc.run(
        ["sh", f"{SRC}/tests/gimp_gui_runner.sh", "/tmp/colorize-gui-in/old-photo.png", out],
        env={"HOME": HOME},
        timeout=240,
    )
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    shots = {
        n: _read_xwd(gc.host_path(out) / f"{n}.xwd")
        for n in ("before", "menu", "dialog", "after", "undo")
    }
    gained = _chroma(shots["after"]) - _chroma(shots["before"]) > 6
    ys, xs = np.nonzero(gained)
    assert len(ys) > 20000, (
        f"no colour appeared on screen ({len(ys)} pixels gained colour)\n{r.stdout}"
    )
    y0, y1, x0, x1 = (
        np.percentile(ys, 1),
        np.percentile(ys, 99),
        np.percentile(xs, 1),
        np.percentile(xs, 99),
    )
    assert (y1 - y0) > 150 and (x1 - x0) > 150, "the coloured area is not the photo"
    box = (slice(int(y0), int(y1)), slice(int(x0), int(x1)))
    assert _chroma(shots["before"][box]).mean() < 2  # a black-and-white photo on screen
    assert _chroma(shots["after"][box]).mean() > 5
    # one Ctrl+Z: the photo is back as it was
    diff = np.abs(shots["undo"][box].astype(int) - shots["before"][box].astype(int))
    assert diff.mean() < 1.0, (
        f"Ctrl+Z did not restore the photo (mean difference {diff.mean():.2f})"
    )
    # the dialog was shown (the screen changed between the menu and the dialog)
    assert np.abs(shots["dialog"].astype(int) - shots["menu"].astype(int)).mean() > 1
    _save_pair(shots["menu"], shots["after"], os.environ.get("COLORIZE_GUI_SCREENSHOT"))


GUI_HINT_DOTS = [[75, 260, 40, 80, 200, 8], [245, 272, 40, 80, 200, 8], [120, 345, 40, 80, 200, 8]]
LAST_VALUES = (
    f"{HOME}/.config/GIMP/3.0/plug-in-settings/GimpProcedureConfigRun-plug-in-colorize-auto.last"
)


def _hints_xcf(png: str, xcf: str) -> None:
    """An .xcf of the photo (in RGB mode, so a layer can hold colour) with a "Colour hints" layer of
    blue dots on top, the photo's layer active (made by GIMP itself, as a user would save it)."""
    job = gc.host_path("/tmp/colorize-gui-in/xcf-job.json")
    job.write_text(
        json.dumps({"plugin_dir": PLUGIN_DIR, "out_dir": "/tmp/colorize-gui-in", "cases": []})
    )
    script = (
        f'exec(open("{SRC}/tests/gimp_batch_runner.py").read()); '
        f'image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path("{png}")); '
        'image.convert_rgb(); photo = image.get_layers()[0]; '
        f'add_hints_layer(image, photo, {GUI_HINT_DOTS}); '
        'image.set_selected_layers([photo]); '
        f'Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path("{xcf}"), None)'
    )
    r = gc.run(
        GIMP_BATCH + ["-b", script],
        env={"HOME": HOME, "COLORIZE_BATCH_JOB": "/tmp/colorize-gui-in/xcf-job.json"},
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]


def test_gui_hints_layer_new_colour_layer_and_one_undo(installed):
    """In the real GIMP window: a photo with a "Colour hints" layer of blue dots on the suit; the
    dialog picks that layer by itself, the output is "new colour layer" (the dialog's remembered
    value); the dotted region turns blue, and one Ctrl+Z brings back the image as it was.

    Set COLORIZE_GUI_SCREENSHOT_HINTS=docs/gimp-hints.png to refresh the docs' screenshot pair.
    """
    gui_in = gc.host_path("/tmp/colorize-gui-in")
    shutil.rmtree(gui_in, ignore_errors=True)
    gui_in.mkdir(parents=True)
    _gui_photo(gui_in / "old-photo.png")
    _hints_xcf("/tmp/colorize-gui-in/old-photo.png", "/tmp/colorize-gui-in/hinted-photo.xcf")
    last = gc.host_path(LAST_VALUES)
    last.parent.mkdir(parents=True, exist_ok=True)
    last.write_text('(strength 1)\n(model "")\n(threads 0)\n(timeout 0)\n(output "new-layer")\n')
    out = "/tmp/colorize-gui-hints-out"
    shutil.copy2(
        gc.REPO / "tests/gimp_gui_runner.sh", gc.host_path(SRC) / "tests/gimp_gui_runner.sh"
    )
    try:
        r = gc.run(
            ["sh", f"{SRC}/tests/gimp_gui_runner.sh", "/tmp/colorize-gui-in/hinted-photo.xcf", out],
            env={"HOME": HOME},
            timeout=240,
        )
    finally:
        last.unlink(missing_ok=True)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    shots = {
        n: _read_xwd(gc.host_path(out) / f"{n}.xwd") for n in ("before", "dialog", "after", "undo")
    }
    before, after = shots["before"].astype(int), shots["after"].astype(int)
    changed = np.abs(after - before).sum(-1) > 20
    ys, xs = np.nonzero(changed)
    assert len(ys) > 20000, f"no colour appeared on screen\n{r.stdout}"
    box = (
        slice(int(np.percentile(ys, 1)), int(np.percentile(ys, 99))),
        slice(int(np.percentile(xs, 1)), int(np.percentile(xs, 99))),
    )
    # the canvas shows the photo at some zoom: find the blue dots on it and look around them
    dots = (before[..., 2] - before[..., 0] > 100) & (before[..., 2] > 150)
    assert dots[box].sum() > 50, "the hint dots are not on screen"
    dy, dx = np.nonzero(dots)
    ring = np.zeros(dots.shape, bool)
    for y, x in zip(dy[::25], dx[::25], strict=True):
        ring[max(0, y - 30) : y + 30, max(0, x - 30) : x + 30] = True
    ring &= ~dots & changed
    assert ring.sum() > 500
    blue = (after[ring][:, 2] - after[ring][:, 0]).mean()
    assert blue > 15, f"the hinted region is not blue (B - R = {blue:.1f})"
    diff = np.abs(shots["undo"][box].astype(int) - shots["before"][box].astype(int))
    assert diff.mean() < 1.0, (
        f"Ctrl+Z did not restore the image (mean difference {diff.mean():.2f})"
    )
    _save_pair(shots["before"], shots["after"], os.environ.get("COLORIZE_GUI_SCREENSHOT_HINTS"))
