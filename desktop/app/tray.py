"""The tray icon and its menu. Only presentation: actions are signals the controller handles."""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop.app.icons import state_icon
from desktop.app.notifier import tray_safe
from desktop.app.qtcompat import emit

PAUSE_CHOICES = (("15 minutes", 15 * 60.0), ("1 hour", 3600.0), ("Until resumed", math.inf))


class TrayUI(QObject):
    scan_now = Signal()
    pause = Signal(float)  # seconds; math.inf = until resumed
    resume = Signal()
    ignore_next = Signal(bool)
    show_last_warning = Signal()
    show_history = Signal()
    show_settings = Signal()
    show_about = Signal()
    quit = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.icons = {s: state_icon(s) for s in ("active", "paused", "alert", "error")}
        self.state = "active"
        self.icon = QSystemTrayIcon(self.icons["active"])
        self.icon.setToolTip("RAXE Desktop")
        self.menu = QMenu()
        m = self.menu
        self.status_action = m.addAction("Starting…")
        self.status_action.setEnabled(False)
        self.hotkey_action = m.addAction("Hotkey: starting…")
        self.hotkey_action.setEnabled(False)
        m.addSeparator()
        self.scan_action = m.addAction("Scan clipboard now")
        self.scan_action.triggered.connect(self.scan_now)
        self.pause_menu = m.addMenu("Pause")
        for label, seconds in PAUSE_CHOICES:
            act = self.pause_menu.addAction(label)
            act.triggered.connect(lambda _=False, s=seconds: emit(self.pause, s))
        self.resume_action = m.addAction("Resume")
        self.resume_action.triggered.connect(self.resume)
        self.resume_action.setVisible(False)
        self.ignore_action = QAction("Ignore next copy", m)
        self.ignore_action.setCheckable(True)
        self.ignore_action.toggled.connect(self.ignore_next)
        m.addAction(self.ignore_action)
        m.addSeparator()
        # The last warning's Details (its text is held in memory only): a missed one can
        # still be acted on. Disabled until there is one.
        self.last_warning_action = m.addAction("Show last warning…")
        self.last_warning_action.triggered.connect(self.show_last_warning)
        self.last_warning_action.setEnabled(False)
        m.addAction("Recent detections…").triggered.connect(self.show_history)
        m.addAction("Settings…").triggered.connect(self.show_settings)
        m.addAction("About").triggered.connect(self.show_about)
        m.addSeparator()
        m.addAction("Quit").triggered.connect(self.quit)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.menu.popup(self.icon.geometry().center())

    def set_state(self, state: str, status: str, detail: str = "") -> None:
        """``detail``: a second tooltip line (e.g. why the detector runs rules-only)."""
        self.state = state
        self.icon.setIcon(self.icons[state])
        # A tooltip may be taken for rich text: no markup characters from a reason.
        lines = [f"RAXE Desktop — {tray_safe(status)}"] + ([tray_safe(detail)] if detail else [])
        self.icon.setToolTip("\n".join(lines))
        self.status_action.setText(status)
        self.status_action.setToolTip(tray_safe(detail))

    def set_paused(self, paused: bool) -> None:
        self.resume_action.setVisible(paused)
        self.pause_menu.setEnabled(not paused)

    def set_ignore_next(self, on: bool) -> None:
        """Show the one-shot flag's state (e.g. unchecked once a copy used it)."""
        self.ignore_action.setChecked(on)

    def set_last_warning(self, available: bool) -> None:
        self.last_warning_action.setEnabled(available)

    def set_hotkey_status(self, text: str) -> None:
        self.hotkey_action.setText(text)

    def show(self) -> None:
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon.show()
