"""Settings: declared one per line (key, default, type, doc), stored with QSettings (INI file in
the config dir, so ``--config-dir`` gives a throw-away profile).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from desktop.app.decisions import DEFAULT_MAX_CHARS, Action, CategoryPolicy
from desktop.detection.categories import THREAT_CATEGORIES, Category

# Ctrl+Alt+Shift+R: "RAXE, scan this". Triple-modifier combos are rarely bound by apps.
DEFAULT_HOTKEY = "<ctrl>+<alt>+<shift>+r"


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    type: type
    doc: str
    choices: tuple[str, ...] = ()
    #: Lowest and highest value an int setting takes; a stored value outside is clamped
    #: (settings.ini may be edited by hand).
    bounds: tuple[int, int] | None = None


ACTIONS = tuple(a.value for a in Action)
#: The longest a notification stays (seconds): Qt's timers take a 32-bit count of milliseconds.
MAX_NOTIFY_S = 3600

SETTINGS: tuple[Setting, ...] = (
    Setting("monitor/clipboard", True, bool, "Scan text copied to the clipboard"),
    Setting("monitor/selection", False, bool, "Also scan highlighted text (X11 PRIMARY selection)"),
    Setting("hotkey/enabled", True, bool, "Scan the selected text with a global hotkey"),
    Setting(
        "hotkey/combo", DEFAULT_HOTKEY, str, "Hotkey (pynput syntax, e.g. <ctrl>+<alt>+<shift>+r)"
    ),
    Setting(
        "notify/duration_s",
        10,
        int,
        "How long a notification stays on screen (seconds)",
        bounds=(1, MAX_NOTIFY_S),
    ),
    Setting("notify/style", "auto", str, "Notification style", ("auto", "tray", "popup")),
    Setting(
        "notify/low_pii",
        False,
        bool,
        "Also notify about low-severity personal data (e.g. an e-mail address in a signature;"
        " always recorded in Recent detections)",
    ),
    Setting(
        "notify/burst", 3, int, "At most this many notifications per 30 seconds", bounds=(1, 100)
    ),
    Setting("scan/max_chars", DEFAULT_MAX_CHARS, int, "Most characters scanned from one copy"),
    Setting("startup/at_login", False, bool, "Start RAXE Desktop when you log in"),
    Setting(
        "history/retention_days",
        30,
        int,
        "Keep detection history for this many days (0: keep none)",
        bounds=(0, 3650),
    ),
    Setting(
        "history/redacted_previews",
        False,
        bool,
        "Store a redacted preview with each detection (off: metadata only)",
    ),
) + tuple(
    s
    for c in THREAT_CATEGORIES
    for s in (
        Setting(
            f"category/{c.label}/action",
            Action.NOTIFY.value if c.info.alarm_by_default else Action.RECORD.value,
            str,
            f"{c.info.display_name}: what to do",
            ACTIONS,
        ),
        Setting(
            f"category/{c.label}/threshold",
            0.5,
            float,
            f"{c.info.display_name}: lowest confidence that counts",
        ),
    )
)

BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}


def _coerce(setting: Setting, raw: Any) -> Any:
    if raw is None:
        return setting.default
    try:
        if setting.type is bool:
            value = (
                raw
                if isinstance(raw, bool)
                else str(raw).strip().lower() in ("1", "true", "yes", "on")
            )
        else:
            value = setting.type(raw)
    except (TypeError, ValueError):
        return setting.default
    if setting.choices and value not in setting.choices:
        return setting.default
    if setting.bounds is not None:
        low, high = setting.bounds
        value = max(low, min(value, high))
    return value


class Settings:
    """Typed access to the declared settings."""

    def __init__(self, config_dir: Path):
        self.path = config_dir / "settings.ini"
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def get(self, key: str) -> Any:
        setting = BY_KEY[key]
        return _coerce(setting, self._qs.value(key, setting.default))

    def set(self, key: str, value: Any) -> None:
        setting = BY_KEY[key]
        self._qs.setValue(key, _coerce(setting, value))

    def sync(self) -> str:
        """Write the settings out; "" when saved, else why not (e.g. "AccessError": a
        read-only settings.ini), in which case they hold for this session only."""
        self._qs.sync()
        status = self._qs.status()
        return "" if status == QSettings.Status.NoError else status.name

    def policies(self) -> dict[Category, CategoryPolicy]:
        return {
            c: CategoryPolicy(
                Action(self.get(f"category/{c.label}/action")),
                float(self.get(f"category/{c.label}/threshold")),
            )
            for c in THREAT_CATEGORIES
        }
