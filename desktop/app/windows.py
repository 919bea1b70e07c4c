"""Windows: Details, Recent detections (history), Settings, and the fallback popup.

Clipboard text is shown as plain text only: labels use ``Qt.PlainText`` and editors use
``setPlainText``; evidence spans are highlighted with extra selections, never with markup.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from bisect import bisect_left, bisect_right
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QKeyEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.app.findings import Finding, can_redact
from desktop.app.history import History
from desktop.app.qtcompat import emit
from desktop.app.settings import MAX_NOTIFY_S, SETTINGS, Settings
from desktop.detection.categories import THREAT_CATEGORIES
from desktop.detection.detector import DEFAULT_MAX_CHARS as DETECTOR_MAX_CHARS
from desktop.detection.model import without_surrogates

HIGHLIGHT = QColor(255, 196, 0, 140)
#: Most characters a text view shows: wrapping a long unbroken line takes time quadratic in
#: its length (20,000 characters lay out in well under a second; a million, minutes).
SHOWN_MAX_CHARS = 20_000
#: Bounds of the integer settings: those declared with the setting, and the detector reads
#: no more than its own limit.
INT_RANGES = {s.key: s.bounds for s in SETTINGS if s.bounds is not None} | {
    "scan/max_chars": (1, DETECTOR_MAX_CHARS)
}


def plain_label(text: str = "", *, wrap: bool = True, bold: bool = False) -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if bold:
        font = label.font()
        font.setBold(True)
        label.setFont(font)
    return label


def readonly_text(text: str) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setReadOnly(True)
    edit.setPlainText(text)
    return edit


class EscapeCloses:
    """Mixed into a plain window (QWidget): Escape closes it, as it does a dialog."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        no_modifier = event.modifiers() == Qt.KeyboardModifier.NoModifier
        if event.key() == Qt.Key.Key_Escape and no_modifier:
            self.close()
            return
        super().keyPressEvent(event)


