#!/usr/bin/env bash
# Make a compressed, drag-to-Applications disk image from the built app.
#
#   installer/macos/make_dmg.sh "dist/RAXE Desktop.app" dist/RAXE-Desktop-0.1.0.dmg
#
# Sign the .app BEFORE this (installer/README.md, "Signing and notarisation"); the image
# itself is signed here when RAXE_CODESIGN_IDENTITY is set ("Developer ID Application:
# ..."). Notarise the .dmg after.
set -euo pipefail

if [ "$(uname -s)" != "Darwin" ]; then
  echo "make_dmg.sh: needs macOS (hdiutil)" >&2
  exit 2
fi
if [ $# -ne 2 ]; then
  echo "usage: $0 APP_BUNDLE OUTPUT.dmg" >&2
  exit 2
fi

app="$1"
dmg="$2"
volname="RAXE Desktop"
[ -d "$app/Contents/MacOS" ] || { echo "make_dmg.sh: not an app bundle: $app" >&2; exit 2; }

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
# ditto keeps symlinks, extended attributes and code signatures intact (cp -R may not).
ditto "$app" "$staging/$(basename "$app")"
ln -s /Applications "$staging/Applications"

rm -f "$dmg"
# hdiutil create fails now and then with "Resource busy" (Spotlight or XProtect still
# scanning the staged files, notably on CI runners): try three times.
tries=3
for try in $(seq 1 "$tries"); do
  if hdiutil create -quiet -volname "$volname" -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$dmg"; then
    break
  fi
  if [ "$try" -eq "$tries" ]; then
    echo "make_dmg.sh: hdiutil create failed $tries times" >&2
    exit 1
  fi
  echo "make_dmg.sh: hdiutil create failed (try $try of $tries); retrying in 5 s" >&2
  rm -f "$dmg"
  sleep 5
done

if [ -n "${RAXE_CODESIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$RAXE_CODESIGN_IDENTITY" "$dmg"
fi
hdiutil verify -quiet "$dmg"
echo "$dmg"
