"""The clipboard watcher (GUI thread only).

Each change is classified at once (secret / own write / unchanged / no text / normal) from the
formats alone; plain text is copied out immediately and ``QMimeData`` never leaves this object.
Bursts are folded by a single-shot timer: the newest change wins, nothing queues up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QMimeData, QObject, QTimer, Signal
from PySide6.QtGui import QClipboard

from desktop.app.decisions import (
    DEFAULT_MAX_CHARS,
    ChangeKind,
    RecentHashes,
    Source,
    bound_text,
    classify_change,
)
from desktop.app.qtcompat import emit
from desktop.platform import Platform

#: How long a mark of our own write waits for the change it announces (seconds).
OWN_WRITE_TTL_S = 5.0


@dataclass(frozen=True)
class Sample:
    """Plain text taken from the clipboard or the selection, with what we know about it."""

    text: str
    text_hash: str
    source: Source
    truncated: bool = False
    total_chars: int = 0


def read_mime(
    mime: QMimeData | None,
    platform: Platform,
    hasher: Callable[[str], str],
    max_chars: int,
) -> tuple[ChangeKind, Sample | None, str | None]:
    """Classify one clipboard state; returns (kind, sample-without-source, hash)."""
    if mime is None:
        return ChangeKind.NO_TEXT, None, None
    formats = list(mime.formats())
    if platform.is_secret(formats, lambda f: bytes(mime.data(f).data())):
        return ChangeKind.SECRET, None, None
    if not mime.hasText():
        return ChangeKind.NO_TEXT, None, None
    full = mime.text()
    text, cut = bound_text(full, max_chars)
    if not text.strip():
        return ChangeKind.EMPTY, None, None
    digest = hasher(text)
    return ChangeKind.NORMAL, Sample(text, digest, Source.CLIPBOARD, cut, len(full)), digest


class ClipboardWatcher(QObject):
    #: A sample worth scanning (``Sample``).
    sample = Signal(object)
    #: A change that was not scanned: (kind, source).
    skipped = Signal(str, str)
    #: The one-shot "ignore next copy" flag was used up by a copy (the menu unchecks it).
    ignore_next_used = Signal()

    def __init__(
        self,
        clipboard: QClipboard,
        platform: Platform,
        hasher: Callable[[str], str],
        *,
        debounce_ms: int = 120,
        max_chars: int = DEFAULT_MAX_CHARS,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self._cb, self._platform, self._hasher = clipboard, platform, hasher
        self.max_chars = max_chars
        self._clock = clock
        self.recent = RecentHashes()
        #: Keyed hash -> when (clock) the mark lapses: texts we are about to put there.
        self._own: dict[str, float] = {}
        self._pending: dict[Source, Sample | None] = {}
        self._ignore_next = False
        self.watch_clipboard = True
        self.watch_selection = False
        #: Set while the hotkey path copies the selection itself.
        self.suspended = False
        self._timers: dict[Source, QTimer] = {}
        for source in (Source.CLIPBOARD, Source.SELECTION):
            t = QTimer(self)
            t.setSingleShot(True)
            t.setInterval(debounce_ms)
            t.timeout.connect(lambda s=source: self._flush(s))
            self._timers[source] = t
        clipboard.dataChanged.connect(lambda: self._changed(Source.CLIPBOARD))
        clipboard.selectionChanged.connect(lambda: self._changed(Source.SELECTION))
        self._poll: QTimer | None = None
        self._count = platform.clipboard_change_count()
        if platform.needs_clipboard_poll and self._count is not None:
            # macOS posts no change signal for other apps' writes: poll its change count.
            self._poll = QTimer(self)
            self._poll.setInterval(500)
            self._poll.timeout.connect(self._poll_count)
            self._poll.start()

    # -- controls ---------------------------------------------------------------------------
    def set_ignore_next(self, on: bool = True) -> None:
        self._ignore_next = on

    @property
    def ignore_next(self) -> bool:
        return self._ignore_next

    def register_own(self, text: str) -> None:
        """The clipboard is about to hold ``text`` by our own doing: do not scan that change.

        The mark is used up by that one change and lapses after ``OWN_WRITE_TTL_S`` when no
        change comes: the same text copied later by the user is scanned as any other.
        Hashed over the same cut as a change is (``max_chars``), or a long text would not
        be recognised."""
        now = self._clock()
        self._own = {h: until for h, until in self._own.items() if until > now}
        self._own[self._hasher(bound_text(text, self.max_chars)[0])] = now + OWN_WRITE_TTL_S

    def write_text(self, text: str) -> None:
        """Put text on the clipboard ourselves; the resulting change is not scanned."""
        self.register_own(text)
        self._cb.setText(text, QClipboard.Mode.Clipboard)

    def clear(self) -> None:
        self._cb.clear(QClipboard.Mode.Clipboard)

    def current(self, source: Source = Source.MANUAL) -> tuple[ChangeKind, Sample | None]:
        """Read the clipboard now (for "Scan clipboard now"); no dedup, no debounce."""
        mode = (
            QClipboard.Mode.Selection if source is Source.SELECTION else QClipboard.Mode.Clipboard
        )
        kind, sample, _ = read_mime(
            self._cb.mimeData(mode), self._platform, self._hasher, self.max_chars
        )
        if sample is not None:
            sample = Sample(
                sample.text, sample.text_hash, source, sample.truncated, sample.total_chars
            )
        return kind, sample

    # -- change handling --------------------------------------------------------------------
    def _poll_count(self) -> None:
        count = self._platform.clipboard_change_count()
        if count is not None and count != self._count:
            self._count = count
            self._changed(Source.CLIPBOARD)

    def _changed(self, source: Source) -> None:
        enabled = self.watch_clipboard if source is Source.CLIPBOARD else self.watch_selection
        if not enabled or self.suspended:
            return
        mode = (
            QClipboard.Mode.Selection if source is Source.SELECTION else QClipboard.Mode.Clipboard
        )
        kind, sample, digest = read_mime(
            self._cb.mimeData(mode), self._platform, self._hasher, self.max_chars
        )
        if kind is ChangeKind.NORMAL:
            now = self._clock()
            kind = classify_change(
                secret=False,
                has_text=True,
                text_hash=digest,
                own_writes=[h for h, until in self._own.items() if until > now],
                recent=self.recent,
                now=now,
            )
            if kind is ChangeKind.OWN_WRITE:
                del self._own[digest]  # one change per mark
        if kind is ChangeKind.NORMAL and source is Source.CLIPBOARD and self._ignore_next:
            self._ignore_next = False
            emit(self.skipped, "ignored_by_user", source.value)
            emit(self.ignore_next_used)
            self._pending[source] = None
            return
        if kind is not ChangeKind.NORMAL:
            emit(self.skipped, kind.value, source.value)
            # The newest state wins, even when it is not scanned: a text copied just before
            # it, still waiting out the debounce, is no longer what the clipboard holds.
            self._pending[source] = None
            return
        assert sample is not None
        self._pending[source] = Sample(
            sample.text, sample.text_hash, source, sample.truncated, sample.total_chars
        )
        self._timers[source].start()

    def _flush(self, source: Source) -> None:
        sample = self._pending.pop(source, None)
        if sample is None:
            return
        self.recent.add(sample.text_hash, self._clock())
        emit(self.sample, sample)
