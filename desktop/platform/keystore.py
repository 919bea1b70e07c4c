"""The per-install key for keyed hashes: OS keychain first, a user-only key file otherwise."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SERVICE = "raxe-desktop"
KEY_FILE = "hash.key"


@dataclass(frozen=True)
class HashKey:
    key: bytes
    #: "keyring" or "file".
    backend: str
    #: What Settings shows the user about where the key lives.
    description: str


def _account(config_dir: Path) -> str:
    # One entry per profile, so a throw-away --config-dir never reuses the real key.
    return "hash-key-" + hashlib.sha256(str(config_dir.resolve()).encode()).hexdigest()[:16]


def _from_keyring(config_dir: Path) -> HashKey | None:
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            return None
        account = _account(config_dir)
        value = keyring.get_password(SERVICE, account)
        if not value:
            value = secrets.token_hex(32)
            keyring.set_password(SERVICE, account, value)
        name = type(backend).__name__
        return HashKey(bytes.fromhex(value), "keyring", f"OS keychain ({name})")
    except Exception:  # noqa: BLE001 - any keychain failure falls back to the key file
        return None


def _from_file(config_dir: Path) -> HashKey:
    path = config_dir / KEY_FILE
    config_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    os.chmod(path, 0o600)
    return HashKey(
        bytes.fromhex(path.read_text().strip()),
        "file",
        f"key file {path} (readable only by you; no OS keychain was available)",
    )


def load_hash_key(config_dir: Path, prefer: str = "auto") -> HashKey:
    """``prefer``: "auto" (keychain, else file), "keyring" (same), or "file"."""
    if prefer != "file":
        found = _from_keyring(config_dir)
        if found is not None:
            return found
    return _from_file(config_dir)
