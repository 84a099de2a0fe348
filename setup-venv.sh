#!/bin/sh
# Make .venv (a Python virtual environment) in this checkout and install colorize-core into it.
#
#   ./setup-venv.sh              the runtime: numpy, Pillow, ai-edge-litert, simplejpeg (then .venv/bin/colorize-core)
#   ./setup-venv.sh test,train   with the extras for the tests and the training code
#
# Works where the system Python refuses `pip install` (Debian and Ubuntu's "externally managed"
# Python), also without Debian's python3-venv package: the venv is then made without pip and the
# system's pip installs pip into it. PYTHON=/path/to/python3 picks another Python (3.10 or newer).
set -eu
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
EXTRAS=${1:-}
die() { echo "setup-venv.sh: $*" >&2; exit 1; }

command -v "$PY" >/dev/null 2>&1 || die "no $PY found: install Python 3.10 or newer (Debian/Ubuntu: sudo apt install python3)"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "$PY is older than Python 3.10"

if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv >/dev/null 2>&1; then
    # Debian/Ubuntu without python3-venv: no ensurepip, so no pip inside a new venv
    echo "setup-venv.sh: $PY has no ensurepip (Debian/Ubuntu without python3-venv): making .venv without pip" \
         "and installing pip into it with the system's pip" >&2
    rm -rf .venv
    "$PY" -m venv --without-pip .venv || die "$PY cannot make a virtual environment (Debian/Ubuntu: sudo apt install python3-venv)"
  fi
fi
if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  "$PY" -m pip --version >/dev/null 2>&1 \
    || die "neither ensurepip nor pip is available for $PY (Debian/Ubuntu: sudo apt install python3-venv)"
  "$PY" -m pip --python .venv/bin/python install --quiet pip \
    || die "could not install pip into .venv (see above); Debian/Ubuntu: sudo apt install python3-venv"
fi
TARGET=.
[ -n "$EXTRAS" ] && TARGET=".[$EXTRAS]"
.venv/bin/python -m pip install --quiet --disable-pip-version-check "$TARGET" \
  || die "pip could not install colorize-core$( [ -n "$EXTRAS" ] && echo " with $EXTRAS") (see above)"
echo "setup-venv.sh: colorize-core installed in .venv (run .venv/bin/colorize-core, or: . .venv/bin/activate)" >&2
