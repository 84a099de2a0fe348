"""`colorize-core gimp install | uninstall | status`: the GIMP plug-in, installed by the package.

The plug-in files ship inside the package (colorize_core/gimp_plugin/), so this works wherever
`pip install colorize-core` does, from a wheel, on Linux, macOS and Windows. Each installed
plug-in gets a colorize-core.json beside it that names this environment's colorize-core and
records every file and folder the install made; uninstall removes exactly those, so a home
folder is left as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

from . import __version__
from .atomic import write_atomic
from .gimp_profiles import (
    Packaging,
    Profile,
    Series,
    current_system,
    default_profile,
    find_profiles,
    home_folder,
    profile_of_folder,
)

PLUGIN_SOURCES = Path(__file__).resolve().parent / "gimp_plugin"
CONFIG_NAME = "colorize-core.json"  # the plug-ins' bridge reads it (colorize_bridge.CONFIG_NAME)
WRITTEN_BY = "colorize-core gimp install"
FLATPAK_OVERRIDE = "flatpak override --user --talk-name=org.freedesktop.Flatpak org.gimp.GIMP"
SNAP_STEPS = (
    "A Snap GIMP runs confined and cannot start programs from outside its snap, so the plug-in "
    "cannot reach colorize-core there. "
    "Use GIMP from Flathub (flatpak install flathub org.gimp.GIMP) "
    "or from your distribution, then run `colorize-core gimp install` again. "
    "(--gimp-dir DIR installs into a Snap profile anyway.)"
)
CHECK_TIMEOUT_S = 300
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class PluginFile:
    source: str  # under colorize_core/gimp_plugin/
    target: str  # under the profile's plug-ins folder
    executable: bool


# GIMP 3 wants plug-ins/NAME/NAME.py; GIMP 2.10 runs every plug-ins/*.py, so its library sits apart.
LAYOUT = {
    Series.GIMP3: (
        PluginFile("gimp3/colorize_gimp.py", "colorize_gimp/colorize_gimp.py", True),
        PluginFile("colorize_bridge.py", "colorize_gimp/colorize_bridge.py", False),
    ),
    Series.GIMP2: (
        PluginFile("gimp210/colorize_gimp210.py", "colorize_gimp210.py", True),
        PluginFile("colorize_bridge.py", "colorize_gimp210_lib/colorize_bridge.py", False),
    ),
}
CONFIG_FOLDER = {Series.GIMP3: "colorize_gimp", Series.GIMP2: "colorize_gimp210_lib"}


class State(str, Enum):
    INSTALLED = "installed"  # this package's plug-in files, a core that answers
    OUTDATED = "outdated"  # installed, but the files differ from this package's
    BROKEN = "broken"  # installed, but its core is missing or does not answer
    NOT_INSTALLED = "not installed"


class Skip(str, Enum):
    SNAP = "snap"  # a Snap GIMP cannot start colorize-core


class GimpInstallError(Exception):
    """A profile that cannot be written (permissions, a file where a folder should be)."""


@dataclass
class ProfileReport:
    """What install, uninstall or status did or found in one profile."""

    plugins: str
    gimp: str
    packaging: str
    version: str
    state: State | None = None
    skipped: Skip | None = None
    core: str | None = None
    model: str | None = None
    problem: str | None = None
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, profile: Profile) -> ProfileReport:
        return cls(
            str(profile.plugins), profile.series.value, profile.packaging.value, profile.version
        )


# ---------------------------------------------------------------- where things are


def core_executable() -> Path:
    """This environment's colorize-core command (bin/colorize-core, or Scripts\\colorize-core.exe).

    Raises GimpInstallError when the package was not installed with its command (e.g. run from a
    checkout with PYTHONPATH)."""
    name = "colorize-core.exe" if os.name == "nt" else "colorize-core"
    schemes = [sysconfig.get_default_scheme()]
    schemes += [s for s in sysconfig.get_scheme_names() if s.endswith("_user") and s not in schemes]
    for scheme in schemes:
        candidate = Path(sysconfig.get_path("scripts", scheme)) / name
        if candidate.is_file():
            return candidate
    raise GimpInstallError(
        f"this Python ({sys.executable}) has no {name} command: install the package "
        f"with `pip install colorize-core` (in a virtual environment), then run "
        f"`colorize-core gimp install` from there"
    )


def target_profiles(gimp_dirs: list[Path], *, for_install: bool) -> list[Profile]:
    """The profiles named with --gimp-dir, else every profile found (for install with none found:
    GIMP 3.0's, which the plug-in then waits in for GIMP's first start)."""
    if gimp_dirs:
        return [profile_of_folder(Path(os.path.abspath(d))) for d in gimp_dirs]
    system, home = current_system(), home_folder()
    found = find_profiles(system, home, os.environ)
    if not found and for_install:
        found = [default_profile(system, home, os.environ)]
    return [Profile(Path(p.plugins), p.series, p.packaging, p.version) for p in found]


def _config_path(profile: Profile) -> Path:
    return Path(profile.plugins) / CONFIG_FOLDER[profile.series] / CONFIG_NAME


def read_record(profile: Profile) -> dict | None:
    """The install record beside a profile's plug-in, or None where there is none (or it is
    unreadable)."""
    try:
        record = json.loads(_config_path(profile).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


# ---------------------------------------------------------------- install


def _missing_folders(folder: Path) -> list[Path]:
    """The folders that `mkdir -p folder` would create, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    if folder.exists() and not folder.is_dir():
        raise GimpInstallError(
            f"cannot create {missing[-1] if missing else folder}: {folder} is a file, not a folder"
        )
    return list(reversed(missing))


