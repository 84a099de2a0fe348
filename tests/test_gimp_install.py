"""`colorize-core gimp install | uninstall | status`: profiles on every system, and the real thing
from a built wheel in a fresh venv into a temporary home (with spaces and non-ASCII in its path).

Profile discovery for macOS and Windows runs here on Linux: macOS's rules on real folders,
Windows's through PureWindowsPath with an injected environment and folder listing. The Flatpak
mode of the plug-ins' bridge runs against a stand-in flatpak-spawn (no Flatpak here).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

import gimp_chroot as gc
import numpy as np
import pytest

from colorize_core.gimp_install import CONFIG_NAME, FLATPAK_OVERRIDE
from colorize_core.gimp_profiles import (
    Packaging,
    Profile,
    Series,
    System,
    default_profile,
    find_profiles,
    profile_of_folder,
)

REPO = Path(__file__).resolve().parent.parent
PLUGIN_SOURCES = REPO / "colorize_core" / "gimp_plugin"
FAKE_CORE = Path(__file__).resolve().parent / "gimp_fake_core.py"
# the package alone: what the wheel is built from
IGNORE = shutil.ignore_patterns(*gc.NOT_COPIED, "tests", "docs", "benchmarks", "convert")

sys.path.insert(0, str(PLUGIN_SOURCES))
import colorize_bridge as bridge  # noqa: E402

# ---------------------------------------------------------------- where GIMP's profiles are


def _profiles(home: Path, system: System, env=None) -> set[tuple[str, str, str]]:
    return {
        (str(Path(p.plugins).relative_to(home)), p.series.value, p.packaging.value)
        for p in find_profiles(system, home, env or {})
    }


def test_linux_native_flatpak_and_snap_profiles(tmp_path):
    for d in (
        ".config/GIMP/3.0",
        ".config/GIMP/2.10",
        ".config/GIMP/2.8",
        ".config/GIMP/sessions",
        ".var/app/org.gimp.GIMP/config/GIMP/3.0",
        "snap/gimp/current/.config/GIMP/2.10",
    ):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / ".config/GIMP/3.2").write_text("a file, not a profile")
    assert _profiles(tmp_path, System.LINUX) == {
        (".config/GIMP/3.0/plug-ins", "3", "native"),
        (".config/GIMP/2.10/plug-ins", "2.10", "native"),
        (".var/app/org.gimp.GIMP/config/GIMP/3.0/plug-ins", "3", "flatpak"),
        ("snap/gimp/current/.config/GIMP/2.10/plug-ins", "2.10", "snap"),
    }


def test_linux_xdg_config_home_is_honoured(tmp_path):
    (tmp_path / "cfg/GIMP/3.2").mkdir(parents=True)
    (tmp_path / ".config/GIMP/3.0").mkdir(parents=True)
    found = find_profiles(System.LINUX, tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert [(p.plugins, p.version) for p in found] == [(tmp_path / "cfg/GIMP/3.2/plug-ins", "3.2")]
    # ignored, as the spec says
    relative = find_profiles(System.LINUX, tmp_path, {"XDG_CONFIG_HOME": "cfg"})
    assert [p.version for p in relative] == ["3.0"]


def test_macos_profiles(tmp_path):
    (tmp_path / "Library/Application Support/GIMP/3.0").mkdir(parents=True)
    (tmp_path / "Library/Application Support/GIMP/2.10").mkdir(parents=True)
    (tmp_path / ".config/GIMP/3.0").mkdir(parents=True)  # not where macOS GIMP looks
    assert _profiles(tmp_path, System.MACOS) == {
        ("Library/Application Support/GIMP/3.0/plug-ins", "3", "native"),
        ("Library/Application Support/GIMP/2.10/plug-ins", "2.10", "native"),
    }
    assert (
        default_profile(System.MACOS, tmp_path, {}).plugins
        == tmp_path / "Library/Application Support/GIMP/3.0/plug-ins"
    )


def test_windows_profiles_from_appdata():
    home = PureWindowsPath(r"C:\Users\Ann Ødegård")
    env = {"APPDATA": r"C:\Users\Ann Ødegård\AppData\Roaming"}
    tree = {
        PureWindowsPath(r"C:\Users\Ann Ødegård\AppData\Roaming\GIMP"): ["2.10", "3.0", "3.0-backup"]
    }
    found = find_profiles(System.WINDOWS, home, env, subfolders=lambda p: tree.get(p, []))
    assert found == [
        Profile(
            PureWindowsPath(r"C:\Users\Ann Ødegård\AppData\Roaming\GIMP\2.10\plug-ins"),
            Series.GIMP2,
            Packaging.NATIVE,
            "2.10",
        ),
        Profile(
            PureWindowsPath(r"C:\Users\Ann Ødegård\AppData\Roaming\GIMP\3.0\plug-ins"),
            Series.GIMP3,
            Packaging.NATIVE,
            "3.0",
        ),
    ]
    no_appdata = default_profile(System.WINDOWS, home, {})
    assert no_appdata.plugins == PureWindowsPath(
        r"C:\Users\Ann Ødegård\AppData\Roaming\GIMP\3.0\plug-ins"
    )


def test_a_named_plugins_folder_gets_the_plugin_of_its_gimp():
    assert profile_of_folder(PurePosixPath("/opt/gimp/2.10/plug-ins")).series is Series.GIMP2
    assert profile_of_folder(PurePosixPath("/srv/plugins")).series is Series.GIMP3
    flatpak = profile_of_folder(
        PurePosixPath("/home/a/.var/app/org.gimp.GIMP/config/GIMP/3.0/plug-ins")
    )
    assert (flatpak.series, flatpak.packaging) == (Series.GIMP3, Packaging.FLATPAK)
    win = profile_of_folder(PureWindowsPath(r"D:\GIMP 2\2.10\plug-ins"))
    assert (win.series, win.version) == (Series.GIMP2, "2.10")


# ---------------------------------------------------------------- the real install, from a wheel


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under root, with a file's content hash and its mode."""
    out = {}
    for p in sorted(root.rglob("*")):
        key = str(p.relative_to(root))
        out[key] = (
            "dir"
            if p.is_dir()
            else f"{hashlib.sha256(p.read_bytes()).hexdigest()[:16]} {oct(p.stat().st_mode)}"
        )
    return out


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    """A wheel built from a copy of the checkout, installed
    (with its dependencies) in a fresh venv."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(REPO, src, ignore=IGNORE)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHONPATH", "VIRTUAL_ENV", "COLORIZE_"))
    }
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(base / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = next((base / "dist").glob("colorize_core-*.whl"))
    venv = base / "venv with space"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    r = subprocess.run(
        [
            str(venv / "bin/python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return wheel, venv, env


def test_the_wheel_carries_the_plugins_and_only_the_package(wheel_venv):
    wheel, _, _ = wheel_venv
    names = zipfile.ZipFile(wheel).namelist()
    for f in ("colorize_bridge.py", "gimp3/colorize_gimp.py", "gimp210/colorize_gimp210.py"):
        assert f"colorize_core/gimp_plugin/{f}" in names
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {
        "colorize_core"
    }


def _gimp(venv: Path, home: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    e = {k: v for k, v in env.items() if not k.startswith("XDG_")}
    e["HOME"] = str(home)
    return subprocess.run(
        [str(venv / "bin/colorize-core"), "gimp", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=e,
        cwd=str(home),
    )


def test_install_status_uninstall_leave_the_home_as_it_was(wheel_venv, tmp_path):
    _, venv, env = wheel_venv
    home = tmp_path / "Hjem Ødegård"
    for d in (
        ".config/GIMP/3.0/plug-ins/someone_else",
        ".config/GIMP/2.10",
        ".var/app/org.gimp.GIMP/config/GIMP/3.0",
    ):
        (home / d).mkdir(parents=True)
    (home / ".config/GIMP/3.0/plug-ins/someone_else/someone_else.py").write_text("# not ours\n")
    before = _snapshot(home)

    dry = _gimp(venv, home, env, "install", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would install the GIMP 3 plug-in" in dry.stdout and _snapshot(home) == before

    r = _gimp(venv, home, env, "install", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    report = {p["plugins"]: p for p in json.loads(r.stdout)["profiles"]}
    p3 = home / ".config/GIMP/3.0/plug-ins"
    p2 = home / ".config/GIMP/2.10/plug-ins"
    pf = home / ".var/app/org.gimp.GIMP/config/GIMP/3.0/plug-ins"
    assert {k: v["state"] for k, v in report.items()} == {
        str(p3): "installed",
        str(p2): "installed",
        str(pf): "installed",
    }
    assert "self-test ok" in report[str(p3)]["model"] and "self-test ok" in report[str(p2)]["model"]
    assert any(FLATPAK_OVERRIDE in n for n in report[str(pf)]["notes"])
    core = venv / "bin/colorize-core"
    assert json.loads((p3 / "colorize_gimp" / CONFIG_NAME).read_text())["core"] == str(core)
    assert os.access(p3 / "colorize_gimp/colorize_gimp.py", os.X_OK) and os.access(
        p2 / "colorize_gimp210.py", os.X_OK
    )
    for f in ("colorize_gimp/colorize_bridge.py", "colorize_gimp/colorize_gimp.py"):
        assert (p3 / f).read_bytes() == (
            PLUGIN_SOURCES / ("gimp3/" if f.endswith("gimp.py") else "") / Path(f).name
        ).read_bytes()
    installed = _snapshot(home)

    again = _gimp(venv, home, env, "install", "--no-self-test")
    assert again.returncode == 0 and _snapshot(home) == installed  # idempotent

    status = json.loads(_gimp(venv, home, env, "status", "--json").stdout)["profiles"]
    assert sorted(p["state"] for p in status) == ["installed"] * 3
    (p3 / "colorize_gimp/colorize_bridge.py").write_text("# edited by hand\n")
    status = {
        p["plugins"]: p["state"]
        for p in json.loads(_gimp(venv, home, env, "status", "--json", "--no-check").stdout)[
            "profiles"
        ]
    }
    assert status[str(p3)] == "outdated"

    assert _gimp(venv, home, env, "uninstall", "--dry-run").returncode == 0
    assert (p3 / "colorize_gimp").is_dir()
    r = _gimp(venv, home, env, "uninstall")
    assert r.returncode == 0, r.stderr
    assert _snapshot(home) == before
    status = json.loads(_gimp(venv, home, env, "status", "--json").stdout)["profiles"]
    assert [p["state"] for p in status] == ["not installed"] * 3


def test_fresh_home_and_a_named_folder(wheel_venv, tmp_path):
    """No GIMP has started yet: the GIMP 3.0 profile is made, and uninstall removes all of it;
    --gimp-dir installs there only, and the 2.x in its path picks the 2.10 plug-in."""
    _, venv, env = wheel_venv
    home = tmp_path / "home"
    home.mkdir()
    r = _gimp(venv, home, env, "install", "--no-self-test")
    assert r.returncode == 0, r.stderr
    assert (home / ".config/GIMP/3.0/plug-ins/colorize_gimp/colorize_gimp.py").is_file()
    custom = tmp_path / "custom dir/GIMP/2.10/plug-ins"
    r = _gimp(venv, home, env, "install", "--no-self-test", "--gimp-dir", str(custom))
    assert r.returncode == 0 and (custom / "colorize_gimp210.py").is_file(), r.stderr
    assert _gimp(venv, home, env, "uninstall").returncode == 0
    assert list(home.iterdir()) == [] and custom.exists()
    assert _gimp(venv, home, env, "uninstall", "--gimp-dir", str(custom)).returncode == 0
    assert not (tmp_path / "custom dir").exists()


def test_unwritable_profile_is_a_clear_error(wheel_venv, tmp_path):
    _, venv, env = wheel_venv
    home = tmp_path / "home"
    (home / ".config/GIMP").mkdir(parents=True)
    (home / ".config/GIMP/3.0").write_text("a file where GIMP's profile folder should be")
    r = _gimp(
        venv,
        home,
        env,
        "install",
        "--no-self-test",
        "--gimp-dir",
        str(home / ".config/GIMP/3.0/plug-ins"),
    )
    assert r.returncode == 1
    assert "is a file, not a folder" in r.stdout and "Traceback" not in r.stderr


# ---------------------------------------------------------------- the bridge inside a Flatpak GIMP


def _standin_flatpak_spawn(folder: Path, mode: str) -> Path:
    """flatpak-spawn as the sandbox has it: --host runs the command outside (here: as is, without
    the sandbox's FLATPAK_ID); mode "denied" answers as it does without the override."""
    folder.mkdir(exist_ok=True)
    log = folder / "calls.log"
    script = folder / "flatpak-spawn"
    body = (
        'echo "Portal call failed: org.freedesktop.DBus.Error.ServiceUnknown" >&2; exit 1'
        if mode == "denied"
        else 'unset FLATPAK_ID; exec "$@"'
    )
    script.write_text(
        f'#!/bin/sh\n[ "$1" = --host ] || exit 64\nshift\necho "$@" >> "{log}"\n{body}\n'
    )
    script.chmod(0o755)
    return log


def _fake_core(tmp_path: Path) -> str:
    p = tmp_path / "fake core ü" / "colorize-core"
    p.parent.mkdir()
    p.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_CORE} \"$@\"\n")
    p.chmod(0o755)
    return str(p)