class DetailsWindow(EscapeCloses, QWidget):
    clear_clipboard = Signal(object)
    replace_redacted = Signal(object)
    mark_safe = Signal(object)
    stop_category = Signal(object)

    def __init__(self, finding: Finding, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.finding = finding
        r = finding.result
        self.setWindowTitle(f"RAXE Desktop — {finding.title().removeprefix('RAXE: ')}")
        self.resize(640, 560)
        lay = QVBoxLayout(self)
        self.title_label = plain_label(finding.title(), bold=True)
        lay.addWidget(self.title_label)
        meta = f"Source: {finding.source.value} · confidence {r.confidence:.0%} · {r.mode}"
        lay.addWidget(plain_label(meta))
        self.explanation_label = plain_label(r.explanation or finding.message())
        lay.addWidget(self.explanation_label)
        self.scanned_label = plain_label(finding.partly_scanned_note())
        self.scanned_label.setVisible(finding.partly_scanned)
        lay.addWidget(self.scanned_label)
        lay.addWidget(plain_label("Text (evidence highlighted):", bold=True))
        # Laying out a long unbroken line takes time quadratic in its length: only a bounded
        # slice is shown, the one around the first evidence, and the user is told so.
        n = len(finding.text)
        first = min((e.start for e in r.evidence if 0 <= e.start < e.end <= n), default=0)
        self.shown_span = shown_span(n, first)
        start, end = self.shown_span
        shown, to_shown = display_text(finding.text[start:end])
        self._to_shown = lambda index: to_shown(index - start)
        self.shown_note = plain_label(shown_note(start, end, n))
        self.shown_note.setVisible((start, end) != (0, n))
        lay.addWidget(self.shown_note)
        self.text_view = readonly_text(shown)
        self.text_view.setExtraSelections(self._highlights())
        lay.addWidget(self.text_view, 3)
        details = (r.details or "").strip() or "\n".join(
            f"• {e.message}" + (f" — “{e.excerpt}”" if e.excerpt else "") for e in r.evidence
        )
        if details:
            lay.addWidget(plain_label("Details:", bold=True))
            self.details_view = readonly_text(bounded(details))
            lay.addWidget(self.details_view, 2)
        if r.hidden_content:
            lay.addWidget(plain_label("Decoded hidden content:", bold=True))
            self.hidden_view = readonly_text(
                bounded("\n\n".join(f"[{h.kind}] {h.decoded}" for h in r.hidden_content))
            )
            lay.addWidget(self.hidden_view, 1)
        buttons = QHBoxLayout()
        self.btn_clear = QPushButton("Clear clipboard")
        self.btn_redact = QPushButton("Replace with a redacted copy")
        self.btn_safe = QPushButton("Mark as safe")
        self.btn_stop = QPushButton(f"Stop warning about {r.category.info.display_name.lower()}")
        self.btn_redact.setEnabled(can_redact(r))
        self.btn_stop.setEnabled(r.is_threat)
        self.btn_safe.setEnabled(r.is_threat)
        # Bound methods: a lambda holding self makes a cycle through the connection that the
        # collector cannot break, and the closed window (with the copied text) would stay.
        for btn, slot in (
            (self.btn_clear, self._emit_clear),
            (self.btn_redact, self._emit_redact),
            (self.btn_safe, self._emit_safe),
            (self.btn_stop, self._emit_stop),
        ):
            btn.clicked.connect(slot)
            buttons.addWidget(btn)
        lay.addLayout(buttons)
        self.status_label = plain_label("")
        lay.addWidget(self.status_label)

    def _emit_clear(self) -> None:
        emit(self.clear_clipboard, self.finding)

    def _emit_redact(self) -> None:
        emit(self.replace_redacted, self.finding)

    def _emit_safe(self) -> None:
        emit(self.mark_safe, self.finding)

    def _emit_stop(self) -> None:
        emit(self.stop_category, self.finding)

    def _highlights(self) -> list[QTextEdit.ExtraSelection]:
        out = []
        n = len(self.finding.text)
        low, high = self.shown_span
        fmt = QTextCharFormat()
        fmt.setBackground(HIGHLIGHT)
        for e in self.finding.result.evidence:
            if not (0 <= e.start < e.end <= n):
                continue
            start, end = max(e.start, low), min(e.end, high)  # the part that is shown
            if start >= end:
                continue
            sel = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.text_view.document())
            cursor.setPosition(self._to_shown(start))
            cursor.setPosition(self._to_shown(end), QTextCursor.MoveMode.KeepAnchor)
            sel.cursor = cursor
            sel.format = fmt
            out.append(sel)
        return out

    def show_status(self, text: str) -> None:
        self.status_label.setText(text)


def shown_span(
    length: int, first_evidence: int = 0, limit: int = SHOWN_MAX_CHARS
) -> tuple[int, int]:
    """The slice ``[start, end)`` of a text of ``length`` characters that the Details window
    shows: all of it up to ``limit``; else ``limit`` characters from the start, or, when the
    first evidence lies beyond them, from a little before it."""
    if length <= limit:
        return 0, length
    start = 0 if first_evidence < limit - limit // 4 else first_evidence - limit // 4
    start = min(start, length - limit)
    return start, start + limit


def shown_note(start: int, end: int, length: int) -> str:
    return (
        f"The text is too long to show in full: showing characters {start + 1:,}–{end:,} "
        f"of {length:,}."
    )