def _make_folders(folders: list[Path]) -> None:
    for f in folders:
        try:
            f.mkdir()
        except FileExistsError:
            pass
        except OSError as e:
            raise GimpInstallError(
                f"cannot create {f}: {e.strerror or e}. Choose another place with --gimp-dir, "
                f"or fix the folder's permissions"
            ) from e


def _write(path: Path, data: bytes, executable: bool) -> None:
    try:
        write_atomic(path, lambda f: f.write(data), overwrite=True)
        if executable and os.name != "nt":
            os.chmod(path, path.stat().st_mode | 0o111)
    except OSError as e:
        raise GimpInstallError(
            f"cannot write {path}: {e.strerror or e}. Fix the folder's permissions, "
            f"or choose another place with --gimp-dir"
        ) from e


def install_profile(profile: Profile, core: Path, *, dry_run: bool) -> ProfileReport:
    """Write the plug-in matching the profile's GIMP and its colorize-core.json record."""
    report = ProfileReport.of(profile)
    plugins = Path(profile.plugins)
    previous = read_record(profile) or {}
    created = [Path(p) for p in previous.get("created_folders", []) if isinstance(p, str)]
    new_folders = []
    for f in LAYOUT[profile.series]:
        for folder in _missing_folders((plugins / f.target).parent):
            if folder not in new_folders:
                new_folders.append(folder)
    files = [plugins / f.target for f in LAYOUT[profile.series]] + [_config_path(profile)]
    report.written = [str(p) for p in new_folders + files]
    if profile.packaging is Packaging.FLATPAK:
        report.notes.append(
            "Flatpak GIMP: let it start colorize-core outside its sandbox, once: "
            f"{FLATPAK_OVERRIDE}"
        )
    if dry_run:
        return report
    _make_folders(new_folders)
    for f in LAYOUT[profile.series]:
        _write(plugins / f.target, (PLUGIN_SOURCES / f.source).read_bytes(), f.executable)
    record = {
        "core": str(core),
        "version": __version__,
        "written_by": WRITTEN_BY,
        "gimp": profile.series.value,
        "packaging": profile.packaging.value,
        "files": [str(p) for p in files],
        "created_folders": [str(p) for p in dict.fromkeys(created + new_folders)],
    }
    _write(_config_path(profile), (json.dumps(record, indent=1) + "\n").encode("utf-8"), False)
    report.state, report.core = State.INSTALLED, str(core)
    return report


