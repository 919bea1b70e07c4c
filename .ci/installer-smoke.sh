#!/usr/bin/env bash
# Installer check: build the Linux bundle and .deb, unpack the .deb into a clean
# temporary prefix (dpkg-deb -x) and run the installed launcher with --smoke-test
# under QT_QPA_PLATFORM=offscreen; a non-zero exit or any unexpected stderr line fails.
#
#   bash .ci/installer-smoke.sh               install the dev and installer extras, then run the
#                                             slow installer tests (they build everything)
#   bash .ci/installer-smoke.sh --skip-build  smoke-test the .deb already in dist/
#                                             (GitHub Actions, after `make installer`)
#
# PYTHON picks the interpreter. By default: the project's .venv when there is one; else,
# to build, a new .venv (`python3 -m venv .venv`: Debian 12 and other PEP 668 systems
# refuse `pip install` into the system Python); --skip-build needs only the standard
# library and uses python3.
set -euo pipefail
cd "$(dirname "$0")/.."
# A .venv without pip was left by a failed `python3 -m venv` (no python3-venv): not used.
if [ -z "${PYTHON:-}" ] && .venv/bin/python -m pip --version >/dev/null 2>&1; then
  PYTHON=.venv/bin/python
fi

if [ "${1:-}" = "--skip-build" ]; then
  PYTHON="${PYTHON:-python3}"
  shopt -s nullglob
  debs=(dist/raxe-desktop_*.deb)
  if [ ${#debs[@]} -ne 1 ]; then
    echo "installer-smoke: expected one .deb in dist/, found ${#debs[@]}" >&2
    exit 2
  fi
  exec "$PYTHON" installer/smoke.py --deb "${debs[0]}"
fi

if [ -z "${PYTHON:-}" ]; then
  echo "installer-smoke: creating .venv (python3 -m venv .venv)" >&2
  rm -rf .venv
  python3 -m venv .venv || { rm -rf .venv; echo "installer-smoke: python3 -m venv failed (apt install python3-venv)" >&2; exit 2; }
  PYTHON=.venv/bin/python
fi
# dev: pytest and pytest-qt, which run the slow installer tests below.
"$PYTHON" -m pip install -q -e ".[dev,installer]"
# The slow tests skip without dpkg-deb or PyInstaller; here that would hide a broken
# setup, so check first.
command -v dpkg-deb >/dev/null || { echo "installer-smoke: dpkg-deb missing" >&2; exit 2; }
"$PYTHON" -c "import PyInstaller" || { echo "installer-smoke: PyInstaller missing" >&2; exit 2; }
exec "$PYTHON" -m pytest -q -m slow tests/installer
