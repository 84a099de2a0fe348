"""The GIMP 2.10 plug-in (gimpfu, Python 2.7) against a stand-in gimpfu under a real Python 2.7,
and the bridge code both plug-ins share (colorize_core/gimp_plugin/colorize_bridge.py),
under this Python.

A real GIMP 2.10 with Python-Fu cannot run on any current Debian (see docs/gimp.md), so this is
as far as it can be tested here: the plug-in file and the shared bridge, installed in the 2.10
layout, run under Python 2.7 with tests/gimp210_standin/gimpfu.py; the core is the real
colorize-core of this environment (or, failing that, the stand-in tests/gimp_fake_core.py).
Skips when no Python 2.7 is found ($COLORIZE_PY27, python2.7 on PATH, ~/.pyenv/versions/2.7*).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import stop_resident_servers

REPO = Path(__file__).resolve().parent.parent
STANDIN = Path(__file__).resolve().parent / "gimp210_standin"
FAKE_CORE = Path(__file__).resolve().parent / "gimp_fake_core.py"
PLUGIN_SOURCES = REPO / "colorize_core" / "gimp_plugin"


def _python27():
    cands = [os.environ.get("COLORIZE_PY27")]
    cands += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/2.7*/bin/python2.7")))
    cands += [shutil.which("python2.7"), shutil.which("python2")]
    for c in cands:
        if not c or not os.path.exists(c):
            continue
        try:  # pyenv shims exist on PATH even when they cannot run 2.7
            r = subprocess.run(
                [c, "-c", "import sys; print(sys.version_info[:2] == (2, 7))"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except OSError:
            continue
        if r.stdout.strip() == "True":
            return c
    return None


PY27 = _python27()
needs_py27 = pytest.mark.skipif(
    PY27 is None,
    reason="no Python 2.7 here (set COLORIZE_PY27): the GIMP 2.10 plug-in cannot be exercised",
)


def _core():
    """The real colorize-core beside this Python (the test venv), else on PATH, else None."""
    c = Path(sys.executable).parent / "colorize-core"
    if c.exists():
        return str(c)
    return shutil.which("colorize-core")


@pytest.fixture(scope="module")
def plugins(tmp_path_factory):
    """The 2.10 layout that install.sh makes:
    plug-ins/colorize_gimp210.py + colorize_gimp210_lib/."""
    d = tmp_path_factory.mktemp("plug-ins")
    lib = d / "colorize_gimp210_lib"
    lib.mkdir()
    shutil.copy2(PLUGIN_SOURCES / "gimp210/colorize_gimp210.py", d)
    shutil.copy2(PLUGIN_SOURCES / "colorize_bridge.py", lib)
    core = _core()
    if core is None:  # no core installed here: a protocol-following stand-in
        wrapper = d.parent / "fake-core-ok"
        wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_CORE} \"$@\"\n")
        wrapper.chmod(0o755)
        core = str(wrapper)
    (lib / "colorize-core.json").write_text(json.dumps({"core": core}))
    err = d.parent / "fake-core-error"
    err.write_text(f"#!/bin/sh\nFAKE_CORE_MODE=error exec {sys.executable} {FAKE_CORE} \"$@\"\n")
    err.chmod(0o755)
    RUNTIME.mkdir(mode=0o700)
    yield d
    stop_resident_servers(RUNTIME)
    shutil.rmtree(RUNTIME)


# the stand-in's XDG_RUNTIME_DIR: the plug-in runs on a resident core there, as in a GIMP (a short
# path: a socket's holds 100-odd bytes)
RUNTIME = Path(tempfile.gettempdir()) / f"colorize-run27-{os.getpid()}"


def _gray_rgb(h=36, w=48):
    yy, xx = np.mgrid[0:h, 0:w]
    g = (40 + xx * 3 + yy * 2 + (xx // 8 % 2) * 30).clip(0, 255).astype(np.uint8)
    return g


def _run(
    plugins,
    tmp_path,
    pixels,
    bpp,
    *,
    selection=None,
    offsets=(0, 0),
    image_size=None,
    args=None,
    env=None,
    hints=None,
    hints_offsets=(0, 0),
    hints_name="Colour hints",
):
    h, w = pixels.shape[:2]
    iw, ih = image_size or (w, h)
    (tmp_path / "in.raw").write_bytes(pixels.tobytes())
    case = {
        "in": str(tmp_path / "in.raw"),
        "out": str(tmp_path / "out.raw"),
        "result": str(tmp_path / "result.json"),
        "w": w,
        "h": h,
        "bpp": bpp,
        "image_w": iw,
        "image_h": ih,
        "offsets": list(offsets),
        "args": args or [1.0, "", 0, 0],
    }
    if hints is not None:  # (h, w, 4) u8 RGBA, a layer of its own at hints_offsets
        (tmp_path / "hints.raw").write_bytes(hints.tobytes())
        case["hints"] = {
            "in": str(tmp_path / "hints.raw"),
            "w": hints.shape[1],
            "h": hints.shape[0],
            "bpp": hints.shape[2],
            "offsets": list(hints_offsets),
            "name": hints_name,
        }
    if selection is not None:
        (tmp_path / "sel.raw").write_bytes(selection.astype(np.uint8).tobytes())
        case["selection"] = str(tmp_path / "sel.raw")
    (tmp_path / "case.json").write_text(json.dumps(case))
    e = {k: v for k, v in os.environ.items() if not k.startswith("COLORIZE_")}
    e["XDG_RUNTIME_DIR"] = str(RUNTIME)
    e.update(env or {})
    r = subprocess.run(
        [PY27, str(STANDIN / "run_case.py"), str(plugins), str(tmp_path / "case.json")],
        capture_output=True,
        text=True,
        timeout=300,
        env=e,
    )
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "result.json").read_text())
    out = np.frombuffer((tmp_path / "out.raw").read_bytes(), np.uint8).reshape(h, w, res["bpp"])
    return res, out


def _chroma(a):
    a = a[..., :3].astype(int)
    return a.max(-1) - a.min(-1)


def _luma(a):
    a = a.astype(float)
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


@needs_py27
def test_runs_under_python27_and_registers_the_menu(plugins, tmp_path):
    g = _gray_rgb()
    res, out = _run(plugins, tmp_path, np.dstack([g, g, g]), 3)
    assert res["python"].startswith("2.7")
    assert res["registered"]["menu"] == "<Image>/Filters/Colorize"
    assert res["registered"]["imagetypes"] == "RGB*, GRAY*"
    assert res["status"] == "success", res
    assert res["undo_groups"] == ["start", "end"]
    assert _chroma(out).mean() > 1.0
    assert np.abs(_luma(out) - g).mean() < 2.0
    assert res["progress"][-1] == 1.0


@needs_py27
def test_python27_runs_use_the_resident_core_and_match_a_fresh_one(plugins, tmp_path):
    g = _gray_rgb()
    px = np.dstack([g, g, g, np.full_like(g, 200)])
    _, served = _run(plugins, tmp_path, px, 4)
    locks = [p for p in RUNTIME.glob("colorize/*.sock.lock") if p.read_text().strip()]
    if _core() is not None:  # the real core serves; the stand-in core has no bridge-server
        assert len(locks) == 1
    _, fresh = _run(plugins, tmp_path, px, 4, env={"COLORIZE_RESIDENT": "0"})
    assert np.array_equal(served, fresh)


@needs_py27
def test_grayscale_image_with_alpha_is_converted_inside_the_undo_group(plugins, tmp_path):
    g = _gray_rgb()
    a = np.tile(np.arange(g.shape[1], dtype=np.uint8) * 5, (g.shape[0], 1))
    res, out = _run(plugins, tmp_path, np.dstack([g, a]), 2)
    assert res["status"] == "success", res
    assert res["base_type"] == 0 and res["bpp"] == 4  # now RGB with alpha
    np.testing.assert_array_equal(out[..., 3], a)
    assert _chroma(out).mean() > 1.0


@needs_py27
def test_selection_and_offsets(plugins, tmp_path):
    g = _gray_rgb()
    h, w = g.shape
    sel = np.zeros((h + 10, w + 20), np.uint8)  # image coordinates; the layer sits at (5, 4)
    sel[10:30, 15:45] = 255
    res, out = _run(
        plugins,
        tmp_path,
        np.dstack([g, g, g]),
        3,
        selection=sel,
        offsets=(5, 4),
        image_size=(w + 20, h + 10),
    )
    assert res["status"] == "success", res
    layer_sel = sel[4 : 4 + h, 5 : 5 + w]
    outside = layer_sel == 0
    np.testing.assert_array_equal(out[outside], np.dstack([g, g, g])[outside])
    assert _chroma(out[layer_sel == 255]).mean() > 1.0


@needs_py27
def test_missing_core_leaves_layer_untouched(plugins, tmp_path):
    g = _gray_rgb()
    res, out = _run(
        plugins, tmp_path, g[..., None], 1, env={"COLORIZE_CORE": "/nonexistent/colorize-core"}
    )
    assert res["status"] == "error"
    assert "missing" in res["error"] and "colorize-core gimp install" in res["error"]
    assert res["messages"] and "missing" in res["messages"][0]  # shown to the user
    assert res["base_type"] == 1 and res["undo_groups"] == []
    np.testing.assert_array_equal(out[..., 0], g)


@needs_py27
def test_core_error_is_reported(plugins, tmp_path):
    g = _gray_rgb()
    res, out = _run(
        plugins,
        tmp_path,
        np.dstack([g, g, g]),
        3,
        env={"COLORIZE_CORE": str(plugins.parent / "fake-core-error")},
    )
    assert res["status"] == "error" and "the model file is corrupt" in res["error"]
    np.testing.assert_array_equal(out, np.dstack([g, g, g]))


# ---------------------------------------------------------------- the shared bridge, under Python 3

sys.path.insert(0, str(PLUGIN_SOURCES))
import colorize_bridge as bridge  # noqa: E402


@pytest.mark.parametrize(
    "dtype, shape",
    [("|u1", (3, 5, 4)), ("|u1", (480, 640, 3)), ("<u2", (7, 1, 4)), ("<u2", (1, 1, 3))],
)
def test_npy_files_are_what_numpy_writes_and_reads(tmp_path, dtype, shape):
    a = (
        (np.arange(int(np.prod(shape))) * 37 % (256 if dtype == "|u1" else 65536))
        .astype(dtype)
        .reshape(shape)
    )
    bridge.write_npy(str(tmp_path / "a.npy"), a.tobytes(), dtype, shape)
    np.save(tmp_path / "b.npy", a)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    assert len(bridge.npy_header(dtype, shape)) % 64 == 0
    assert bridge.read_npy(str(tmp_path / "b.npy"), dtype, shape) == a.tobytes()
    with pytest.raises(bridge.BridgeError, match="expected"):
        bridge.read_npy(str(tmp_path / "b.npy"), dtype, (shape[0] + 1,) + shape[1:])


def _fake(tmp_path, mode):
    p = tmp_path / f"fake-core-{mode}"
    p.write_text(
        f"#!/bin/sh\nFAKE_CORE_MODE={mode} FAKE_CORE_PIDFILE={tmp_path}/pid "
        f"exec {sys.executable} {FAKE_CORE} \"$@\"\n"
    )
    p.chmod(0o755)
    return str(p)


def test_config_and_environment_override(tmp_path, monkeypatch):
    monkeypatch.delenv("COLORIZE_CORE", raising=False)
    monkeypatch.delenv("COLORIZE_CONFIG", raising=False)
    with pytest.raises(bridge.BridgeError, match="not configured.*colorize-core gimp install"):
        bridge.find_core(str(tmp_path))
    core = _fake(tmp_path, "ok")
    (tmp_path / "colorize-core.json").write_text(json.dumps({"core": core}))
    assert bridge.find_core(str(tmp_path)) == (core, str(tmp_path / "colorize-core.json"))
    other = _fake(tmp_path, "error")
    monkeypatch.setenv("COLORIZE_CORE", other)
    assert bridge.find_core(str(tmp_path))[0] == other
    monkeypatch.setenv("COLORIZE_CORE", str(tmp_path / "nope"))
    with pytest.raises(bridge.BridgeError, match="missing.*COLORIZE_CORE"):
        bridge.find_core(str(tmp_path))
    monkeypatch.delenv("COLORIZE_CORE")
    (tmp_path / "colorize-core.json").write_text("{broken")
    with pytest.raises(bridge.BridgeError, match="unreadable"):
        bridge.find_core(str(tmp_path))


def test_round_trip_with_progress(tmp_path):
    g = np.dstack([_gray_rgb()] * 3 + [np.full(_gray_rgb().shape, 77, np.uint8)])
    seen = []
    out = bridge.colorize_pixels(
        _fake(tmp_path, "ok"), g.tobytes(), "|u1", g.shape, progress=seen.append
    )
    out = np.frombuffer(out, np.uint8).reshape(g.shape)
    assert (out[..., 3] == 77).all() and _chroma(out).mean() > 1
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)


@pytest.mark.parametrize(
    "mode, words",
    [
        ("error", "the model file is corrupt"),
        ("crash", "crashed (SIGSEGV)"),
        ("garbage", "expected"),
        ("noout", "wrote no output"),
    ],
)
def test_core_failures_become_messages(tmp_path, mode, words):
    g = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(bridge.BridgeError) as e:
        bridge.colorize_pixels(_fake(tmp_path, mode), g.tobytes(), "|u1", g.shape)
    assert words in str(e.value)


def test_hung_core_is_killed_after_the_timeout(tmp_path):
    import time

    g = np.zeros((8, 8, 3), np.uint8)
    t0 = time.monotonic()
    with pytest.raises(bridge.BridgeError, match="did not finish within 1 s"):
        bridge.colorize_pixels(_fake(tmp_path, "hang"), g.tobytes(), "|u1", g.shape, timeout=1)
    assert time.monotonic() - t0 < 10
    pid = int((tmp_path / "pid").read_text())
    time.sleep(0.2)
    assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2]


def test_temp_files_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "rt"))
    (tmp_path / "rt").mkdir()
    g = np.zeros((8, 8, 3), np.uint8)
    bridge.colorize_pixels(_fake(tmp_path, "ok"), g.tobytes(), "|u1", g.shape)
    with pytest.raises(bridge.BridgeError):
        bridge.colorize_pixels(_fake(tmp_path, "error"), g.tobytes(), "|u1", g.shape)
    assert list((tmp_path / "rt").iterdir()) == []


# ---------------------------------------------------------------- colour hints and the colour layer


def _reference(plugins, tmp_path, rgb, hints=None):
    """What the installed core makes of these RGB pixels (and R'G'B'A hints over them)."""
    core = json.loads((plugins / "colorize_gimp210_lib/colorize-core.json").read_text())["core"]
    np.save(tmp_path / "ref_in.npy", rgb)
    args = [core, "bridge", str(tmp_path / "ref_in.npy"), str(tmp_path / "ref_out.npy")]
    if hints is not None:
        np.save(tmp_path / "ref_hints.npy", hints)
        args += ["--hints", str(tmp_path / "ref_hints.npy")]
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return np.load(tmp_path / "ref_out.npy")


def _dots(h, w):
    """A transparent hints layer with three blue dots (the colours a user knows)."""
    dots = np.zeros((h, w, 4), np.uint8)
    for y, x in ((4, 5), (10, 20), (15, 8)):
        dots[y : y + 3, x : x + 3] = (30, 60, 220, 255)
    return dots


@needs_py27
def test_hints_layer_reaches_the_core_where_it_overlaps_the_photo(plugins, tmp_path):
    g = _gray_rgb()
    h, w = g.shape
    rgb = np.dstack([g, g, g])
    dots = _dots(20, 30)
    # the photo at (5, 4), the hints layer at (10, 8): it covers the photo from row 4, column 5
    res, out = _run(
        plugins,
        tmp_path,
        rgb,
        3,
        offsets=(5, 4),
        image_size=(w + 20, h + 10),
        hints=dots,
        hints_offsets=(10, 8),
    )
    assert res["status"] == "success", res
    over = np.zeros((h, w, 4), np.uint8)
    over[4:24, 5:35] = dots
    ref = _reference(plugins, tmp_path, rgb, over)
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 2
    plain = _reference(plugins, tmp_path, rgb)
    dot = (slice(4 + 10, 4 + 13), slice(5 + 20, 5 + 23))  # a dot, in the photo's coordinates
    blue = lambda a: (a[..., 2].astype(int) - a[..., 0].astype(int))[dot].mean()  # noqa: E731
    assert blue(out) > blue(plain) + 5, "the blue dots did not make the photo bluer there"
    assert res["layers"][1]["name"] == "Colour hints"  # read, never changed
    hints_after = np.frombuffer((tmp_path / "out.raw.layer1").read_bytes(), np.uint8).reshape(
        dots.shape
    )
    np.testing.assert_array_equal(hints_after, dots)


@needs_py27
def test_new_colour_layer_above_the_photo_leaves_it_untouched(plugins, tmp_path):
    g = _gray_rgb()
    res, out = _run(
        plugins,
        tmp_path,
        g[..., None],
        1,
        offsets=(3, 2),
        image_size=(60, 50),
        args=[1.0, "", 0, 0, "Colour hints", 1],
    )
    assert res["status"] == "success", res
    assert res["base_type"] == 0 and res["undo_groups"] == [
        "start",
        "end",
    ]  # converted inside the group
    new, photo = res["layers"][0], res["layers"][1]
    assert new == {"name": "photo (colour)", "bpp": 4, "mode": 26, "offsets": [3, 2]}
    np.testing.assert_array_equal(
        out, np.dstack([g, g, g])
    )  # the photo, converted to RGB, unchanged
    assert photo["name"] == "photo"
    colour = np.frombuffer((tmp_path / "out.raw.layer0").read_bytes(), np.uint8).reshape(
        g.shape + (4,)
    )
    ref = _reference(plugins, tmp_path, np.dstack([g, g, g]))
    assert np.abs(colour[..., :3].astype(int) - ref.astype(int)).max() <= 2
    assert (colour[..., 3] == 255).all()


@needs_py27
@pytest.mark.parametrize(
    "case, words",
    [
        ("gray image", "grayscale mode"),
        ("no alpha", "no transparency"),
        ("unknown name", "no layer named 'My dots'"),
    ],
)
def test_hints_mistakes_are_messages_and_the_image_is_untouched(plugins, tmp_path, case, words):
    g = _gray_rgb()
    h, w = g.shape
    if case == "gray image":
        res, out = _run(plugins, tmp_path, g[..., None], 1, hints=_dots(h, w))
    elif case == "no alpha":
        res, out = _run(plugins, tmp_path, np.dstack([g, g, g]), 3, hints=_dots(h, w)[..., :3])
    else:
        res, out = _run(
            plugins, tmp_path, np.dstack([g, g, g]), 3, args=[1.0, "", 0, 0, "My dots", 0]
        )
    assert res["status"] == "error" and words in res["error"], res
    assert res["undo_groups"] == [] and len(res["layers"]) == (1 if case == "unknown name" else 2)
    assert (out[..., 0] == g).all()


@needs_py27
def test_dialog_offers_what_the_gimp3_dialog_offers(plugins, tmp_path):
    """Strength spans the runtime's range; hints and output follow GIMP 3's arguments,
    in its order."""
    from colorize_core.limits import MAX_STRENGTH

    g = _gray_rgb()
    res, _ = _run(plugins, tmp_path, np.dstack([g, g, g]), 3)
    params = {p[1]: p for p in res["registered"]["params"]}
    assert params["strength"][3] == [0.0, MAX_STRENGTH, 0.05]
    assert [p[1] for p in res["registered"]["params"]][2:] == [
        "strength",
        "model",
        "threads",
        "timeout",
        "hints_layer",
        "output",
    ]
    assert params["output"][3] == ["Replace the layer", "New colour layer"]
    assert bridge.MAX_STRENGTH == MAX_STRENGTH


@needs_py27
def test_paths_with_spaces_and_non_ascii_letters_under_an_ascii_locale(plugins, tmp_path):
    """Python 2.7's subprocess cannot take non-ASCII text: the bridge hands it bytes."""
    d = tmp_path / "Bilder Ødegård" / "plug-ins"
    shutil.copytree(plugins, d, symlinks=True)
    real = json.loads((plugins / "colorize_gimp210_lib/colorize-core.json").read_text())["core"]
    core = tmp_path / "mein Kern ü" / "colorize-core"
    core.parent.mkdir()
    core.write_text(f"#!/bin/sh\nexec '{real}' \"$@\"\n")
    core.chmod(0o755)
    (d / "colorize_gimp210_lib/colorize-core.json").write_text(json.dumps({"core": str(core)}))
    g = _gray_rgb()
    res, out = _run(d, tmp_path, np.dstack([g, g, g]), 3, env={"LC_ALL": "C", "LANG": "C"})
    assert res["status"] == "success", res
    assert _chroma(out).mean() > 1.0