# ---------------------------------------------------------------- uninstall


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _report_and_record(profile: Profile) -> tuple[ProfileReport, dict | None]:
    """A profile's report (not installed, until found otherwise) and its install record (None
    where nothing is installed)."""
    report = ProfileReport.of(profile)
    report.state = State.NOT_INSTALLED
    return report, read_record(profile)


def uninstall_profile(profile: Profile, *, dry_run: bool) -> ProfileReport:
    """Remove the files the install record lists (only inside the plug-ins folder), then the
    folders the install created, where they are empty."""
    report, record = _report_and_record(profile)
    if record is None:
        return report
    plugins = Path(profile.plugins)
    files = [Path(p) for p in record.get("files", []) if isinstance(p, str)]
    files = [p for p in files if _inside(p, plugins)] or [
        plugins / f.target for f in LAYOUT[profile.series]
    ]
    files.append(_config_path(profile))
    ours = {(plugins / f.target).parent for f in LAYOUT[profile.series]} - {plugins}
    folders = sorted(
        ours | {Path(p) for p in record.get("created_folders", []) if isinstance(p, str)},
        key=lambda p: len(p.parts),
        reverse=True,
    )
    for p in dict.fromkeys(files):
        if p.is_file() or p.is_symlink():
            report.removed.append(str(p))
            if not dry_run:
                p.unlink()
    for folder in folders:
        cache = folder / "__pycache__"
        if cache.is_dir() and not dry_run:
            for c in cache.iterdir():
                c.unlink()
            cache.rmdir()
        if folder.is_dir() and not dry_run:
            try:
                folder.rmdir()
                report.removed.append(str(folder))
            except OSError:  # not empty: something that is not ours lives there
                report.notes.append(f"kept {folder} (not empty)")
    report.state = State.NOT_INSTALLED
    return report


# ---------------------------------------------------------------- status


def _plugin_files_current(profile: Profile) -> bool:
    plugins = Path(profile.plugins)
    try:
        return all(
            (plugins / f.target).read_bytes() == (PLUGIN_SOURCES / f.source).read_bytes()
            for f in LAYOUT[profile.series]
        )
    except OSError:
        return False


