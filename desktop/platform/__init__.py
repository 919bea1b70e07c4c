"""Per-OS bits behind one small interface, with a do-nothing fallback.

No Qt here (an import-linter contract enforces it): the app layer asks this package *what*
the platform can do (secret clipboard markers, the copy shortcut, whether a global hotkey can
work, start-at-login) and does the Qt side itself.

``current()`` picks the implementation for the running OS; every implementation is a
:class:`Platform` (``desktop.platform.base``), whose defaults do nothing and say why.
"""

from __future__ import annotations

import sys

from desktop.platform.base import HotkeySupport, Platform

__all__ = ["HotkeySupport", "Platform", "current"]


def current(platform: str | None = None) -> Platform:
    """The implementation for ``platform`` (default ``sys.platform``)."""
    name = platform or sys.platform
    if name.startswith("linux") or name.startswith("freebsd"):
        from desktop.platform.linux import LinuxPlatform

        return LinuxPlatform()
    if name == "darwin":
        from desktop.platform.macos import MacPlatform

        return MacPlatform()
    if name in ("win32", "cygwin"):
        from desktop.platform.windows import WindowsPlatform

        return WindowsPlatform()
    return Platform()
