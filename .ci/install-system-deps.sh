#!/usr/bin/env bash
# Debian packages the tests need: a virtual X server with a system tray host,
# clipboard and key-event tools for the end-to-end tests, shellcheck and desktop-file-validate for
# the installer checks, Qt's xcb libraries, and what pip needs to build pynput's evdev and make
# a virtual environment. With --runtime, only what the app itself needs (used by `make run`).
set -euo pipefail
if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: not a Debian-based system; install Qt's xcb libraries yourself" >&2
  exit 0
fi
test_tools=(xvfb xauth trayer xclip xdotool x11-utils binutils shellcheck desktop-file-utils)
[ "${1:-}" = "--runtime" ] && test_tools=()
pkgs=(
  "${test_tools[@]}"
  # pynput's evdev has no wheels: it is compiled (gcc, the kernel's input headers, Python.h);
  # python3-venv: `make` installs into a virtual environment.
  build-essential linux-libc-dev python3-dev python3-venv
  libxcb-cursor0 libxkbcommon-x11-0 libxkbcommon0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
  libxcb-xfixes0 libxcb-xkb1 libxcb-sync1 libxcb-shm0 libxcb-util1 libegl1 libgl1
  libfontconfig1 libdbus-1-3 fonts-dejavu-core
)
# GLib's library was renamed libglib2.0-0t64 (Debian 13, Ubuntu 24.04: the 64-bit time_t
# transition); the old name is only an alias there, which dpkg never reports as installed.
if dpkg-query -W -f='${Status}' libglib2.0-0t64 2>/dev/null | grep -q "install ok installed" \
  || apt-cache show libglib2.0-0t64 >/dev/null 2>&1; then
  pkgs+=(libglib2.0-0t64)
else
  pkgs+=(libglib2.0-0)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # Through env: sudo resets the environment, and tzdata would ask for a time zone.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
