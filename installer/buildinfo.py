"""Facts about the build shared by the spec, build.py and the tests: name, version, ids.

No PyInstaller and no Qt imports here, so the tests can use it anywhere.
"""

from __future__ import annotations

import plistlib
import re
from pathlib import Path

APP_NAME = "raxe-desktop"
DISPLAY_NAME = "RAXE Desktop"
PUBLISHER = "RAXE Desktop team"
SUMMARY = "Privacy-first tray app that warns when copied or selected text is a threat"
#: macOS CFBundleIdentifier (the app's LaunchAgent label uses the same string).
BUNDLE_ID = "ai.raxe.desktop"

ROOT = Path(__file__).resolve().parent.parent


def project_version(root: Path = ROOT) -> str:
    """The ``[project] version`` from pyproject.toml (single source of truth)."""
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
        if not match:
            raise ValueError("no version in pyproject.toml") from None
        return match.group(1)
    return tomllib.loads(text)["project"]["version"]


def version_tuple(version: str) -> tuple[int, int, int, int]:
    """``0.1.0`` -> ``(0, 1, 0, 0)``; pre-release suffixes are dropped (``1.2.0rc1`` -> 1.2.0.0)."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("+")[0])[:3]]
    numbers += [0] * (4 - len(numbers))
    return (numbers[0], numbers[1], numbers[2], numbers[3])


def render_windows_version_file(template: Path, out: Path, version: str) -> str:
    """Fill the VSVersionInfo template for PyInstaller's ``version=``; returns the file path."""
    vt = version_tuple(version)
    text = template.read_text(encoding="utf-8")
    text = text.replace("@VERSION_TUPLE@", repr(vt))
    text = text.replace("@VERSION_DOTTED@", ".".join(str(n) for n in vt))
    text = text.replace("@VERSION@", version)
    text = text.replace("@DISPLAY_NAME@", DISPLAY_NAME)
    text = text.replace("@PUBLISHER@", PUBLISHER)
    text = text.replace("@APP_NAME@", APP_NAME)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return str(out)


def macos_info_plist(path: Path, version: str) -> dict:
    """Info.plist keys for BUNDLE(): the checked-in file plus the version."""
    with path.open("rb") as fp:
        info = plistlib.load(fp)
    info["CFBundleShortVersionString"] = version
    info["CFBundleVersion"] = ".".join(str(n) for n in version_tuple(version)[:3])
    return info
