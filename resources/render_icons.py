"""Render the hand-drawn SVG icons in resources/icons/ to PNGs (run after editing an SVG).

    QT_QPA_PLATFORM=offscreen python resources/render_icons.py

Tray states at 16-64 px; the application icon at 16-256 px (names fit a .desktop file's
``Icon=raxe-desktop`` and hicolor theme sizes).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop.app.icons import APP_SIZES, STATE_SIZES, STATES, render_svg  # noqa: E402

HERE = Path(__file__).resolve().parent / "icons"


def render(svg: Path, size: int, out: Path) -> None:
    out.write_bytes(render_svg(svg, size))


def main() -> int:
    for state in STATES:
        for size in STATE_SIZES:
            render(HERE / f"{state}.svg", size, HERE / f"{state}-{size}.png")
    for size in APP_SIZES:
        render(HERE / "raxe-desktop.svg", size, HERE / f"raxe-desktop-{size}.png")
    print(f"rendered icons into {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
