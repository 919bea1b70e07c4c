"""Render the hand-drawn SVG icons in resources/icons/ to PNGs (run after editing an SVG).

    QT_QPA_PLATFORM=offscreen python resources/render_icons.py

Tray states at 16-64 px; the application icon at 16-256 px (names fit a .desktop file's
``Icon=raxe-desktop`` and hicolor theme sizes).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

HERE = Path(__file__).resolve().parent / "icons"
STATES = ("active", "paused", "alert", "error")
STATE_SIZES = (16, 24, 32, 48, 64)
APP_SIZES = (16, 32, 48, 64, 128, 256)


def render(svg: Path, size: int, out: Path) -> None:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"invalid SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out)):
        raise SystemExit(f"could not write {out}")


def main() -> int:
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for state in STATES:
        for size in STATE_SIZES:
            render(HERE / f"{state}.svg", size, HERE / f"{state}-{size}.png")
    for size in APP_SIZES:
        render(HERE / "raxe-desktop.svg", size, HERE / f"raxe-desktop-{size}.png")
    print(f"rendered icons into {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
