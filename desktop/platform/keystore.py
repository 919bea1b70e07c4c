"""The per-install key for keyed hashes: OS keychain first, a user-only key file otherwise."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SERVICE = "raxe-desktop"
KEY_FILE = "hash.key"
#: Length of the key in bytes (stored as hex).
KEY_BYTES = 32


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
        key = _parse(keyring.get_password(SERVICE, account))
        if key is None:  # none yet, or an entry that is not a key: make a new one
            value = secrets.token_hex(KEY_BYTES)
            keyring.set_password(SERVICE, account, value)
            key = bytes.fromhex(value)
        name = type(backend).__name__
        return HashKey(key, "keyring", f"OS keychain ({name})")
    except Exception:  # noqa: BLE001 - any keychain failure falls back to the key file
        return None


def _from_file(config_dir: Path) -> HashKey:
    path = config_dir / KEY_FILE
    config_dir.mkdir(parents=True, exist_ok=True)
    try:
        key = _parse(path.read_text(encoding="ascii", errors="replace"))
    except FileNotFoundError:
        key = None
    if key is None:  # missing, or empty/damaged (say, a crash between create and write)
        key = secrets.token_bytes(KEY_BYTES)
        tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    os.chmod(path, 0o600)
    return HashKey(
        key,
        "file",
        f"key file {path} (readable only by you; no OS keychain was available)",
    )


def _parse(value: str | None) -> bytes | None:
    """The key a stored hex string holds, or None when it is not a whole key."""
    try:
        key = bytes.fromhex((value or "").strip())
    except ValueError:
        return None
    return key if len(key) == KEY_BYTES else None


def load_hash_key(config_dir: Path, prefer: str = "auto") -> HashKey:
    """``prefer``: "auto" (keychain, else file), "keyring" (same), or "file"."""
    if prefer != "file":
        found = _from_keyring(config_dir)
        if found is not None:
            return found
    return _from_file(config_dir)
