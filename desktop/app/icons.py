"""Icons from ``resources/`` (beside the package, or inside a frozen bundle)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QImage, QPainter

import desktop.app.qtcompat  # noqa: F401 - also an entry point (render_svg for the installer)

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


def render_svg(svg: Path, size: int) -> bytes:
    """Render an SVG to a square PNG (bytes) with QtSvg; needs no display.

    Used by ``resources/render_icons.py`` and by the installer for sizes the
    pre-rendered PNGs lack.
    """
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["raxe-icons"])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"invalid SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ValueError(f"could not encode {svg} at {size} px")
    buffer.close()
    return bytes(array.data())
