"""install.sh in a temporary HOME: install, re-install (idempotent), uninstall, and its errors.

The install is real (a venv, pip installing this checkout with numpy, Pillow and ai-edge-litert,
the self-test colorizing through the plug-in's bridge); pip's cache is shared with the caller's
so a re-run does not download again. install.sh runs from a copy of the checkout, so the pip
build leaves nothing in the repo.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import gimp_chroot as gc
import pytest

REPO = Path(__file__).resolve().parent.parent
IGNORE = gc.IGNORE

pytestmark = pytest.mark.skipif(
    sys.platform.startswith("win"), reason="install.sh is for Linux and macOS"
)


def _python():
    """A Python >= 3.10 with venv for install.sh (the one running the tests is one)."""
    return sys.executable if sys.version_info >= (3, 10) else None


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    d = tmp_path_factory.mktemp("checkout") / "colorize"
    shutil.copytree(REPO, d, ignore=IGNORE)
    return d


def _env(home: Path, **extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COLORIZE_", "XDG_", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH"))
    }
    env["HOME"] = str(home)
    env.setdefault(
        "PIP_CACHE_DIR",
        os.environ.get("PIP_CACHE_DIR") or str(Path(os.path.expanduser("~")) / ".cache" / "pip"),
    )
    env.update(extra)
    return env


def _install(checkout, home, *args, timeout=900, **env):
    return subprocess.run(
        ["bash", str(checkout / "install.sh"), *args],
        capture_output=True,
        text=True,
        env=_env(home, **env),
        timeout=timeout,
    )


def _tree(root: Path):
    """What install.sh may touch under HOME (.config, .local; not the venv's inside), as a list."""
    return sorted(
        str(p.relative_to(root))
        for top in (".config", ".local")
        for p in root.glob(top + "/**/*")
        if "colorize-core/venv/" not in str(p)
    ) + sorted(x.name for x in root.glob(".[cl]o*"))


# ---------------------------------------------------------------- cheap: options and errors


def test_help(checkout, tmp_path):
    r = _install(checkout, tmp_path, "--help")
    assert r.returncode == 0
    for word in ("--uninstall", "--gimp-dir", "--prefix", "--python", "GIMP"):
        assert word in r.stdout


def test_unknown_option(checkout, tmp_path):
    r = _install(checkout, tmp_path, "--frobnicate")
    assert r.returncode != 0 and "install.sh: error: unknown option" in r.stderr


def test_python_too_old_is_a_clear_error(checkout, tmp_path):
    old = tmp_path / "python3.8"
    old.write_text('#!/bin/sh\ncase "$*" in *%d.%d.%d*) echo 3.8.10; exit 0;; esac\nexit 1\n')
    old.chmod(0o755)
    r = _install(checkout, tmp_path / "home", "--python", str(old), "--no-gimp")
    assert r.returncode != 0
    assert "3.8.10" in r.stderr and "3.10 or newer" in r.stderr
    assert not (tmp_path / "home/.local/share/colorize-core/venv").exists()


def test_missing_venv_module_is_a_clear_error(checkout, tmp_path):
    py = _python()
    fake = tmp_path / "python3-novenv"
    fake.write_text(
        f'#!/bin/sh\ncase "$*" in *ensurepip*|*"-m venv"*) '
        f'echo "No module named ensurepip" >&2; exit 1;; esac\nexec {py} "$@"\n'
    )
    fake.chmod(0o755)
    r = _install(checkout, tmp_path / "home", "--python", str(fake), "--no-gimp")
    assert r.returncode != 0
    assert "venv module" in r.stderr and "python3-venv" in r.stderr


def test_unwritable_place_is_a_clear_error(checkout, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    r = _install(checkout, tmp_path / "home", "--prefix", str(blocker / "colorize"), "--no-gimp")
    assert r.returncode != 0 and "install.sh: error:" in r.stderr
    assert "not a directory" in r.stderr or "permission" in r.stderr
    if os.geteuid() != 0:  # root ignores permission bits
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        r = _install(checkout, tmp_path / "home", "--prefix", str(ro / "x"), "--no-gimp")
        assert r.returncode != 0 and "no write permission" in r.stderr


def test_uninstall_with_nothing_installed(checkout, tmp_path):
    r = _install(checkout, tmp_path, "--uninstall")
    assert r.returncode == 0 and "Nothing to uninstall" in r.stdout


# ---------------------------------------------------------------- the real install


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A HOME with a GIMP 3.0 and a GIMP 2.10 profile, one with a foreign plug-in in it."""
    h = tmp_path_factory.mktemp("home")
    (h / ".config/GIMP/3.0/plug-ins/someone_else").mkdir(parents=True)
    (h / ".config/GIMP/3.0/plug-ins/someone_else/someone_else.py").write_text("# not ours\n")
    (h / ".config/GIMP/2.10").mkdir(parents=True)
    return h


@pytest.fixture(scope="module")
def first_install(checkout, home):
    before = _tree(home)
    r = _install(checkout, home)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r, before


def test_install_creates_venv_core_plugins_and_config(first_install, home):
    r, _ = first_install
    core = home / ".local/share/colorize-core/venv/bin/colorize-core"
    assert os.access(core, os.X_OK)
    out = subprocess.run([str(core), "--version"], capture_output=True, text=True)
    assert out.stdout.startswith("colorize-core ")
    p3 = home / ".config/GIMP/3.0/plug-ins/colorize_gimp"
    assert os.access(p3 / "colorize_gimp.py", os.X_OK)
    assert (p3 / "colorize_bridge.py").is_file()
    assert json.loads((p3 / "colorize-core.json").read_text())["core"] == str(core)
    p2 = home / ".config/GIMP/2.10/plug-ins"
    assert os.access(p2 / "colorize_gimp210.py", os.X_OK)
    assert json.loads((p2 / "colorize_gimp210_lib/colorize-core.json").read_text())["core"] == str(
        core
    )
    assert "Self-test passed" in r.stdout
    assert r.stdout.count("self-test ok") == 2  # through both installed bridges
    # the plug-in file is executable by the GIMP layout rule: folder name == file name
    assert stat.S_IMODE((p3 / "colorize_gimp.py").stat().st_mode) & 0o111


def test_install_is_idempotent(first_install, checkout, home):
    tree1 = _tree(home)
    r = _install(checkout, home)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Reusing the virtual environment" in r.stdout
    assert _tree(home) == tree1


def test_uninstall_removes_exactly_what_was_installed(first_install, checkout, home):
    _, before = first_install
    r = _install(checkout, home, "--uninstall")
    assert r.returncode == 0, r.stderr
    assert _tree(home) == before
    assert not (home / ".local/share/colorize-core").exists()
    assert (home / ".config/GIMP/3.0/plug-ins/someone_else/someone_else.py").exists()
    r = _install(checkout, home, "--uninstall")
    assert "Nothing to uninstall" in r.stdout


def test_gimp_dir_option_and_fresh_profile(checkout, tmp_path, first_install):
    """--gimp-dir installs only there; without any GIMP profile the 3.0 folder is created."""
    home = tmp_path / "h"
    prefix = tmp_path / "prefix"
    custom = tmp_path / "custom/GIMP/2.10/plug-ins"
    r = _install(
        checkout, home, "--prefix", str(prefix), "--gimp-dir", str(custom), "--no-self-test"
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert (custom / "colorize_gimp210.py").exists()
    assert not (home / ".config/GIMP").exists()
    r = _install(checkout, home, "--prefix", str(prefix), "--no-self-test")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (home / ".config/GIMP/3.0/plug-ins/colorize_gimp/colorize_gimp.py").exists()
    r = _install(checkout, home, "--prefix", str(prefix), "--uninstall")
    assert r.returncode == 0
    assert not (home / ".config").exists() and not custom.exists() and not prefix.exists()


# ---------------------------------------------------------------- the README's quick start
def _quick_start_commands() -> list[str]:
    """The two commands of the README's quick start, as written there."""
    text = (REPO / "README.md").read_text()
    block = text.split("## Quick start", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2, commands
    return commands


def test_ci_runs_exactly_the_readme_quick_start():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    for command in _quick_start_commands():
        assert command in ci


def test_quick_start_on_debian_13(checkout):
    """The README's first command as written, in a Debian 13 chroot whose system Python refuses
    `pip install` (externally managed): it installs into .venv and colorizes the sample."""

    if gc.unavailable_reason():
        pytest.skip(gc.unavailable_reason())
    gc.ensure_chroot()
    assert gc.host_path("/usr/lib/python3.13/EXTERNALLY-MANAGED").exists()
    work = Path(gc.host_path("/tmp")) / "quickstart-test"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(checkout, work)
    try:
        refused = gc.run(
            "python3 -m pip install . 2>&1 || true", cwd="/tmp/quickstart-test", timeout=300
        )
        assert (
            "externally-managed-environment" in refused.stdout
            or "No module named pip" in refused.stdout
        )
        first = _quick_start_commands()[0]
        proc = gc.run(first, cwd="/tmp/quickstart-test", timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert (work / "camera_colorized.png").stat().st_size > 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_setup_venv_without_ensurepip_installs_only_the_runtime(checkout, tmp_path):
    """setup-venv.sh on a Python whose `-m venv` fails for want of ensurepip (as Debian's without
    python3-venv, here a wrapper that refuses as Debian does): .venv is made without pip, the
    system pip puts pip into it, and colorize-core runs from it. The wheel holds only colorize_core
    (the training code stays in the checkout)."""
    work = tmp_path / "checkout"
    shutil.copytree(checkout, work)
    wrapper = tmp_path / "python3"
    wrapper.write_text(f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ] && [ "$3" != "--without-pip" ]; then
  echo "The virtual environment was not created successfully because ensurepip is not" \\
    "available." >&2
  exit 1
fi
exec {_python()} "$@"
""")
    wrapper.chmod(0o755)
    proc = subprocess.run(
        ["sh", str(work / "setup-venv.sh")],
        capture_output=True,
        text=True,
        env=_env(tmp_path, PYTHON=str(wrapper)),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    assert "has no ensurepip" in proc.stderr
    run = subprocess.run(
        [
            str(work / ".venv/bin/colorize-core"),
            str(work / "colorize_core/samples/camera.png"),
            "-o",
            str(tmp_path / "camera_colorized.png"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(tmp_path),
    )
    assert run.returncode == 0 and (tmp_path / "camera_colorized.png").stat().st_size > 0, (
        run.stderr
    )
    site = next((work / ".venv/lib").glob("python3*/site-packages"))
    assert (site / "colorize_core").is_dir() and not (site / "convert").exists()
