#!/usr/bin/env bash
# One-command install of colorize: the colorize-core runtime in its own virtual environment,
# and the GIMP plug-in in every GIMP plug-in folder found (GIMP 3.x and 2.10, Linux and macOS).
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
user-writable place, and the GIMP plug-in (Filters > Colorize > Auto Colorize) into every GIMP
plug-in folder it finds. No sudo needed. Running it again upgrades in place.

Options:
  --prefix DIR       where the venv and the install record go
                     (default: \${XDG_DATA_HOME:-~/.local/share}/colorize-core = $PREFIX)
  --gimp-dir DIR     install the plug-in into this GIMP plug-ins folder only (repeatable);
                     a path containing "/2.10/" (or 2.x) gets the GIMP 2.10 plug-in, others GIMP 3
  --no-gimp          install only colorize-core, no GIMP plug-in
  --python EXE       the Python (3.10 or newer) to build the venv with (default: the newest
                     python3.X found on PATH)
  --source DIR       install colorize-core from DIR instead of this checkout ($SCRIPT_DIR)
  --no-self-test     skip the final self-test (colorizing a test picture through the plug-in's bridge)
  --uninstall        remove exactly what install.sh installed (the venv, the plug-in files, the config)
  -h, --help         this help

Plug-in folders searched (when --gimp-dir is not given):
  Linux:  \${XDG_CONFIG_HOME:-~/.config}/GIMP/<3.x|2.10>/plug-ins, Flatpak ~/.var/app/org.gimp.GIMP/config/GIMP/...,
          Snap ~/snap/gimp/current/.config/GIMP/...
  macOS:  ~/Library/Application Support/GIMP/<3.x|2.10>/plug-ins
  When no GIMP profile exists yet, the GIMP 3.0 folder is created.

Environment: COLORIZE_CORE overrides, for the plug-in, the colorize-core path written to its config.
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
# One line per thing install.sh created: "file PATH" or "dir PATH" (dirs it created, removed
# only when empty) or "venv PATH". --uninstall walks it backwards.
RECORD=()
record() { RECORD+=("$1 $2"); }

mkdir_tracked() {  # mkdir -p that records every directory component it creates
  local d="$1" missing=()
  while [ ! -e "$d" ]; do missing=("$d" ${missing[@]+"${missing[@]}"}); d="$(dirname "$d")"; done
  [ -d "$d" ] || die "cannot create ${1}: $d is not a directory"
  [ -w "$d" ] || die "no write permission in $d (needed for $1). Choose another place (--prefix / --gimp-dir) or fix its ownership."
  local m
  for m in ${missing[@]+"${missing[@]}"}; do
    mkdir "$m" 2>/dev/null || die "cannot create $m (permission denied?). Choose another place (--prefix / --gimp-dir)."
    record dir "$m"
  done
  [ -w "$1" ] || die "no write permission in $1. Choose another place (--prefix / --gimp-dir) or fix its ownership."
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
  rm -f "$MANIFEST"
  for (( i=${#PREV[@]}-1; i>=0; i-- )); do
    kind="${PREV[$i]%% *}"; path="${PREV[$i]#* }"
    case "$kind" in
      file) if [ -f "$path" ] || [ -L "$path" ]; then rm -f "$path"; n=$((n+1)); fi
            rm -rf "$(dirname "$path")/__pycache__" 2>/dev/null || true ;;
      venv) [ -d "$path" ] && rm -rf "$path" && n=$((n+1)) ;;
      dir)  [ -d "$path" ] && { rm -rf "$path/__pycache__"; rmdir "$path" 2>/dev/null || echo "kept $path (not empty)"; } ;;
    esac
  done
  rmdir "$PREFIX" 2>/dev/null || true
  echo "colorize uninstalled ($n items removed)."
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

# ------------------------------------------------------------------ GIMP plug-in folders
find_gimp_dirs() {
  local roots=() r v
  roots+=("${XDG_CONFIG_HOME:-$HOME/.config}/GIMP" "$HOME/.var/app/org.gimp.GIMP/config/GIMP"
          "$HOME/snap/gimp/current/.config/GIMP" "$HOME/Library/Application Support/GIMP")
  for r in "${roots[@]}"; do
    [ -d "$r" ] || continue
    for v in "$r"/3.* "$r"/2.10; do
      [ -d "$v" ] && echo "$v/plug-ins"
    done
  done
}

if [ "$NO_GIMP" = 0 ] && [ ${#GIMP_DIRS[@]} -eq 0 ]; then
  while IFS= read -r d; do [ -n "$d" ] && GIMP_DIRS+=("$d"); done < <(find_gimp_dirs)
  case " ${GIMP_DIRS[*]-} " in
    *"/2.10/plug-ins "*)
      case " ${GIMP_DIRS[*]} " in
        *"/3."*) ;;
        *) echo "note: only a GIMP 2.10 profile was found. If you also use GIMP 3, start it once (so that it"
           echo "      can import your 2.10 settings), then run install.sh again." ;;
      esac ;;
  esac
  if [ ${#GIMP_DIRS[@]} -eq 0 ]; then
    if [ "$(uname -s)" = Darwin ]; then d="$HOME/Library/Application Support/GIMP/3.0/plug-ins"
    else d="${XDG_CONFIG_HOME:-$HOME/.config}/GIMP/3.0/plug-ins"; fi
    say "No GIMP profile found; installing for GIMP 3.0 into $d"
    GIMP_DIRS=("$d")
  fi
fi

write_config() {  # $1 = directory the plug-in reads colorize-core.json from
  "$VENV/bin/python" -I - "$1/colorize-core.json" "$CORE" "$CORE_VERSION" "$SRC" <<'PYEOF'
import json, os, sys
path, core, version, src = sys.argv[1:5]
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump({"core": core, "version": version, "source": src, "written_by": "install.sh"}, f, indent=1)
    f.write("\n")
os.replace(tmp, path)
PYEOF
  record file "$1/colorize-core.json"
}

install_file() {  # src dst mode
  local tmp="$2.tmp.$$"
  cp "$1" "$tmp" && chmod "$3" "$tmp" && mv -f "$tmp" "$2" || die "cannot write $2"
  record file "$2"
}

PLUGIN_SRC="$SCRIPT_DIR/gimp_plugin"
[ -f "$PLUGIN_SRC/colorize_bridge.py" ] || die "$PLUGIN_SRC is incomplete (no colorize_bridge.py)"
INSTALLED_PLUGIN_DIRS=()
for pd in "${GIMP_DIRS[@]+"${GIMP_DIRS[@]}"}"; do
  case "$pd" in /*) ;; *) pd="$PWD/$pd" ;; esac
  mkdir_tracked "$pd"
  case "$pd" in
    */.var/app/*|*/snap/*)
      echo "note: $pd belongs to a Flatpak/Snap GIMP; its sandbox may not be able to run $CORE." \
           "If the plug-in then reports that it could not start colorize-core, use your distribution's GIMP." ;;
  esac
  case "$pd" in
    */2.[0-9]*/*|*/2.[0-9]*) # GIMP 2.10: a single-file gimpfu plug-in + a library folder
      lib="$pd/colorize_gimp210_lib"
      mkdir_tracked "$lib"
      install_file "$PLUGIN_SRC/colorize_bridge.py" "$lib/colorize_bridge.py" 644
      install_file "$PLUGIN_SRC/gimp210/colorize_gimp210.py" "$pd/colorize_gimp210.py" 755
      write_config "$lib"
      INSTALLED_PLUGIN_DIRS+=("$lib")
      say "GIMP 2.10 plug-in installed in $pd" ;;
    *) # GIMP 3: plug-ins/colorize_gimp/colorize_gimp.py (folder name = file name)
      dir="$pd/colorize_gimp"
      mkdir_tracked "$dir"
      install_file "$PLUGIN_SRC/colorize_bridge.py" "$dir/colorize_bridge.py" 644
      install_file "$PLUGIN_SRC/gimp3/colorize_gimp.py" "$dir/colorize_gimp.py" 755
      write_config "$dir"
      INSTALLED_PLUGIN_DIRS+=("$dir")
      say "GIMP 3 plug-in installed in $pd" ;;
  esac
  write_manifest
done
write_manifest

# ------------------------------------------------------------------ self-test
if [ "$SELF_TEST" = 1 ]; then
  say "Self-test"
  "$CORE" bridge --check || die "self-test: '$CORE bridge --check' failed: the model does not load (see above). Run install.sh again; if it persists, report the message."
  if [ ${#INSTALLED_PLUGIN_DIRS[@]} -gt 0 ]; then
    for d in "${INSTALLED_PLUGIN_DIRS[@]}"; do
      "$VENV/bin/python" "$d/colorize_bridge.py" --self-test "$d" || die "self-test through the plug-in's bridge failed in $d (see above)."
    done
  else
    "$VENV/bin/python" "$PLUGIN_SRC/colorize_bridge.py" --self-test "$PLUGIN_SRC" >/dev/null 2>&1 || true
  fi
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
if [ ${#INSTALLED_PLUGIN_DIRS[@]} -gt 0 ]; then
  echo "Restart GIMP, open a photo, then Filters > Colorize > Auto Colorize (Deep Learning)..."
  echo "Menu missing? See docs/gimp.md ('When the menu does not appear')."
fi
echo "Uninstall: $SCRIPT_DIR/install.sh --uninstall$( [ "$PREFIX" != "$DATA_HOME/colorize-core" ] && printf ' --prefix %q' "$PREFIX")"
