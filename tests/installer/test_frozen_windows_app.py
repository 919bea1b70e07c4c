"""What the frozen, windowed Windows app needs from the app code (runs on any OS, no Qt).

The windowed exe (PyInstaller >= 5.7) has ``sys.stdout = sys.stderr = None``: messages the
user must see go to a message box, and nothing may call ``.flush()`` on None. The app holds
a named mutex that the Inno Setup uninstaller checks (``AppMutex``).
"""

from __future__ import annotations

import ctypes
import io
import sys

import pytest

from desktop.app import main
from desktop.platform import windows as win


@pytest.fixture
def boxes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(main, "_message_box", shown.append)
    return shown


def test_tell_user_without_stderr_shows_a_message_box(monkeypatch, boxes) -> None:
    monkeypatch.setattr(sys, "stderr", None)
    main.tell_user("raxe-desktop: could not start: boom")
    assert boxes == ["raxe-desktop: could not start: boom"]


def test_tell_user_with_stderr_prints_there_only(monkeypatch, boxes) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    main.tell_user("hello")
    assert err.getvalue() == "hello\n" and boxes == []


def test_tell_user_with_a_closed_stderr_falls_back(monkeypatch, boxes) -> None:
    err = io.StringIO()
    err.close()
    monkeypatch.setattr(sys, "stderr", err)
    main.tell_user("hello")
    assert boxes == ["hello"]


def test_message_box_calls_user32_on_windows_only(monkeypatch) -> None:
    calls = []

    class User32:
        def MessageBoxW(self, hwnd, text, title, flags):  # noqa: N802 - the Win32 name
            calls.append((hwnd, text, title, flags))
            return 1

    monkeypatch.setattr(ctypes, "windll", type("WinDLL", (), {"user32": User32()})(), raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    main._message_box("x")
    assert calls == []
    monkeypatch.setattr(sys, "platform", "win32")
    main._message_box("x")
    assert calls == [(None, "x", "RAXE Desktop", 0x10 | 0x10000)]


def test_flushing_the_standard_streams_survives_none(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    main._flush_std_streams()


def test_running_mutex_is_a_no_op_off_windows(monkeypatch) -> None:
    monkeypatch.setattr(win, "_running_mutex", None)
    assert win.hold_running_mutex("linux") is False
    assert win._running_mutex is None


def test_running_mutex_is_created_once_and_kept(monkeypatch) -> None:
    created = []

    class CreateMutexW:
        restype = None

        def __call__(self, attributes, initial_owner, name):
            created.append((attributes, initial_owner, name))
            return 0x1234

    kernel32 = type("Kernel32", (), {"CreateMutexW": CreateMutexW()})()
    monkeypatch.setattr(ctypes, "windll", type("WinDLL", (), {"kernel32": kernel32})(), raising=False)
    monkeypatch.setattr(win, "_running_mutex", None)
    assert win.hold_running_mutex("win32") is True
    assert win.hold_running_mutex("win32") is True
    assert created == [(None, False, win.RUNNING_MUTEX_NAME)]
    assert win._running_mutex == 0x1234  # the handle stays open for the process lifetime