def self_test(profile: Profile) -> tuple[bool, str]:
    """The installed plug-in's own bridge, run by this Python: config -> core -> a round trip of a
    small gray picture. (ok, its last line)."""
    lib = Path(profile.plugins) / CONFIG_FOLDER[profile.series]
    try:
        r = subprocess.run(
            [sys.executable, str(lib / "colorize_bridge.py"), "--self-test", str(lib)],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    lines = (r.stdout + r.stderr).strip().splitlines()
    return r.returncode == 0, lines[-1] if lines else f"exit {r.returncode}"


def status_profile(profile: Profile, *, check: bool) -> ProfileReport:
    """What is installed in one profile; with `check`, whether its core colorizes through its
    bridge."""
    report, record = _report_and_record(profile)
    if record is None:
        return report
    report.core = record.get("core")
    report.state = State.INSTALLED if _plugin_files_current(profile) else State.OUTDATED
    if report.state is State.OUTDATED:
        report.notes.append(
            "the plug-in files differ from this package's: run `colorize-core gimp install`"
        )
    if check and profile.packaging is not Packaging.FLATPAK:
        ok, line = self_test(profile)
        if not ok:
            report.state, report.problem = State.BROKEN, line
        else:
            report.model = line
    if profile.packaging is Packaging.FLATPAK:
        report.notes.append(
            f"Flatpak GIMP: the plug-in reaches colorize-core through flatpak-spawn after: "
            f"{FLATPAK_OVERRIDE}"
        )
    return report


# ---------------------------------------------------------------- the command


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="colorize-core gimp",
        description="Install, remove or check the GIMP plug-in (GIMP 3.x and 2.10, "
        "Linux, macOS, Windows, the Flatpak GIMP).",
    )
    sub = ap.add_subparsers(dest="action", required=True, metavar="install|uninstall|status")
    for name, text in (
        ("install", "put the plug-in into every GIMP profile found (or --gimp-dir)"),
        ("uninstall", "remove exactly what install put there"),
        ("status", "what is installed where, and whether each plug-in's core runs"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument(
            "--gimp-dir",
            action="append",
            default=[],
            metavar="DIR",
            type=Path,
            help="a GIMP plug-ins folder to use instead of the profiles found (repeatable); "
            "a path with a 2.x folder in it gets the GIMP 2.10 plug-in",
        )
        p.add_argument(
            "--json", action="store_true", help="one JSON object on stdout instead of text"
        )
        if name != "status":
            p.add_argument(
                "--dry-run", action="store_true", help="say what would be done, change nothing"
            )
        if name == "install":
            p.add_argument(
                "--no-self-test",
                action="store_true",
                help="skip colorizing a test picture through each installed plug-in's bridge",
            )
        if name == "status":
            p.add_argument("--no-check", action="store_true", help="do not run each plug-in's core")
    return ap


def _run_install(
    profiles: list[Profile], explicit: bool, dry_run: bool, self_check: bool
) -> list[ProfileReport]:
    core = core_executable()
    reports = []
    for profile in profiles:
        if profile.packaging is Packaging.SNAP and not explicit:
            report = ProfileReport.of(profile)
            report.skipped, report.notes = Skip.SNAP, [SNAP_STEPS]
            reports.append(report)
            continue
        try:
            report = install_profile(profile, core, dry_run=dry_run)
        except GimpInstallError as e:
            report = ProfileReport.of(profile)
            report.problem = str(e)
        if (
            report.state is State.INSTALLED
            and self_check
            and profile.packaging is not Packaging.FLATPAK
        ):
            ok, line = self_test(profile)
            if ok:
                report.model = line
            else:
                report.state, report.problem = State.BROKEN, line
        reports.append(report)
    return reports


def _headline(action: str, r: ProfileReport, dry_run: bool) -> str:
    head = f"GIMP {r.version or r.gimp} ({r.packaging}) {r.plugins}"
    if r.skipped:
        return f"{head}: skipped"
    if r.problem:
        return f"{head}: {r.state.value + ': ' if r.state else ''}{r.problem}"
    if action == "install":
        return (
            f"{head}: would install the GIMP {r.gimp} plug-in" if dry_run else f"{head}: installed"
        )
    if action == "uninstall":
        if not r.removed:
            return f"{head}: nothing to remove"
        return (
            f"{head}: {'would remove' if dry_run else 'removed'} {len(r.removed)} files and folders"
        )
    return f"{head}: {r.state.value}" + (f", core {r.core}" if r.core else "")


def _print_text(action: str, reports: list[ProfileReport], dry_run: bool) -> None:
    if not reports:
        print(
            "No GIMP 3.x or 2.10 profile found "
            "(start GIMP once, or name a plug-ins folder with --gimp-dir)."
        )
    for r in reports:
        print(_headline(action, r, dry_run))
        listed = r.written if action == "install" else r.removed
        for path in listed if dry_run else []:
            print(f"    {path}")
        for line in ([r.model] if r.model else []) + [f"note: {n}" for n in r.notes]:
            print(f"    {line}")
    if action == "install" and not dry_run and any(r.state is State.INSTALLED for r in reports):
        print(
            "Restart GIMP, open a photo, then Filters > Colorize > Auto Colorize (Deep Learning)..."
        )


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    dry_run = getattr(args, "dry_run", False)
    profiles = target_profiles(args.gimp_dir, for_install=args.action == "install")
    try:
        if args.action == "install":
            reports = _run_install(
                profiles, bool(args.gimp_dir), dry_run, not (dry_run or args.no_self_test)
            )
        elif args.action == "uninstall":
            reports = [uninstall_profile(p, dry_run=dry_run) for p in profiles]
        else:
            reports = [status_profile(p, check=not args.no_check) for p in profiles]
    except GimpInstallError as e:
        print(f"colorize-core gimp: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(
            json.dumps(
                {
                    "action": args.action,
                    "dry_run": dry_run,
                    "profiles": [asdict(r) for r in reports],
                }
            )
        )
    else:
        _print_text(args.action, reports, dry_run)
    return EXIT_FAILED if any(r.problem for r in reports) else EXIT_OK