def test_flatpak_sandbox_runs_the_host_core_through_flatpak_spawn(tmp_path, monkeypatch):
    log = _standin_flatpak_spawn(tmp_path / "bin", "ok")
    cache = tmp_path / "app cache"
    cache.mkdir()
    monkeypatch.setenv("FLATPAK_ID", "org.gimp.GIMP")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    g = np.dstack([np.tile(np.arange(32, dtype=np.uint8) * 8, (24, 1))] * 3)
    out = bridge.colorize_pixels(_fake_core(tmp_path), g.tobytes(), "|u1", g.shape)
    out = np.frombuffer(out, np.uint8).reshape(g.shape)
    assert (out.max(-1).astype(int) - out.min(-1)).mean() > 1  # colour came back
    call = log.read_text()
    # the hand-over lay where the host sees it
    assert "colorize-core bridge" in call and str(cache) in call
    assert list(cache.iterdir()) == []  # and was cleared


def test_flatpak_without_the_override_says_which_command_to_run(tmp_path, monkeypatch):
    _standin_flatpak_spawn(tmp_path / "bin", "denied")
    monkeypatch.setenv("FLATPAK_ID", "org.gimp.GIMP")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    g = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(bridge.BridgeError) as e:
        bridge.colorize_pixels(
            "/home/someone/.local/share/colorize-core/venv/bin/colorize-core",
            g.tobytes(),
            "|u1",
            g.shape,
        )
    assert FLATPAK_OVERRIDE in str(e.value) and bridge.FLATPAK_OVERRIDE == FLATPAK_OVERRIDE


