#!/usr/bin/env bash
# One-command install from a checkout (Linux, macOS): colorize-core in its own virtual environment,
# then `colorize-core gimp install`, which puts the GIMP plug-in into every GIMP profile. All the
# GIMP logic lives in that command, in the package; this script only makes the venv and calls it.
# Run ./install.sh --help for the options. Safe to run again; --uninstall removes what it installed.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi  # also when started as "sh install.sh"
set -euo pipefail

PROG=install.sh
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$SCRIPT_DIR"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
PREFIX="$DATA_HOME/colorize-core"
PYTHON=""
GIMP_DIRS=()
NO_GIMP=0
SELF_TEST=1
UNINSTALL=0
MIN_PY="3.10"

usage() {
  cat <<EOF
Usage: ./install.sh [options]

Installs colorize-core (the colorizer, with its model) into a virtual environment in a
user-writable place, then runs 'colorize-core gimp install': the GIMP plug-in
(Filters > Colorize > Auto Colorize) goes into every GIMP 3.x and 2.10 profile found.
No sudo needed. Running it again upgrades in place. Without a checkout, on any OS:
pip install colorize-core, then colorize-core gimp install.

Options:
  --prefix DIR       where the venv and the install record go
                     (default: \${XDG_DATA_HOME:-~/.local/share}/colorize-core = $PREFIX)
  --gimp-dir DIR     install the plug-in into this GIMP plug-ins folder only (repeatable);
                     a path containing "/2.10/" (or 2.x) gets the GIMP 2.10 plug-in, others GIMP 3
  --no-gimp          install only colorize-core, no GIMP plug-in
  --python EXE       the Python (3.10 or newer) to build the venv with (default: the newest
                     python3.X found on PATH)
  --source DIR       install colorize-core from DIR instead of this checkout ($SCRIPT_DIR)
  --no-self-test     skip the self-tests (a test picture through each plug-in's bridge, the sample photo)
  --uninstall        remove exactly what install.sh installed (plug-ins, venv, record)
  -h, --help         this help

Which GIMP profiles are found (native, Flatpak, Snap; Linux, macOS, Windows):
'colorize-core gimp install --help' and docs/gimp.md.
EOF
}

die() { echo "$PROG: error: $*" >&2; exit 1; }
say() { echo "==> $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#*=}"; shift ;;
    --gimp-dir) [ $# -ge 2 ] || die "--gimp-dir needs a directory"; GIMP_DIRS+=("$2"); shift 2 ;;
    --gimp-dir=*) GIMP_DIRS+=("${1#*=}"); shift ;;
    --no-gimp) NO_GIMP=1; shift ;;
    --python) [ $# -ge 2 ] || die "--python needs an executable"; PYTHON="$2"; shift 2 ;;
    --python=*) PYTHON="${1#*=}"; shift ;;
    --source) [ $# -ge 2 ] || die "--source needs a directory"; SRC="$2"; shift 2 ;;
    --source=*) SRC="${1#*=}"; shift ;;
    --no-self-test) SELF_TEST=0; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

