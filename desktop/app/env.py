"""Everything environmental in one object: paths, flags, frozen-or-not. Tests override it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "raxe-desktop"


def default_config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class AppEnv:
    config_dir: Path
    model_dir: Path | None = None
    log_json: bool = False
    hotkey: bool = True
    key_store: str = "auto"  # auto | keyring | file
    frozen: bool = bool(getattr(sys, "frozen", False))

    @property
    def events_path(self) -> Path:
        return self.config_dir / "events.jsonl"

    @property
    def history_path(self) -> Path:
        return self.config_dir / "history.sqlite3"

    def launch_command(self) -> list[str]:
        """How start-at-login should launch us: this profile, if it is not the default one."""
        command = [sys.executable] if self.frozen else [sys.executable, "-m", "desktop"]
        if self.config_dir.expanduser().resolve() != default_config_dir().expanduser().resolve():
            command += ["--config-dir", str(self.config_dir)]
        return command
