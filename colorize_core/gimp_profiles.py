"""Where GIMP keeps its user profiles, on each system and each way GIMP is packaged.

A pure function of the home folder, the environment and the system, so the Windows and macOS
rules are tested on Linux (with PureWindowsPath and an injected environment). Only folders that
exist count: a profile is made by GIMP the first time it starts.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Callable, Iterable, Mapping

FLATPAK_APP = "org.gimp.GIMP"
SNAP_NAME = "gimp"
_GIMP3_VERSION = re.compile(r"^3\.\d+$")
_GIMP2_VERSION = re.compile(r"^2\.\d+$")


class System(str, Enum):
    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"


class Series(str, Enum):
    """Which plug-in a profile takes: GIMP 3.x's (Python 3, GI) or GIMP 2.10's (Python 2.7,
    gimpfu)."""

    GIMP3 = "3"
    GIMP2 = "2.10"


class Packaging(str, Enum):
    """How the GIMP that owns a profile was installed: it decides whether its plug-ins can start a
    program outside GIMP (a Flatpak only through flatpak-spawn, a Snap not at all)."""

    NATIVE = "native"
    FLATPAK = "flatpak"
    SNAP = "snap"


@dataclass(frozen=True)
class Profile:
    """One GIMP profile's plug-ins folder."""

    plugins: PurePath
    series: Series
    packaging: Packaging
    version: str  # the profile folder's name: "3.0", "2.10"


def current_system() -> System:
    if sys.platform.startswith("win"):
        return System.WINDOWS
    if sys.platform == "darwin":
        return System.MACOS
    return System.LINUX


def path_type(system: System) -> type[PurePath]:
    return PureWindowsPath if system is System.WINDOWS else PurePosixPath


def profile_roots(
    system: System, home: PurePath, env: Mapping[str, str]
) -> list[tuple[PurePath, Packaging]]:
    """The folders that hold GIMP's versioned profiles (GIMP/3.0, GIMP/2.10, ...)."""
    if system is System.WINDOWS:
        appdata = env.get("APPDATA")
        base = (
            PureWindowsPath(appdata) if appdata else PureWindowsPath(home) / "AppData" / "Roaming"
        )
        return [(base / "GIMP", Packaging.NATIVE)]
    if system is System.MACOS:
        return [(home / "Library" / "Application Support" / "GIMP", Packaging.NATIVE)]
    xdg = env.get("XDG_CONFIG_HOME")
    config = PurePosixPath(xdg) if xdg and PurePosixPath(xdg).is_absolute() else home / ".config"
    return [
        (config / "GIMP", Packaging.NATIVE),
        (home / ".var" / "app" / FLATPAK_APP / "config" / "GIMP", Packaging.FLATPAK),
        (home / "snap" / SNAP_NAME / "current" / ".config" / "GIMP", Packaging.SNAP),
    ]


def series_of(version: str) -> Series | None:
    """The plug-in a profile folder named `version` takes; None for GIMPs older than 2.10."""
    if _GIMP3_VERSION.match(version):
        return Series.GIMP3
    if version == "2.10":
        return Series.GIMP2
    return None


def _subfolders(folder: PurePath) -> list[str]:
    try:
        with os.scandir(str(folder)) as it:
            return sorted(e.name for e in it if e.is_dir())
    except OSError:  # missing, not a folder, unreadable
        return []


def find_profiles(
    system: System,
    home: PurePath,
    env: Mapping[str, str],
    subfolders: Callable[[PurePath], Iterable[str]] = _subfolders,
) -> list[Profile]:
    """Every GIMP 3.x and 2.10 profile under `home`: (plug-ins folder, series, packaging,
    version)."""
    found = []
    for root, packaging in profile_roots(system, home, env):
        for version in subfolders(root):
            series = series_of(version)
            if series is not None:
                found.append(Profile(root / version / "plug-ins", series, packaging, version))
    return found


def default_profile(system: System, home: PurePath, env: Mapping[str, str]) -> Profile:
    """Where the plug-in goes when no GIMP has started yet: the native GIMP 3.0 profile."""
    root, packaging = profile_roots(system, home, env)[0]
    return Profile(root / "3.0" / "plug-ins", Series.GIMP3, packaging, "3.0")


def profile_of_folder(plugins: PurePath) -> Profile:
    """A plug-ins folder the user named (--gimp-dir): GIMP 2.10's when a folder on its path is
    named 2.x, else GIMP 3's; Flatpak or Snap by where it lies."""
    parts = plugins.parts
    version = next(
        (p for p in reversed(parts) if _GIMP3_VERSION.match(p) or _GIMP2_VERSION.match(p)), ""
    )
    series = Series.GIMP2 if _GIMP2_VERSION.match(version) else Series.GIMP3
    text = "/".join(parts)
    if f".var/app/{FLATPAK_APP}/" in text:
        packaging = Packaging.FLATPAK
    elif f"snap/{SNAP_NAME}/" in text:
        packaging = Packaging.SNAP
    else:
        packaging = Packaging.NATIVE
    return Profile(plugins, series, packaging, version)


def home_folder() -> Path:
    return Path(os.path.expanduser("~"))