[ -n "${HOME:-}" ] || die "HOME is not set"
case "$PREFIX" in /*) ;; *) PREFIX="$PWD/$PREFIX" ;; esac
VENV="$PREFIX/venv"
MANIFEST="$PREFIX/install-manifest.txt"
CORE="$VENV/bin/colorize-core"

# ------------------------------------------------------------------ the install record
# One line per thing install.sh made: "dir PATH" (removed only when empty), "venv PATH",
# "file PATH", "gimp" (the plug-in in the profiles found) or "gimp-dir PATH" (--gimp-dir).
# --uninstall walks it backwards; the plug-ins' own files are recorded by colorize-core gimp install.
RECORD=()
record() { RECORD+=("$1${2:+ $2}"); }

mkdir_tracked() {  # mkdir -p that records every directory component it creates
  local d="$1" missing=()
  while [ ! -e "$d" ]; do missing=("$d" ${missing[@]+"${missing[@]}"}); d="$(dirname "$d")"; done
  [ -d "$d" ] || die "cannot create ${1}: $d is not a directory"
  [ -w "$d" ] || die "no write permission in $d (needed for $1). Choose another place (--prefix) or fix its ownership."
  local m
  for m in ${missing[@]+"${missing[@]}"}; do
    mkdir "$m" 2>/dev/null || die "cannot create $m (permission denied?). Choose another place (--prefix)."
    record dir "$m"
  done
  [ -w "$1" ] || die "no write permission in $1. Choose another place (--prefix) or fix its ownership."
}

load_manifest() {
  PREV=()
  if [ -f "$MANIFEST" ]; then
    while IFS= read -r line; do [ -n "$line" ] && PREV+=("$line"); done < "$MANIFEST"
  fi
}

write_manifest() {
  local tmp="$MANIFEST.tmp" l
  [ -d "$PREFIX" ] || return 0
  { for l in "${PREV[@]+"${PREV[@]}"}" "${RECORD[@]+"${RECORD[@]}"}"; do echo "$l"; done; } | awk '!seen[$0]++' > "$tmp"
  mv "$tmp" "$MANIFEST"
}

# ------------------------------------------------------------------ uninstall
do_uninstall() {
  load_manifest
  if [ ${#PREV[@]} -eq 0 ]; then
    echo "Nothing to uninstall: no install record at $MANIFEST."
    exit 0
  fi
  local i kind path n=0
  for (( i=${#PREV[@]}-1; i>=0; i-- )); do  # the plug-ins first, while their core is there
    kind="${PREV[$i]%% *}"; path="${PREV[$i]#* }"
    case "$kind" in
      gimp) [ -x "$CORE" ] && "$CORE" gimp uninstall ;;
      gimp-dir) [ -x "$CORE" ] && "$CORE" gimp uninstall --gimp-dir "$path" ;;
    esac
  done
  rm -f "$MANIFEST"
  for (( i=${#PREV[@]}-1; i>=0; i-- )); do
    kind="${PREV[$i]%% *}"; path="${PREV[$i]#* }"
    case "$kind" in
      file) if [ -f "$path" ] || [ -L "$path" ]; then rm -f "$path"; n=$((n+1)); fi ;;
      venv) [ -d "$path" ] && rm -rf "$path" && n=$((n+1)) ;;
      dir)  [ -d "$path" ] && { rmdir "$path" 2>/dev/null || echo "kept $path (not empty)"; } ;;
    esac
  done
  rmdir "$PREFIX" 2>/dev/null || true
  echo "colorize uninstalled ($n items removed, and the GIMP plug-ins listed above)."
  exit 0
}
[ "$UNINSTALL" = 1 ] && do_uninstall

# ------------------------------------------------------------------ Python
py_ok() { "$1" -c "import sys; sys.exit(0 if sys.version_info >= (${MIN_PY/./, }) else 1)" 2>/dev/null; }
py_version() { "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo "unknown"; }

find_python() {
  if [ -n "$PYTHON" ]; then
    command -v "$PYTHON" >/dev/null 2>&1 || die "--python $PYTHON: not found"
    py_ok "$PYTHON" || die "$PYTHON is Python $(py_version "$PYTHON"); colorize needs Python $MIN_PY or newer. Install one (Debian/Ubuntu: sudo apt install python3 python3-venv; macOS: brew install python) and pass it with --python."
    return
  fi
  local c found=""
  for c in python3.14 python3.13 python3.12 python3.11 python3.10 python3; do
    if command -v "$c" >/dev/null 2>&1; then
      found="$found $c($(py_version "$c"))"
      if py_ok "$c"; then PYTHON="$(command -v "$c")"; return; fi
    fi
  done
  [ -n "$found" ] || die "no python3 found. colorize needs Python $MIN_PY or newer (Debian/Ubuntu: sudo apt install python3 python3-venv; macOS: brew install python; or pass --python)."
  die "colorize needs Python $MIN_PY or newer; found only:$found. Install a newer Python (Debian/Ubuntu: sudo apt install python3 python3-venv; macOS: brew install python) or pass --python."
}

[ -f "$SRC/pyproject.toml" ] || die "$SRC has no pyproject.toml: run install.sh from a complete checkout of the colorize project (or pass --source)."
load_manifest
trap 'write_manifest' EXIT  # even a failed install leaves a record that --uninstall can use

# ------------------------------------------------------------------ the venv + the core
if [ -x "$VENV/bin/python" ] && py_ok "$VENV/bin/python"; then
  say "Reusing the virtual environment $VENV"
else
  find_python
  say "Using $PYTHON (Python $(py_version "$PYTHON"))"
  "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || die "the Python venv module (with ensurepip) is missing for $PYTHON. Debian/Ubuntu: sudo apt install python3-venv (or python$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)-venv); other systems: install Python from python.org or brew, or pass --python."
  mkdir_tracked "$PREFIX"
  [ -e "$VENV" ] && rm -rf "$VENV"
  say "Creating the virtual environment $VENV"
  "$PYTHON" -m venv "$VENV" || die "python -m venv $VENV failed (see above). On Debian/Ubuntu: sudo apt install python3-venv."
fi
mkdir_tracked "$PREFIX"
record venv "$VENV"
write_manifest  # record the venv at once, so an interrupted install can still be uninstalled

say "Installing colorize-core and its dependencies from $SRC (numpy, Pillow, ai-edge-litert, simplejpeg)"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
# A local directory is rebuilt each time; --upgrade brings changed dependencies along.
"${PIP[@]}" install --upgrade --quiet "$SRC" || die "pip could not install colorize-core from $SRC (see the messages above). Check your internet connection / proxy, then run install.sh again."
[ -x "$CORE" ] || die "the install finished but $CORE is missing: the package did not declare the colorize-core console script."
CORE_VERSION="$("$CORE" --version 2>/dev/null || true)"
[ -n "$CORE_VERSION" ] || die "$CORE --version failed: the core does not start. Run it by hand to see why."
say "Installed $CORE_VERSION"

# ------------------------------------------------------------------ the GIMP plug-in
if [ "$NO_GIMP" = 0 ]; then
  GIMP_ARGS=()
  [ "$SELF_TEST" = 1 ] || GIMP_ARGS+=(--no-self-test)
  if [ ${#GIMP_DIRS[@]} -eq 0 ]; then
    record gimp
    write_manifest
    say "colorize-core gimp install"
    "$CORE" gimp install ${GIMP_ARGS[@]+"${GIMP_ARGS[@]}"} || die "colorize-core gimp install failed (see above)."
  else
    for pd in "${GIMP_DIRS[@]}"; do
      case "$pd" in /*) ;; *) pd="$PWD/$pd" ;; esac
      record gimp-dir "$pd"
      write_manifest
      say "colorize-core gimp install --gimp-dir $pd"
      "$CORE" gimp install --gimp-dir "$pd" ${GIMP_ARGS[@]+"${GIMP_ARGS[@]}"} || die "colorize-core gimp install failed for $pd (see above)."
    done
  fi
fi
write_manifest

# ------------------------------------------------------------------ self-test
if [ "$SELF_TEST" = 1 ]; then
  say "Self-test"
  "$CORE" bridge --check || die "self-test: '$CORE bridge --check' failed: the model does not load (see above). Run install.sh again; if it persists, report the message."
  # Colorize the sample photo the core ships (if it ships one), as a user would.
  SAMPLE="$("$VENV/bin/python" -I -c '
import pathlib, colorize_core
from colorize_core.formats import PHOTO_SUFFIXES
d = pathlib.Path(colorize_core.__file__).parent / "samples"
s = sorted(p for p in d.glob("*") if p.suffix.lower() in PHOTO_SUFFIXES) if d.is_dir() else []
print(s[0] if s else "")' 2>/dev/null || true)"
  if [ -n "$SAMPLE" ]; then
    OUT="$PREFIX/sample-colorized.png"
    "$CORE" "$SAMPLE" -o "$OUT" --overwrite -q || die "self-test: colorizing the sample photo $SAMPLE failed (see above)."
    record file "$OUT"
    write_manifest
    say "Sample photo colorized: $OUT"
  fi
  say "Self-test passed"
fi

echo
echo "Done. colorize-core: $CORE"
echo "Uninstall: $SCRIPT_DIR/install.sh --uninstall$( [ "$PREFIX" != "$DATA_HOME/colorize-core" ] && printf ' --prefix %q' "$PREFIX")"