def test_handover_outside_linux_uses_the_system_temporary_folder(monkeypatch):
    monkeypatch.delenv("FLATPAK_ID", raising=False)
    monkeypatch.setattr(sys, "platform", "win32")
    assert bridge._handover_dirs() == [None]  # tempfile's own choice: %TEMP% on Windows
    monkeypatch.setattr(sys, "platform", "linux")
    assert "/dev/shm" in bridge._handover_dirs()


# ---------------------------------------------------------------- what Windows lacks

NO_POSIX = """
import os, signal, sys
for m in ("resource", "fcntl", "termios", "pwd", "grp"):
    sys.modules[m] = None  # importing them fails, as on Windows
for name in ("SIGHUP", "SIGKILL", "SIGQUIT"):
    delattr(signal, name)
for name in ("killpg", "setsid", "getuid", "geteuid", "fork"):
    delattr(os, name)
from colorize_core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_core_needs_no_posix_only_module(tmp_path):
    """The bridge, the CLI and the installer without resource, fcntl, SIGHUP, killpg, ...: what a
    Windows Python lacks (the libraries' own Linux code paths stay; nothing ran on Windows)."""

    def core(*args):
        return subprocess.run(
            [sys.executable, "-c", NO_POSIX, *map(str, args)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=str(REPO),
        )

    assert core("bridge", "--check").returncode == 0
    g = np.dstack([np.tile(np.arange(64, dtype=np.uint8) * 3, (48, 1))] * 3)
    np.save(tmp_path / "in.npy", g)
    r = core("bridge", tmp_path / "in.npy", tmp_path / "out.npy")
    assert r.returncode == 0 and np.load(tmp_path / "out.npy").shape == g.shape, r.stderr
    r = core(REPO / "colorize_core/samples/camera.png", "-o", tmp_path / "camera.png")
    assert r.returncode == 0 and (tmp_path / "camera.png").stat().st_size > 0, r.stderr
    r = core("gimp", "install", "--dry-run", "--gimp-dir", tmp_path / "GIMP/3.0/plug-ins")
    assert r.returncode == 0 and "would install" in r.stdout, r.stderr
