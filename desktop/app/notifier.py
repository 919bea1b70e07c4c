"""The one bridge for user-facing messages: the controller says ``notify(finding)``; the
notifier picks a tray balloon, the fallback popup, or (rate-limited) only the log.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from desktop.app.decisions import RateLimiter
from desktop.app.eventlog import EventLog
from desktop.app.findings import Finding
from desktop.app.qtcompat import emit
from desktop.app.settings import MAX_NOTIFY_S
from desktop.app.windows import FallbackPopup
from desktop.detection.categories import Severity

#: Notification servers that accept markup in the body (freedesktop ``body-markup``) would
#: render ``<a href=…>`` or ``<img …>`` from a hostile text; look-alikes read the same.
_MARKUP_FREE = str.maketrans({"<": "\u2039", ">": "\u203a", "&": "\uff06"})


def tray_safe(text: str, limit: int = 400) -> str:
    """``text`` for a system notification: no markup characters, one bounded paragraph."""
    text = " ".join(text.translate(_MARKUP_FREE).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def choose_channel(
    style: str, tray_available: bool, supports_messages: bool, platform_name: str
) -> str:
    """``tray`` or ``popup``. macOS drops clicks on tray messages, so it gets the popup."""
    if style == "popup" or not (tray_available and supports_messages):
        return "popup"
    if style == "tray":
        return "tray"
    return "popup" if platform_name == "macos" else "tray"


class Notifier(QObject):
    details_requested = Signal(object)  # Finding
    #: (channel, finding) after something was shown.
    shown = Signal(str, object)

    def __init__(
        self,
        tray: QSystemTrayIcon | None,
        events: EventLog,
        *,
        platform_name: str,
        style: str = "auto",
        duration_s: int = 10,
        burst: int = 3,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.tray, self.events = tray, events
        self.platform_name, self.style, self.duration_s = platform_name, style, duration_s
        self.limiter = RateLimiter(burst=burst)
        self._clock = clock
        self._last_tray: Finding | None = None
        self.popups: list[FallbackPopup] = []
        if tray is not None:
            tray.messageClicked.connect(self._tray_clicked)

    def duration_ms(self) -> int:
        """How long a message stays, bounded (Qt's timers take a 32-bit count of ms)."""
        return max(1, min(int(self.duration_s), MAX_NOTIFY_S)) * 1000

    def channel(self) -> str:
        tray_ok = (
            self.tray is not None
            and self.tray.isVisible()
            and QSystemTrayIcon.isSystemTrayAvailable()
        )
        return choose_channel(
            self.style, tray_ok, QSystemTrayIcon.supportsMessages(), self.platform_name
        )

    def notify(self, finding: Finding) -> str:
        explicit = finding.source.explicit
        if not explicit and not self.limiter.allow(self._clock()):
            self.events.log(
                "notify_suppressed",
                request_id=finding.request_id,
                category=finding.category.label,
                reason="rate_limit",
            )
            return "suppressed"
        channel = self.channel()
        title, body = finding.title(), finding.message()
        folded = self.limiter.take_suppressed()
        if folded:
            body += f" ({folded} more warning{'s' if folded > 1 else ''} held back.)"
        if channel == "tray":
            icon = (
                QSystemTrayIcon.MessageIcon.Information
                if finding.decision.answer_clean or not finding.result.is_threat
                else QSystemTrayIcon.MessageIcon.Critical
                if finding.severity >= Severity.CRITICAL
                else QSystemTrayIcon.MessageIcon.Warning
            )
            self._last_tray = finding
            self.tray.showMessage(tray_safe(title), tray_safe(body), icon, self.duration_ms())
        else:
            popup = FallbackPopup(finding, self.duration_ms(), title=title, body=body)
            popup.details_requested.connect(self.details_requested)
            popup.destroyed.connect(lambda *_, p=popup: self._forget(p))
            self.popups.append(popup)
            popup.show_at_corner()
        self.events.log(
            "notified",
            channel=channel,
            request_id=finding.request_id,
            source=finding.source.value,
            category=finding.category.label,
            severity=finding.severity.label,
            confidence=round(finding.result.confidence, 4),
            answer_clean=finding.decision.answer_clean,
            hash=finding.text_hash,
        )
        emit(self.shown, channel, finding)
        return channel

    def say(self, title: str, body: str, *, error: bool = False) -> str:
        """A plain message (no finding): e.g. "no text selected" for an explicit scan."""
        channel = self.channel()
        if channel == "tray":
            icon = (
                QSystemTrayIcon.MessageIcon.Critical
                if error
                else QSystemTrayIcon.MessageIcon.Information
            )
            self._last_tray = None
            self.tray.showMessage(tray_safe(title), tray_safe(body), icon, self.duration_ms())
        else:
            popup = FallbackPopup(None, self.duration_ms(), title=title, body=body)
            popup.destroyed.connect(lambda *_, p=popup: self._forget(p))
            self.popups.append(popup)
            popup.show_at_corner()
        self.events.log("said", channel=channel, error=error)
        return channel

    def _forget(self, popup: FallbackPopup) -> None:
        if popup in self.popups:
            self.popups.remove(popup)

    def _tray_clicked(self) -> None:
        if self._last_tray is not None:
            self.events.log("notification_clicked", request_id=self._last_tray.request_id)
            emit(self.details_requested, self._last_tray)