def bounded(text: str, limit: int = SHOWN_MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how many more there were."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit:,} more characters not shown)"


def display_text(text: str) -> tuple[str, Callable[[int], int]]:
    """The text as a QTextDocument holds it, and a map from offsets in ``text`` to its
    positions there.

    The document turns CRLF into one paragraph break and drops lone surrogates, and its
    positions count UTF-16 units; evidence offsets count Python characters of the
    original. Here CRLF becomes LF and a lone surrogate U+FFFD (one unit, as it was), so
    only the CRLF merges and characters beyond the BMP move positions.
    """
    shown = without_surrogates(text)
    crlf_ends = [m.start() + 1 for m in re.finditer("\r\n", shown)]
    shown = shown.replace("\r\n", "\n")
    astral = [i for i, c in enumerate(shown) if ord(c) > 0xFFFF] if not shown.isascii() else []

    def to_shown(index: int) -> int:
        index = max(0, min(index, len(text)))
        j = index - bisect_right(crlf_ends, index)  # a CRLF's LF lands on the one break
        return j + bisect_left(astral, j)  # each astral character before j is two units

    return shown, to_shown


class HistoryWindow(EscapeCloses, QWidget):
    def __init__(self, history: History, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.history = history
        self.setWindowTitle("RAXE Desktop — Recent detections")
        self.resize(720, 420)
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Category:"))
        self.filter = QComboBox()
        self.filter.addItem("All", "")
        for c in THREAT_CATEGORIES:
            self.filter.addItem(c.info.display_name, c.label)
        self.filter.currentIndexChanged.connect(self.refresh)
        top.addWidget(self.filter)
        top.addStretch(1)
        self.btn_forget_safe = QPushButton("Forget safe marks…")
        self.btn_forget_safe.setToolTip("Warn again about every text you marked as safe")
        self.btn_forget_safe.clicked.connect(self.forget_safe)
        top.addWidget(self.btn_forget_safe)
        self.btn_clear = QPushButton("Clear history…")
        self.btn_clear.clicked.connect(self.clear_history)
        top.addWidget(self.btn_clear)
        #: Asks (title, question) -> yes; tests replace it.
        self.confirm: Callable[[str, str], bool] = self._ask
        lay.addLayout(top)
        cols = ["Time", "Source", "Category", "Severity", "Confidence", "Hash", "Preview"]
        self.table = QTableWidget(0, len(cols))
        self.table.setHorizontalHeaderLabels(cols)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table)
        self.status_label = plain_label("")
        lay.addWidget(self.status_label)
        self.refresh()

    def refresh(self) -> None:
        try:
            rows = self.history.entries(self.filter.currentData() or None)
        except sqlite3.Error as exc:
            self.status_label.setText(
                f"The history could not be read ({type(exc).__name__}); try again later."
            )
            return
        self.status_label.setText("")
        self.table.setRowCount(len(rows))
        for i, e in enumerate(rows):
            when = dt.datetime.fromtimestamp(e.ts).strftime("%Y-%m-%d %H:%M:%S")
            values = [
                when,
                e.source,
                e.category,
                e.severity,
                f"{e.confidence:.0%}",
                e.text_hash[:12],
                e.preview or "",
            ]
            for j, v in enumerate(values):
                self.table.setItem(i, j, QTableWidgetItem(v))  # items render plain text
        self.table.resizeColumnsToContents()

    def _ask(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(
            self,
            title,
            question,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def forget_safe(self) -> None:
        if not self.confirm(
            "Forget safe marks",
            "Forget every text you marked as safe? You will be warned about them again.",
        ):
            return
        try:
            n = self.history.forget_safe()
        except sqlite3.Error as exc:
            self.status_label.setText(
                f"The safe marks could not be forgotten ({type(exc).__name__}); try again later."
            )
            return
        self.status_label.setText(
            f"{n} safe mark{'' if n == 1 else 's'} forgotten: "
            "you will be warned about those texts again."
        )

    def clear_history(self) -> None:
        if not self.confirm(
            "Clear history", "Delete every recorded detection? This cannot be undone."
        ):
            return
        try:
            self.history.clear()
        except sqlite3.Error as exc:
            self.status_label.setText(
                f"The history could not be cleared ({type(exc).__name__}); try again later."
            )
            return
        self.refresh()


class SettingsDialog(QDialog):
    """Built from the declared settings; per-category action and threshold in a grid."""

    applied = Signal()

    def __init__(
        self,
        settings: Settings,
        key_description: str,
        hotkey_status: str = "",
        parent: QWidget | None = None,
        *,
        initial: dict[str, object] | None = None,
    ):
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("RAXE Desktop — Settings")
        #: Values shown instead of the stored ones (e.g. whether the autostart entry exists).
        self._initial_override = dict(initial or {})
        self.editors: dict[str, Callable[[], object]] = {}
        self.widgets: dict[str, QWidget] = {}
        self._shown: dict[str, object] = {}
        #: After Save: the keys whose editor the user changed from what it first showed.
        self.changed: frozenset[str] = frozenset()
        self.save_error = ""
        lay = QVBoxLayout(self)
        form = QFormLayout()
        for s in SETTINGS:
            if s.key.startswith("category/"):
                continue
            w, getter = self._editor(s)
            w.setToolTip(s.doc)
            form.addRow(s.doc, w)
            self.editors[s.key], self.widgets[s.key] = getter, w
            self._shown[s.key] = getter()
        lay.addLayout(form)
        if hotkey_status:
            lay.addWidget(plain_label(hotkey_status))
        box = QGroupBox("Categories: action and lowest confidence")
        grid = QGridLayout(box)
        for row, c in enumerate(THREAT_CATEGORIES):
            grid.addWidget(QLabel(c.info.display_name), row, 0)
            for col, key in (
                (1, f"category/{c.label}/action"),
                (2, f"category/{c.label}/threshold"),
            ):
                s = next(x for x in SETTINGS if x.key == key)
                w, getter = self._editor(s)
                w.setToolTip(s.doc)
                grid.addWidget(w, row, col)
                self.editors[key], self.widgets[key] = getter, w
                self._shown[key] = getter()
        lay.addWidget(box)
        self.key_label = plain_label(f"History hashing key: {key_description}")
        lay.addWidget(self.key_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _editor(self, s):
        value = self._initial_override.get(s.key, self.settings.get(s.key))
        if s.type is bool:
            w = QCheckBox()
            w.setChecked(bool(value))
            return w, w.isChecked
        if s.choices:
            w = QComboBox()
            w.addItems(list(s.choices))
            w.setCurrentText(str(value))
            return w, w.currentText
        if s.type is int:
            w = QSpinBox()
            w.setRange(*INT_RANGES.get(s.key, (0, 100_000_000)))
            w.setValue(int(value))
            return w, w.value
        if s.type is float:
            w = QDoubleSpinBox()
            w.setRange(0.0, 1.0)
            w.setSingleStep(0.05)
            w.setValue(float(value))
            return w, w.value
        w = QLineEdit(str(value))
        w.setMinimumWidth(220)
        return w, w.text

    def save(self) -> None:
        self.changed = frozenset(k for k, get in self.editors.items() if get() != self._shown[k])
        # Only what the user changed here: a setting changed elsewhere since the dialog
        # opened (e.g. "Stop warning about …" in Details) keeps its newer value.
        for key in sorted(self.changed):
            self.settings.set(key, self.editors[key]())
        #: Why the settings could not be written out ("" when they were).
        self.save_error = self.settings.sync()
        emit(self.applied)
        self.accept()


class FallbackPopup(QWidget):
    """A small always-on-top note where the tray cannot show (or click) messages."""

    details_requested = Signal(object)

    def __init__(
        self,
        finding: Finding | None,
        duration_ms: int,
        parent: QWidget | None = None,
        *,
        title: str = "",
        body: str = "",
    ):
        flags = (
            Qt.WindowType.Tool
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
        )
        super().__init__(parent, flags)
        self.finding = finding
        self.setObjectName("raxePopup")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setStyleSheet("#raxePopup { background: palette(window); border: 1px solid #888; }")
        lay = QVBoxLayout(self)
        self.title_label = plain_label(title or (finding.title() if finding else ""), bold=True)
        self.body_label = plain_label(body or (finding.message() if finding else ""))
        lay.addWidget(self.title_label)
        lay.addWidget(self.body_label)
        row = QHBoxLayout()
        row.addStretch(1)
        self.btn_details = QPushButton("Details…")
        self.btn_dismiss = QPushButton("Dismiss")
        self.btn_details.clicked.connect(self._details)
        self.btn_dismiss.clicked.connect(self.close)
        row.addWidget(self.btn_details)
        row.addWidget(self.btn_dismiss)
        self.btn_details.setVisible(finding is not None)
        lay.addLayout(row)
        self.setFixedWidth(380)
        self.adjustSize()
        if duration_ms > 0:  # bounded: a hand-edited setting must not overflow Qt's timer
            QTimer.singleShot(min(duration_ms, MAX_NOTIFY_S * 1000), self.close)

    def show_at_corner(self) -> None:
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            self.move(area.right() - self.width() - 16, area.bottom() - self.height() - 16)
        self.show()

    def _details(self) -> None:
        emit(self.details_requested, self.finding)
        self.close()
