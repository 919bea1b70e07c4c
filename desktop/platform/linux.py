"""Linux (X11 and Wayland sessions)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from desktop.platform.base import HotkeySupport, Platform, home

AUTOSTART_NAME = "raxe-desktop.desktop"


def session_type(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    kind = env.get("XDG_SESSION_TYPE", "").lower()
    if kind in ("x11", "wayland"):
        return kind
    if env.get("WAYLAND_DISPLAY"):
        return "wayland"
    if env.get("DISPLAY"):
        return "x11"
    return "none"


#: Characters that make the Desktop Entry spec require an Exec argument to be quoted.
_EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")


def desktop_exec(command: list[str]) -> str:
    r"""``command`` as the value of a Desktop Entry ``Exec`` key (the spec's "The Exec key").

    An argument holding a reserved character is put in double quotes, with ``"``, backtick,
    ``$`` and ``\`` escaped by a backslash; ``%`` is doubled (it starts field codes). Then the
    escapes of a string value apply to the whole value: ``\\`` for a backslash (so a literal
    one in a quoted argument takes four), ``\n``, ``\t``, ``\r``. Not shell quoting: the spec
    has no single quotes.
    """
    out = []
    for arg in command:
        arg = arg.replace("%", "%%")
        if arg and not _EXEC_RESERVED.intersection(arg):
            out.append(arg)
        else:
            out.append('"' + re.sub(r'(["`$\\])', r"\\\1", arg) + '"')
    line = " ".join(out)
    for raw, escaped in (("\\", "\\\\"), ("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r")):
        line = line.replace(raw, escaped)
    return line


class LinuxPlatform(Platform):
    name = "linux"
    # KDE Klipper's convention, honoured by KeePassXC and other password managers.
    secret_formats = ("x-kde-passwordManagerHint",)
    copy_shortcut = "<ctrl>+c"

    def __init__(self, environ: dict[str, str] | None = None, config_home: Path | None = None):
        self._env = dict(os.environ if environ is None else environ)
        self._config_home = config_home

    @property
    def has_primary_selection(self) -> bool:  # type: ignore[override]
        return session_type(self._env) == "x11"

    def is_secret(self, formats, read_format=None) -> bool:
        fmts = list(formats)
        if not any("x-kde-passwordManagerHint" in f for f in fmts):
            return False
        # The hint's value is "secret"; any value is treated as secret when unreadable.
        if read_format is None:
            return True
        try:
            value = bytes(read_format("x-kde-passwordManagerHint")).strip().lower()
        except Exception:  # noqa: BLE001 - a marker we cannot read still means "secret"
            return True
        return value in (b"", b"secret")

    def hotkey_support(self) -> HotkeySupport:
        kind = session_type(self._env)
        if kind == "x11":
            return HotkeySupport(True)
        if kind == "wayland":
            return HotkeySupport(
                False,
                "Wayland does not let apps watch global key presses; use 'Scan clipboard now'",
            )
        return HotkeySupport(False, "no graphical session (DISPLAY is not set)")

    # -- start at login: an XDG autostart entry ------------------------------------------------
    def _autostart_file(self) -> Path:
        base = self._config_home or Path(self._env.get("XDG_CONFIG_HOME") or home() / ".config")
        return base / "autostart" / AUTOSTART_NAME

    def autostart_supported(self) -> bool:
        return True

    def autostart_enabled(self) -> bool:
        return self._autostart_file().exists()

    def set_autostart(self, enabled: bool, command: list[str]) -> None:
        path = self._autostart_file()
        if not enabled:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # TryExec: once the program is gone (the package removed), desktops skip the entry
        # quietly instead of failing to start it at every login. A string value, not an
        # Exec argument: no quoting, only the string escapes.
        try_exec = command[0]
        for raw, escaped in (("\\", "\\\\"), ("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r")):
            try_exec = try_exec.replace(raw, escaped)
        path.write_text(
            "[Desktop Entry]\n"
            "Type=Application\n"
            "Name=RAXE Desktop\n"
            "Comment=Warns when copied text is a threat\n"
            f"TryExec={try_exec}\n"
            f"Exec={desktop_exec(command)}\n"
            "Icon=raxe-desktop\n"
            "Terminal=false\n"
            "X-GNOME-Autostart-enabled=true\n",
            encoding="utf-8",
        )
