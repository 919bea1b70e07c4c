"""The controller: wires watcher -> worker -> decisions -> notifier/history, and the tray."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QClipboard
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

import desktop
from desktop.app.clipboard import ClipboardWatcher, Sample, read_mime
from desktop.app.decisions import (
    DEFAULT_MAX_CHARS,
    Action,
    ChangeKind,
    PauseState,
    Source,
    Verdict,
    decide,
    keyed_hash,
)
from desktop.app.env import AppEnv
from desktop.app.eventlog import EventLog
from desktop.app.findings import Finding, RecentFindings, redacted_preview
from desktop.app.history import Opened, open_history
from desktop.app.hotkey import HotkeyListener, SelectionReader, pretty_combo, pynput_sender
from desktop.app.notifier import Notifier
from desktop.app.qtcompat import APPLIED as QT_WORKAROUNDS
from desktop.app.settings import Settings
from desktop.app.tray import TrayUI
from desktop.app.windows import DetailsWindow, HistoryWindow, SettingsDialog
from desktop.app.worker import RedactJob, ScanResponse, ScanService
from desktop.detection.detector import DEFAULT_MAX_CHARS as DETECTOR_MAX_CHARS
from desktop.detection.redaction import WITHHELD
from desktop.platform import Platform
from desktop.platform.keystore import HashKey, load_hash_key

T = TypeVar("T")

ALERT_MS = 30_000
#: How often a history file that could not be opened is tried again.
REOPEN_INTERVAL_MS = 60_000
#: How often the history's retention is applied while the app runs.
RETENTION_INTERVAL_MS = 3_600_000
#: How many findings' redacted copies are remembered (so "Clear clipboard" still applies).
REDACTED_KEPT = 20
SKIP_MESSAGES = {
    ChangeKind.SECRET: "the content is marked secret by a password manager, so it was not read",
    ChangeKind.NO_TEXT: "there is no text to scan",
    ChangeKind.EMPTY: "there is no text to scan",
}


class RaxeApp(QObject):
    def __init__(
        self,
        env: AppEnv,
        events: EventLog,
        platform: Platform,
        detector_factory: Callable[[], Any],
        *,
        key: HashKey | None = None,
        key_sender: Callable[[str], None] = pynput_sender,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.env, self.events, self.platform, self._clock = env, events, platform, clock
        env.config_dir.mkdir(parents=True, exist_ok=True)
        self.settings = Settings(env.config_dir)
        self.key = key or load_hash_key(
            env.config_dir, env.key_store, profile_in_use=env.history_path.exists()
        )
        opened = open_history(env.history_path)
        self.history = opened.history
        #: Told once the tray is up (start): why the history is new or only in memory.
        self.history_notice = history_notice(opened)
        if opened.problem:
            self.events.log(
                "history_problem",
                problem=opened.problem,
                error=opened.error,
                moved_to=opened.moved_to.name if opened.moved_to else None,
            )
        #: While the history is kept in memory: try the file again now and then.
        self._reopen_timer = QTimer(self)
        self._reopen_timer.setInterval(REOPEN_INTERVAL_MS)
        self._reopen_timer.timeout.connect(self._reopen_history)
        if opened.problem == "unavailable":
            self._reopen_timer.start()
        self.apply_retention()
        self.findings = RecentFindings()
        self.pause_state = PauseState()
        self.state = "starting"
        self.status = "Loading the detector…"
        self.hotkey_reason = ""
        self.windows: list[Any] = []
        #: request id -> (keyed hash, length, length) of the redacted copy written for it.
        self._redacted: dict[int, tuple[str, int, int]] = {}
        #: redact job id -> (finding, window) while the worker makes the redacted copy.
        self._masking: dict[int, tuple[Finding, DetailsWindow]] = {}
        self.last_error = ""
        #: Why the detector runs rules-only (shown in the tooltip and About), or "".
        self.mode_reason = ""
        #: The detector's load error: the status keeps saying so (not "Last scan failed").
        self.load_error = ""

        clipboard = QApplication.clipboard()
        self.clipboard: QClipboard = clipboard
        self.watcher = ClipboardWatcher(clipboard, platform, self.hash, parent=self)
        self.watcher.sample.connect(self._on_sample)
        self.watcher.skipped.connect(
            lambda kind, source: self.events.log("clipboard_skipped", kind=kind, source=source)
        )
        self.hotkey = HotkeyListener(self)
        self.hotkey.triggered.connect(self.scan_selection)
        self.selection = SelectionReader(
            clipboard,
            platform,
            key_sender,
            on_own_write=self._register_own,
            pressed=self.hotkey.pressed,  # the copy shortcut waits for the hotkey's keys
            parent=self,
        )
        self.selection.done.connect(self._on_selection)

        self.tray = TrayUI(self)
        self.tray.scan_now.connect(self.scan_clipboard_now)
        self.tray.pause.connect(self.pause)
        self.tray.resume.connect(self.resume)
        self.tray.ignore_next.connect(self.watcher.set_ignore_next)
        self.watcher.ignore_next_used.connect(lambda: self.tray.set_ignore_next(False))
        self.tray.show_last_warning.connect(self.open_last_warning)
        self.tray.show_history.connect(self.open_history)
        self.tray.show_settings.connect(self.open_settings)
        self.tray.show_about.connect(self.open_about)
        self.tray.quit.connect(self.quit)
        self.notifier = Notifier(self.tray.icon, events, platform_name=platform.name, parent=self)
        self.notifier.details_requested.connect(self.open_details)
        self.notifier.shown.connect(self._on_shown)

        self._pause_timer = QTimer(self)
        self._pause_timer.setSingleShot(True)
        self._pause_timer.timeout.connect(self.resume)
        self._alert_timer = QTimer(self)
        self._alert_timer.setSingleShot(True)
        self._alert_timer.timeout.connect(self._refresh_state)
        #: The history's retention holds while the app runs, not only at start.
        self._retention_timer = QTimer(self)
        self._retention_timer.setInterval(RETENTION_INTERVAL_MS)
        self._retention_timer.timeout.connect(self.apply_retention)
        self._retention_timer.start()

        self.scanner = ScanService(detector_factory, self)
        w = self.scanner
        w.ready.connect(self._on_ready)
        w.load_failed.connect(self._on_load_failed)
        w.finished.connect(self._on_result)
        w.failed.connect(self._on_failed)
        w.dropped.connect(self._on_dropped)
        w.redacted.connect(self._on_redacted)
        self.apply_settings()
        self.events.log("key_store", backend=self.key.backend)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.tray.show()
        self._refresh_state()
        if self.history_notice:
            self.notifier.say("RAXE: detection history", self.history_notice, error=True)
            self.history_notice = ""
        if self.key.notice:  # the keychain holding the key is away: marks will not match
            self.notifier.say("RAXE: hashing key", self.key.notice, error=True)
        self.scanner.start()
        self.events.log(
            "started",
            version=desktop.__version__,
            platform=self.platform.name,
            tray_available=QSystemTrayIcon.isSystemTrayAvailable(),
            tray_visible=self.tray.icon.isVisible(),
            notify_channel=self.notifier.channel(),
            hotkey=self.hotkey_reason or "ok",
            qt_workarounds=list(QT_WORKAROUNDS),
        )

    def shutdown(self, worker_timeout_ms: int = 60_000) -> bool:
        """Stop everything; False when the worker thread was still scanning at the deadline
        (the caller must then end the process without Qt's teardown, which would abort)."""
        self.tray.icon.hide()  # the user sees the app go at once, even during a long scan
        self.hotkey.stop()
        stopped = self.scanner.stop(worker_timeout_ms)
        if not stopped:
            self.events.log("worker_still_running", timeout_ms=worker_timeout_ms)
        self.history.close()
        self.settings.sync()
        self.events.log("stopped")
        return stopped

    def quit(self) -> None:
        self.events.log("quit_requested")
        QApplication.quit()

    def hash(self, text: str) -> str:
        return keyed_hash(self.key.key, text)

    def _with_history(self, op: str, call: Callable[[], T], default: T) -> T:
        """``call()``; a database error (locked, disk full, read-only, damaged) is logged by
        type and ``default`` returned: the history must never stand between a scan and its
        warning."""
        try:
            return call()
        except sqlite3.Error as exc:
            self.events.log("history_failed", op=op, error=type(exc).__name__)
            return default

    def apply_retention(self) -> int:
        """Delete detections older than the retention setting; returns how many went."""
        days = int(self.settings.get("history/retention_days"))
        removed = self._with_history("retention", lambda: self.history.apply_retention(days), 0)
        self.events.log("history_retention", removed=removed, days=days)
        return removed

    def _reopen_history(self) -> None:
        """The history file could not be opened at start (locked, say): try it again; once
        it opens, what was kept in memory meanwhile moves into it."""
        opened = open_history(self.env.history_path, open_timeout=0.2)
        if opened.problem:
            opened.history.close()
            return
        self._reopen_timer.stop()
        memory, self.history = self.history, opened.history
        self._with_history("absorb", lambda: self.history.absorb(memory), None)
        memory.close()
        for win in self.windows:  # an open Recent detections window follows the file
            if isinstance(win, HistoryWindow):
                win.history = self.history
                win.refresh()
        self.events.log("history_reopened")
        self.apply_retention()

    def _register_own(self, text: str) -> None:
        self.watcher.register_own(text)

    def apply_settings(self) -> None:
        s = self.settings
        self.watcher.watch_clipboard = bool(s.get("monitor/clipboard"))
        self.watcher.watch_selection = (
            bool(s.get("monitor/selection")) and self.platform.has_primary_selection
        )
        self.watcher.max_chars = max(1, min(int(s.get("scan/max_chars")), DETECTOR_MAX_CHARS))
        self.notifier.style = s.get("notify/style")
        self.notifier.duration_s = int(s.get("notify/duration_s"))  # bounded by the setting
        self.notifier.limiter.burst = int(s.get("notify/burst"))
        self.policies = s.policies()
        self.notify_low_pii = bool(s.get("notify/low_pii"))
        combo = s.get("hotkey/combo")
        if self.env.hotkey and s.get("hotkey/enabled"):
            support = self.hotkey.start(combo, self.platform.hotkey_support())
        else:
            self.hotkey.stop()
            from desktop.platform import HotkeySupport

            support = HotkeySupport(False, "turned off")
        self.hotkey_reason = "" if support.available else support.reason
        self.tray.set_hotkey_status(
            f"Hotkey: {pretty_combo(combo)}"
            if support.available
            else f"Hotkey unavailable: {support.reason} — use “Scan clipboard now”"
        )
        self.events.log("hotkey", available=support.available, reason=support.reason)
        # Start at login is not synced here: the autostart entry is one per user, shared by
        # every profile, so only the user's own change in Settings writes it (_settings_saved).

    def set_autostart(self, enabled: bool) -> bool:
        """Create or remove the start-at-login entry; the user is told when that fails."""
        try:
            self.platform.set_autostart(enabled, self.env.launch_command())
        except OSError as exc:
            self.events.log("autostart_failed", enabled=enabled, error=type(exc).__name__)
            self.notifier.say(
                "RAXE: start at login",
                f"Could not {'turn on' if enabled else 'turn off'} start at login "
                f"({type(exc).__name__}).",
                error=True,
            )
            return False
        self.events.log("autostart", enabled=enabled)
        return True

    # -- state ----------------------------------------------------------------------------------
    def paused(self) -> bool:
        return not self.pause_state.active(self._clock())

    def _status_detail(self) -> str:
        """The line under the status in the tooltip: why the detector is not fully there."""
        if self.load_error:
            return self.load_error
        if self.mode_reason:
            return f"Rules-only because: {self.mode_reason}"
        return ""

    def _refresh_state(self) -> None:
        detail = self._status_detail()
        if self.state == "error":
            self.tray.set_state("error", self.status, detail)
        elif self.paused():
            until = self.pause_state.until
            text = (
                "Paused until resumed"
                if math.isinf(until)
                else "Paused until "
                + time.strftime("%H:%M", time.localtime(time.time() + until - self._clock()))
            )
            self.tray.set_state("paused", text, detail)
        elif self._alert_timer.isActive():
            self.tray.set_state("alert", self.status, detail)
        else:
            self.tray.set_state("active", self.status, detail)

    def pause(self, seconds: float) -> None:
        self.pause_state = PauseState(math.inf if math.isinf(seconds) else self._clock() + seconds)
        if not math.isinf(seconds):
            self._pause_timer.start(int(seconds * 1000))
        self.tray.set_paused(True)
        self.events.log("paused", seconds=None if math.isinf(seconds) else seconds)
        self._refresh_state()

    def resume(self) -> None:
        self._pause_timer.stop()
        self.pause_state = PauseState()
        self.tray.set_paused(False)
        self.events.log("resumed")
        self._refresh_state()

    # -- inputs ---------------------------------------------------------------------------------
    def _submit(self, sample: Sample, source: Source) -> None:
        req = self.scanner.submit(
            source,
            sample.text,
            sample.text_hash,
            truncated=sample.truncated,
            total_chars=sample.total_chars,
        )
        self.events.log(
            "scan_requested",
            request_id=req.id,
            source=source.value,
            chars=len(sample.text),
            total_chars=sample.total_chars,
            truncated=sample.truncated,
            hash=sample.text_hash,
        )

    def _on_sample(self, sample: Sample) -> None:
        if self.paused():
            # Not scanned: forget it, so that copying it again after Resume is scanned
            # rather than taken for an unchanged clipboard.
            self.watcher.recent.discard(sample.text_hash)
            self.events.log("clipboard_skipped", kind="paused", source=sample.source.value)
            return
        self._submit(sample, sample.source)

    def scan_clipboard_now(self) -> None:
        kind, sample = self.watcher.current(Source.MANUAL)
        self._explicit(kind, sample, Source.MANUAL, "clipboard")

    def scan_selection(self) -> None:
        self.events.log("hotkey_pressed")
        if not self.platform.has_primary_selection:
            self.watcher.suspended = True
        self.selection.read()

    def _on_selection(self, mime, reason: str) -> None:
        self.watcher.suspended = False
        kind, sample, _ = read_mime(mime, self.platform, self.hash, self.watcher.max_chars)
        self._explicit(kind, sample, Source.HOTKEY, "selection", reason)

    def _explicit(
        self, kind: ChangeKind, sample: Sample | None, source: Source, what: str, reason: str = ""
    ) -> None:
        if sample is None:
            why = SKIP_MESSAGES.get(kind, reason or "there is no text to scan")
            if kind is ChangeKind.NO_TEXT and source is Source.HOTKEY:
                why = "no text is selected" if reason == "primary" else reason or why
            self.events.log("explicit_scan_skipped", source=source.value, kind=kind.value)
            self.notifier.say("RAXE: nothing to scan", f"Nothing scanned: {why}.")
            return
        self._submit(sample, source)

    # -- results --------------------------------------------------------------------------------
    def _on_dropped(self, request, reason: str = "stale") -> None:
        # A newer text from the same source superseded it: forget it, so that copying it
        # again is scanned rather than taken for an unchanged clipboard.
        self.watcher.recent.discard(request.text_hash)
        self.events.log("scan_dropped", request_id=request.id, reason=reason)

    def _on_ready(self, mode: str, reason: str) -> None:
        self.state = "active"
        self.status = "Watching the clipboard" + (f" ({mode})" if mode == "rules-only" else "")
        self.mode_reason = (reason or "no reason given") if mode == "rules-only" else ""
        self.events.log(
            "ready", mode=mode, mode_reason=reason, notify_channel=self.notifier.channel()
        )
        self._refresh_state()

    def _on_load_failed(self, error: str) -> None:
        self.state, self.status = "error", f"Detector failed to load: {error.split(':')[0]}"
        self.last_error = self.load_error = error
        self.events.log("detector_failed", error=error.split(":")[0])
        self._refresh_state()

    def _on_failed(self, request, error: str) -> None:
        etype = error.split(":")[0]
        self.events.log(
            "scan_failed", request_id=request.id, source=request.source.value, error=etype
        )
        if self.load_error:  # no detector: the load error says more than "scan failed"
            if request.source.explicit:
                self.notifier.say(
                    "RAXE: scan failed", f"Nothing scanned: {self.status}.", error=True
                )
            return
        self.state, self.status = "error", f"Last scan failed ({etype}); still watching"
        self.last_error = error
        self._refresh_state()
        if request.source.explicit:
            self.notifier.say("RAXE: scan failed", f"The scan failed ({etype}).", error=True)

    def _on_result(self, resp: ScanResponse) -> None:
        req, result = resp.request, resp.result
        if req.id < self.scanner.latest_id(req.source):
            # A newer copy came while this one was scanned: its warning would be about text
            # that is gone. Treat it as dropped, so copying it again scans it.
            self._on_dropped(req, "superseded")
            return
        if self.state == "error" and self.last_error and not self.last_error.startswith("Detector"):
            self.state, self.status = "active", "Watching the clipboard"
        verdict = Verdict(result.category, result.severity, float(result.confidence))
        marked_safe = self._with_history(
            "is_safe", lambda: self.history.is_safe(req.text_hash), False
        )
        decision = decide(
            verdict,
            self.policies,
            source=req.source,
            paused=self.paused(),
            marked_safe=marked_safe,
            notify_low_pii=self.notify_low_pii,
        )
        latency = (time.monotonic() - req.submitted) * 1000 if req.submitted else 0.0
        self.events.log(
            "scanned",
            request_id=req.id,
            source=req.source.value,
            category=result.category.label,
            severity=result.severity.label,
            confidence=round(float(result.confidence), 4),
            mode=result.mode,
            action=decision.action.value,
            reason=decision.reason,
            detect_ms=round(resp.elapsed_ms, 1),
            latency_ms=round(latency, 1),
            hash=req.text_hash,
        )
        if decision.action is Action.NOTIFY:  # first: the history cannot delay or stop it
            finding = Finding(
                req.id,
                req.source,
                req.text,
                req.text_hash,
                result,
                decision,
                req.truncated,
                req.total_chars,
            )
            self.findings.add(finding)
            self.tray.set_last_warning(self.findings.latest_warning() is not None)
            self._notify(finding)
        if (
            result.is_threat
            and decision.action in (Action.NOTIFY, Action.RECORD)
            and not decision.answer_clean
            and int(self.settings.get("history/retention_days")) > 0  # 0 days: keep no history
        ):
            preview = None
            if self.settings.get("history/redacted_previews"):
                preview = redacted_preview(req.text)
            self._with_history(
                "add",
                lambda: self.history.add(
                    source=req.source.value,
                    category=result.category.label,
                    severity=result.severity.label,
                    confidence=float(result.confidence),
                    text_hash=req.text_hash,
                    preview=preview,
                ),
                None,
            )
        self._refresh_state()

    def _notify(self, finding: Finding) -> None:
        """Show the warning; a failure to show it is logged by type and never stops the
        history write or the next warning."""
        try:
            self.notifier.notify(finding)
        except Exception as exc:  # noqa: BLE001 - the scan's record must still be written
            self.events.log(
                "notify_failed", request_id=finding.request_id, error=type(exc).__name__
            )

    def _on_shown(self, channel: str, finding: Finding) -> None:
        if finding.result.is_threat and not finding.decision.answer_clean:
            self._alert_timer.start(ALERT_MS)
            self._refresh_state()

    # -- windows --------------------------------------------------------------------------------
    def _keep(self, window) -> None:
        self.windows = [w for w in self.windows if w.isVisible()] + [window]
        window.show()
        window.raise_()
        window.activateWindow()

    def open_details(self, finding: Finding) -> DetailsWindow:
        win = DetailsWindow(finding)
        # Bound methods, not lambdas holding the window: a lambda keeps a reference cycle through
        # the connection that the collector cannot break, so every closed window (and the
        # copied text its finding holds) stayed in memory. The slots find their window by sender().
        win.clear_clipboard.connect(self._on_clear_clipboard)
        win.replace_redacted.connect(self._on_replace_redacted)
        win.mark_safe.connect(self._on_mark_safe)
        win.stop_category.connect(self._on_stop_category)
        self._alert_timer.stop()
        self._refresh_state()
        self.events.log("details_opened", request_id=finding.request_id)
        self._keep(win)
        return win

    def open_last_warning(self) -> DetailsWindow | None:
        """Details of the newest warning still held in memory (nothing is read from disk)."""
        finding = self.findings.latest_warning()
        if finding is None:
            return None
        return self.open_details(finding)

    def _on_clear_clipboard(self, finding: Finding) -> None:
        self._clear_clipboard(finding, self.sender())

    def _on_replace_redacted(self, finding: Finding) -> None:
        self._replace_redacted(finding, self.sender())

    def _on_mark_safe(self, finding: Finding) -> None:
        self._mark_safe(finding, self.sender())

    def _on_stop_category(self, finding: Finding) -> None:
        self._stop_category(finding, self.sender())

    def _clipboard_holds(self, finding: Finding) -> bool:
        """Whether the clipboard still holds the finding's text (or the redacted copy we put
        there for it): its keyed hash, over the same cut as when it was scanned (the finding's
        own length), and the same full length."""
        wanted = [(finding.text_hash, len(finding.text), finding.total_chars or len(finding.text))]
        if finding.request_id in self._redacted:
            wanted.append(self._redacted[finding.request_id])
        mime = self.clipboard.mimeData(QClipboard.Mode.Clipboard)
        for digest, cut, total in wanted:
            _, sample, _ = read_mime(mime, self.platform, self.hash, max(1, cut))
            if sample is not None and sample.text_hash == digest and sample.total_chars == total:
                return True
        return False

    def _changed_since(self, finding: Finding, win: DetailsWindow, action: str, done: str) -> bool:
        """True (and the user told) when a newer copy replaced the finding's text.

        Selected text (the hotkey, the primary selection) was never the clipboard's content: a
        redacted copy of it may be put there, but there is nothing of it to clear."""
        if finding.source in (Source.HOTKEY, Source.SELECTION):
            if action != "clear_clipboard":
                return False
            self.events.log("action_refused", name=action, reason="not_on_clipboard")
            win.show_status(
                "This warning is about selected text, not what the clipboard holds; nothing was cleared."
            )
            return True
        if self._clipboard_holds(finding):
            return False
        self.events.log("action_refused", name=action, reason="clipboard_changed")
        win.show_status(f"The clipboard has changed since this warning; nothing was {done}.")
        return True

    def _clear_clipboard(self, finding: Finding, win: DetailsWindow) -> None:
        if self._changed_since(finding, win, "clear_clipboard", "cleared"):
            return
        self.watcher.clear()
        self.events.log("action", name="clear_clipboard")
        win.show_status("Clipboard cleared.")

    def _replace_redacted(self, finding: Finding, win: DetailsWindow) -> None:
        if self._changed_since(finding, win, "replace_redacted", "replaced"):
            return
        if any(f.request_id == finding.request_id for f, _ in self._masking.values()):
            return  # already masking this one: its answer will come
        text = finding.text
        if finding.truncated:  # only a cut was scanned: a copy of it would drop the rest
            text = self._whole_text(finding, win)
            if text is None:
                return
        # A megabyte of text takes seconds to mask and check: the worker thread does it.
        job = self.scanner.redact(finding.request_id, text)
        self._masking[job.id] = (finding, win)
        win.btn_redact.setEnabled(False)
        win.show_status("Masking…")

    def _whole_text(self, finding: Finding, win: DetailsWindow) -> str | None:
        """The whole clipboard text of a finding whose text was cut before its scan, to be
        masked in full; None (and the user told) when there is no whole text to mask."""
        whole = None
        if finding.source not in (Source.HOTKEY, Source.SELECTION):
            mime = self.clipboard.mimeData(QClipboard.Mode.Clipboard)
            whole = mime.text() if mime is not None and mime.hasText() else None
        if whole is None or len(whole) > DEFAULT_MAX_CHARS:
            self.events.log("action_refused", name="replace_redacted", reason="too_long")
            win.show_status(
                "Only the first part of this text was scanned, and the whole of it cannot be "
                f"masked (at most {DEFAULT_MAX_CHARS:,} characters of copied text): nothing was "
                "replaced. Use “Clear clipboard” instead."
            )
            return None
        return whole

    def _on_redacted(self, job: RedactJob, copy: str) -> None:
        finding, win = self._masking.pop(job.id, (None, None))
        if finding is None or win is None:
            return
        win.btn_redact.setEnabled(True)
        # The user may have copied something else while the copy was being made.
        if self._changed_since(finding, win, "replace_redacted", "replaced"):
            return
        self.watcher.write_text(copy)
        self._redacted[finding.request_id] = (self.hash(copy), len(copy), len(copy))
        while len(self._redacted) > REDACTED_KEPT:
            del self._redacted[next(iter(self._redacted))]
        withheld = copy == WITHHELD
        self.events.log(
            "action", name="replace_redacted", request_id=finding.request_id, withheld=withheld
        )
        win.show_status(
            "This text could not be masked safely, so the clipboard now holds a short notice "
            "from RAXE in its place; the text itself is no longer on the clipboard."
            if withheld
            else "The clipboard now holds a redacted copy."
        )

    def _mark_safe(self, finding: Finding, win: DetailsWindow) -> None:
        try:
            self.history.mark_safe(finding.text_hash)
        except sqlite3.Error as exc:
            self.events.log("history_failed", op="mark_safe", error=type(exc).__name__)
            win.show_status(
                f"Could not mark it as safe: the history database failed ({type(exc).__name__})."
            )
            return
        self.events.log("action", name="mark_safe", hash=finding.text_hash)
        win.show_status("Marked as safe: you will not be warned about this text again.")

    def _stop_category(self, finding: Finding, win: DetailsWindow) -> None:
        label = finding.category.label
        self.settings.set(f"category/{label}/action", Action.RECORD.value)
        error = self.settings.sync()
        self.policies = self.settings.policies()
        self.events.log("action", name="stop_category", category=label)
        name = finding.category.info.display_name.lower()
        if error:
            self.events.log("settings_not_saved", error=error)
            win.show_status(
                f"No more warnings about {name} until RAXE Desktop restarts: the setting could "
                "not be saved, so it applies to this session only."
            )
            return
        win.show_status(
            f"No more warnings about {name} (still recorded in history; change it in Settings)."
        )

    def open_history(self) -> HistoryWindow:
        win = HistoryWindow(self.history)
        self._keep(win)
        return win

    def open_settings(self) -> SettingsDialog:
        # The checkbox shows whether the entry exists, whatever this profile last saved.
        shown = (
            {"startup/at_login": self.platform.autostart_enabled()}
            if self.platform.autostart_supported()
            else {}
        )
        dlg = SettingsDialog(
            self.settings,
            self.key.description,
            "" if not self.hotkey_reason else f"Hotkey: {self.hotkey_reason}",
            initial=shown,
        )
        dlg.applied.connect(self._on_settings_applied)  # a bound method: see open_details
        self._keep(dlg)
        return dlg

    def _on_settings_applied(self) -> None:
        self._settings_saved(self.sender())

    def _settings_saved(self, dlg: SettingsDialog) -> None:
        self.apply_settings()
        if "history/retention_days" in dlg.changed:
            self.apply_retention()
        if dlg.save_error:
            self.events.log("settings_not_saved", error=dlg.save_error)
            self.notifier.say(
                "RAXE: settings",
                f"Your settings could not be saved ({dlg.save_error}): they apply to this "
                "session only, until RAXE Desktop restarts.",
                error=True,
            )
        if "startup/at_login" in dlg.changed:
            self.set_autostart(bool(self.settings.get("startup/at_login")))

    def open_about(self) -> QMessageBox:
        lines = [self.status, self._status_detail()]
        box = QMessageBox()
        box.setWindowTitle("About RAXE Desktop")
        box.setTextFormat(self._plain())
        box.setText(
            f"RAXE Desktop {desktop.__version__}\n\nWarns, on the spot and with a reason, "
            "when copied or selected text is a threat. Everything runs on this device; "
            "nothing is sent anywhere.\n\nStatus: " + "\n".join(filter(None, lines))
        )
        box.setIcon(QMessageBox.Icon.Information)
        box.setModal(False)
        self._keep(box)
        return box

    def show_self(self) -> None:
        """A second launch asked us to show ourselves."""
        self.events.log("show_requested")
        self.notifier.say("RAXE Desktop is running", f"{self.status}. Use the tray icon's menu.")

    @staticmethod
    def _plain():
        from PySide6.QtCore import Qt

        return Qt.TextFormat.PlainText


def history_notice(opened: Opened) -> str:
    """What the user is told once when the history could not be opened as it was."""
    if opened.problem == "corrupt" and opened.moved_to is not None:
        return (
            f"The detection history was damaged ({opened.error}): it was moved aside to "
            f"{opened.moved_to.name} and a new one was started."
        )
    if opened.problem:
        return (
            f"The detection history could not be opened ({opened.error}): detections are "
            "kept in memory until it can be (RAXE Desktop tries again every minute)."
        )
    return ""
