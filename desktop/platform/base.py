"""The platform interface and its do-nothing fallback.

Every method has a safe default, so an unknown OS still runs the app: no secret markers, no
start-at-login, a hotkey that reports why it cannot work.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HotkeySupport:
    available: bool
    reason: str = ""


#: Reads the raw bytes of one clipboard format (used only for small marker formats).
FormatReader = Callable[[str], bytes]


class Platform:
    """Fallback implementation: everything optional is off, with a reason."""

    name = "generic"
    #: Formats whose mere presence marks clipboard content as secret.
    secret_formats: tuple[str, ...] = ()
    #: Whether the OS has an X11-style PRIMARY selection (text you highlight).
    has_primary_selection = False
    #: Whether clipboard changes from other apps must be polled (macOS).
    needs_clipboard_poll = False
    #: The key combo (pynput syntax) that copies the selection in the focused app.
    copy_shortcut = "<ctrl>+c"

    # -- clipboard --------------------------------------------------------------------------
    def is_secret(self, formats: Iterable[str], read_format: FormatReader | None = None) -> bool:
        """True when a password manager marked the content secret. Never reads the text."""
        fmts = list(formats)
        return any(marker in f for f in fmts for marker in self.secret_formats)

    def clipboard_change_count(self) -> int | None:
        """A counter that changes with the clipboard, where the OS offers one; else None."""
        return None

    # -- hotkey -----------------------------------------------------------------------------
    def hotkey_support(self) -> HotkeySupport:
        return HotkeySupport(False, "global hotkeys are not supported on this platform")

    # -- start at login ---------------------------------------------------------------------
    def autostart_supported(self) -> bool:
        return False

    def autostart_enabled(self) -> bool:
        return False

    def set_autostart(self, enabled: bool, command: list[str]) -> None:
        if enabled:
            raise OSError("start at login is not supported on this platform")


def home() -> Path:
    return Path(os.path.expanduser("~"))
