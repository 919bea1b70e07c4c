"""The global hotkey (pynput on its own thread, re-emitted into Qt by a signal) and the
selection reader it triggers.

On X11 the selection is the PRIMARY selection. Elsewhere the reader sends the platform's copy
shortcut, waits (bounded) for the clipboard to change, reads it and puts the old clipboard back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from PySide6.QtCore import QMimeData, QObject, QTimer, Signal
from PySide6.QtGui import QClipboard

from desktop.app.qtcompat import emit
from desktop.platform import HotkeySupport, Platform


def pretty_combo(combo: str) -> str:
    """``<ctrl>+<alt>+<shift>+r`` -> ``Ctrl+Alt+Shift+R`` for menus."""
    return "+".join(
        part.strip("<>").capitalize() if len(part) > 1 else part.upper()
        for part in combo.split("+")
    )


class HotkeyListener(QObject):
    #: Emitted on the GUI thread when the combo is pressed.
    triggered = Signal()
    _fired = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._listener = None
        # pynput calls back on its own thread; a queued hop lands the handler on the GUI thread.
        self._fired.connect(self.triggered)

    def start(self, combo: str, support: HotkeySupport) -> HotkeySupport:
        self.stop()
        if not support.available:
            return support
        try:
            from pynput import keyboard

            keyboard.HotKey.parse(combo)
            self._listener = keyboard.GlobalHotKeys({combo: lambda: emit(self._fired)})
            self._listener.daemon = True
            self._listener.start()
        except Exception as exc:  # noqa: BLE001 - the app keeps running and says why
            self._listener = None
            return HotkeySupport(False, f"hotkey unavailable ({type(exc).__name__}: {exc})")
        return HotkeySupport(True)

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def pressed(self) -> frozenset:
        """The hotkey's keys the user still holds down, as pynput tracks them (its
        ``HotKey._state``; empty when that is not there)."""
        held: set = set()
        for hotkey in getattr(self._listener, "_hotkeys", ()):
            held |= set(getattr(hotkey, "_state", ()))
        return frozenset(held)


def wait_for_release(
    pressed: Callable[[], Collection],
    done: Callable[[frozenset], None],
    *,
    timeout_ms: int = 1000,
    interval_ms: int = 20,
    parent: QObject | None = None,
) -> None:
    """Call ``done(frozenset())`` once ``pressed()`` is empty, polling every ``interval_ms``
    on the event loop (the GUI thread never sleeps); after ``timeout_ms``, call
    ``done(keys still held)`` instead."""
    deadline = time.monotonic() + timeout_ms / 1000

    def check() -> None:
        held = frozenset(pressed())
        if not held or time.monotonic() >= deadline:
            timer.stop()
            timer.deleteLater()
            done(held)

    timer = QTimer(parent)
    timer.setInterval(interval_ms)
    timer.timeout.connect(check)
    timer.start()
    check()  # nothing held: at once


def pynput_release(keys: Collection) -> None:
    """Release keys (pynput ``Key``/``KeyCode``) the user still holds, so that a shortcut
    sent next is not read with extra modifiers."""
    from pynput import keyboard

    ctl = keyboard.Controller()
    for k in keys:
        ctl.release(k)


def pynput_sender(combo: str) -> None:
    """Press and release a combo (pynput syntax) with pynput's controller."""
    from pynput import keyboard

    keys = keyboard.HotKey.parse(combo)
    ctl = keyboard.Controller()
    for k in keys:
        ctl.press(k)
    for k in reversed(keys):
        ctl.release(k)


def _copy_mime(mime: QMimeData | None) -> QMimeData:
    out = QMimeData()
    if mime is not None:
        for f in mime.formats():
            out.setData(f, mime.data(f))
    return out


class SelectionReader(QObject):
    """Reads the current selection and emits ``(text or None, reason)``."""

    done = Signal(object, str)

    def __init__(
        self,
        clipboard: QClipboard,
        platform: Platform,
        sender: Callable[[str], None] = pynput_sender,
        *,
        wait_ms: int = 800,
        on_own_write: Callable[[str], None] | None = None,
        pressed: Callable[[], Collection] | None = None,
        release: Callable[[Collection], None] = pynput_release,
        release_wait_ms: int = 1000,
        parent: QObject | None = None,
    ):
        """``pressed``: the hotkey's keys still held down (see ``HotkeyListener.pressed``);
        the copy shortcut waits, up to ``release_wait_ms``, until they are released, then
        ``release``s whatever is still held before sending. Without it, a fixed 150 ms."""
        super().__init__(parent)
        self._cb, self._platform, self._send = clipboard, platform, sender
        self._pressed, self._release, self._release_wait_ms = pressed, release, release_wait_ms
        self._on_own_write = on_own_write
        self._saved: QMimeData | None = None
        self._waiting = False
        #: The copy shortcut went out: a clipboard change from now on is the selection.
        self._sent = False
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.setInterval(wait_ms)
        self._timeout.timeout.connect(
            lambda: self._finish(None, "the selection could not be copied")
        )
        self._cb.dataChanged.connect(self._on_change)

    def read(self) -> None:
        if self._platform.has_primary_selection and self._cb.supportsSelection():
            emit(self.done, self._cb.mimeData(QClipboard.Mode.Selection), "primary")
            return
        if self._waiting:
            return
        self._saved = _copy_mime(self._cb.mimeData(QClipboard.Mode.Clipboard))
        self._waiting, self._sent = True, False
        # Let the user release the hotkey's modifiers first, then send the copy shortcut:
        # Ctrl+C with Alt and Shift still down is another shortcut in the focused app.
        if self._pressed is None:
            self._timeout.start()
            QTimer.singleShot(150, self._send_copy)
        else:
            wait_for_release(
                self._pressed, self._send_copy, timeout_ms=self._release_wait_ms, parent=self
            )

    def _send_copy(self, held: Collection = ()) -> None:
        if not self._waiting:
            return
        if self._pressed is not None:
            self._timeout.start()  # the copy's own wait starts once the shortcut goes out
        try:
            if held:  # still held at the deadline: let go of them for the shortcut
                self._release(held)
            self._sent = True
            self._send(self._platform.copy_shortcut)
        except Exception as exc:  # noqa: BLE001
            self._finish(None, f"could not send the copy shortcut ({type(exc).__name__})")

    def _on_change(self) -> None:
        if self._waiting and self._sent:
            self._finish(_copy_mime(self._cb.mimeData(QClipboard.Mode.Clipboard)), "copied")

    def _finish(self, mime: QMimeData | None, reason: str) -> None:
        if not self._waiting:
            return
        self._waiting = False
        self._timeout.stop()
        saved, self._saved = self._saved, None
        if mime is not None and saved is not None:
            # Put the user's previous clipboard back (and do not scan our own restore).
            if self._on_own_write is not None and saved.hasText():
                self._on_own_write(saved.text())
            self._cb.setMimeData(saved, QClipboard.Mode.Clipboard)
        emit(self.done, mime, reason)
