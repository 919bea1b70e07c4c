"""macOS: concealed pasteboard types, a change-count poll, a LaunchAgent for login."""

from __future__ import annotations

import plistlib
from pathlib import Path

from desktop.platform.base import HotkeySupport, Platform, home

AGENT_LABEL = "ai.raxe.desktop"


class MacPlatform(Platform):
    name = "macos"
    secret_formats = (
        "application/x-nspasteboard-concealed-type",
        "org.nspasteboard.ConcealedType",
    )
    # NSPasteboard posts no notification for other apps' writes: poll its changeCount.
    needs_clipboard_poll = True
    copy_shortcut = "<cmd>+c"

    def __init__(self, agents_dir: Path | None = None):
        self._agents_dir = agents_dir or home() / "Library" / "LaunchAgents"

    def clipboard_change_count(self) -> int | None:
        try:
            from AppKit import NSPasteboard  # type: ignore[import-not-found]
        except ImportError:
            return None
        return int(NSPasteboard.generalPasteboard().changeCount())

    def hotkey_support(self) -> HotkeySupport:
        try:
            from pynput import keyboard
        except Exception as exc:  # noqa: BLE001 - report any backend failure to the user
            return HotkeySupport(False, f"keyboard backend unavailable: {exc}")
        listener = keyboard.Listener()
        if getattr(listener, "IS_TRUSTED", True) is False:
            return HotkeySupport(
                False, "grant RAXE Accessibility/Input Monitoring permission in System Settings"
            )
        return HotkeySupport(True)

    def _plist(self) -> Path:
        return self._agents_dir / f"{AGENT_LABEL}.plist"

    def autostart_supported(self) -> bool:
        return True

    def autostart_enabled(self) -> bool:
        return self._plist().exists()

    def set_autostart(self, enabled: bool, command: list[str]) -> None:
        path = self._plist()
        if not enabled:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            plistlib.dump(
                {"Label": AGENT_LABEL, "ProgramArguments": command, "RunAtLoad": True}, fh
            )
