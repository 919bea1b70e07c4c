"""Icons from ``resources/`` (beside the package, or inside a frozen bundle)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon

STATES = ("active", "paused", "alert", "error")
STATE_SIZES = (16, 24, 32, 48, 64)
APP_SIZES = (16, 32, 48, 64, 128, 256)


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def state_icon(state: str) -> QIcon:
    base = resources_dir() / "icons"
    icon = QIcon()
    for size in STATE_SIZES:
        png = base / f"{state}-{size}.png"
        if png.exists():
            icon.addFile(str(png))
    if icon.isNull():
        icon.addFile(str(base / f"{state}.svg"))
    return icon


def app_icon() -> QIcon:
    base = resources_dir() / "icons"
    icon = QIcon()
    for size in APP_SIZES:
        png = base / f"raxe-desktop-{size}.png"
        if png.exists():
            icon.addFile(str(png))
    return icon if not icon.isNull() else state_icon("active")
