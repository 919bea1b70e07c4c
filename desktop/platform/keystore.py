"""The per-install key for keyed hashes: OS keychain first, a user-only key file otherwise.

The store that first held a profile's key is recorded beside it (``hash.key.store``) and kept:
a keychain that fails once (locked at autostart, a D-Bus error) must not switch the profile to
another key, or "Mark as safe" entries and history hashes would stop matching. When the
keychain that holds the key is unavailable, no new key is stored anywhere: an existing key
file is used, else a key kept in memory for this session, and ``HashKey.notice`` says so.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SERVICE = "raxe-desktop"
KEY_FILE = "hash.key"
#: Which store holds the profile's key: "keyring" or "file" (never the key itself).
STORE_FILE = "hash.key.store"
#: Length of the key in bytes (stored as hex).
KEY_BYTES = 32


@dataclass(frozen=True)
class HashKey:
    key: bytes
    #: "keyring", "file" or "memory" (this session only: the keychain holding it was away).
    backend: str
    #: What Settings shows the user about where the key lives.
    description: str
    #: What the user is told once at start when the key is not the profile's usual one.
    notice: str = ""


class _Unavailable(Exception):
    """The OS keychain could not be used (none, locked, or an error)."""


def _account(config_dir: Path) -> str:
    # One entry per profile, so a throw-away --config-dir never reuses the real key.
    return "hash-key-" + hashlib.sha256(str(config_dir.resolve()).encode()).hexdigest()[:16]


def _keyring():
    """(keyring module, backend name); raises _Unavailable when there is no usable keychain."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - any keychain failure is "unavailable"
        raise _Unavailable(type(exc).__name__) from None
    if isinstance(backend, fail.Keyring):
        raise _Unavailable("no keychain")
    return keyring, type(backend).__name__


def _keyring_read(config_dir: Path) -> tuple[bytes | None, str]:
    """(the stored key or None, backend name); raises _Unavailable."""
    keyring, name = _keyring()
    try:
        return _parse(keyring.get_password(SERVICE, _account(config_dir))), name
    except Exception as exc:  # noqa: BLE001
        raise _Unavailable(type(exc).__name__) from None


def _keyring_create(config_dir: Path) -> bytes:
    """A new key stored in the keychain; raises _Unavailable."""
    keyring, _ = _keyring()
    value = secrets.token_hex(KEY_BYTES)
    try:
        keyring.set_password(SERVICE, _account(config_dir), value)
    except Exception as exc:  # noqa: BLE001
        raise _Unavailable(type(exc).__name__) from None
    return bytes.fromhex(value)


def _read_file_key(config_dir: Path) -> bytes | None:
    try:
        return _parse((config_dir / KEY_FILE).read_text(encoding="ascii", errors="replace"))
    except OSError:
        return None


def _from_file(config_dir: Path) -> HashKey:
    path = config_dir / KEY_FILE
    config_dir.mkdir(parents=True, exist_ok=True)
    key = _read_file_key(config_dir)
    if key is None:  # missing, or empty/damaged (say, a crash between create and write)
        key = secrets.token_bytes(KEY_BYTES)
        _write_private(path, key.hex())
    os.chmod(path, 0o600)
    return HashKey(
        key,
        "file",
        f"key file {path} (readable only by you; no OS keychain was available)",
    )


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _recorded(config_dir: Path) -> str | None:
    try:
        value = (config_dir / STORE_FILE).read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return value if value in ("keyring", "file") else None


def _record(config_dir: Path, backend: str) -> None:
    if _recorded(config_dir) != backend:
        try:
            config_dir.mkdir(parents=True, exist_ok=True)
            _write_private(config_dir / STORE_FILE, backend + "\n")
        except OSError:  # best effort: the key itself was found; the next start tries again
            pass


def _parse(value: str | None) -> bytes | None:
    """The key a stored hex string holds, or None when it is not a whole key."""
    try:
        key = bytes.fromhex((value or "").strip())
    except ValueError:
        return None
    return key if len(key) == KEY_BYTES else None


KEYCHAIN_AWAY = (
    "The OS keychain that holds RAXE's hashing key could not be opened ({why}). "
    "{instead} \u201cMark as safe\u201d entries and the detection history will not match "
    "this session's texts until the keychain is available again and RAXE Desktop is restarted."
)


KEY_REPLACED = (
    "RAXE's hashing key was not found in the OS keychain ({name}): it was deleted, or another "
    "keychain answers now. A new key was made, so \u201cMark as safe\u201d entries and the "
    "detection history from before will not match new texts."
)


def load_hash_key(
    config_dir: Path, prefer: str = "auto", *, profile_in_use: bool = False
) -> HashKey:
    """``prefer``: "auto" (keychain, else file), "keyring" (same), or "file".

    Under "auto" the store recorded for the profile is kept; "keyring" asks for the
    keychain even when the profile recorded a key file (the user changed the setting).
    ``profile_in_use``: the profile already has data hashed with its key (a history). A
    profile from before the store was recorded, with no key file, then keeps its key in the
    keychain: while that is unavailable, no key file is made in its place.
    """
    recorded = _recorded(config_dir)
    if prefer == "file":
        # Asked for by name (--key-store file, the smoke test): not recorded, so that a run
        # with another store does not move the profile off the one it uses.
        return _from_file(config_dir)
    if prefer == "auto" and recorded == "file":
        return _from_file(config_dir)
    try:
        key, name = _keyring_read(config_dir)
        if key is None and recorded is None and _read_file_key(config_dir) is not None:
            # A profile from before the store was recorded, whose key went to the file.
            found = _from_file(config_dir)
            _record(config_dir, "file")
            return found
        notice = ""
        if key is None:  # none yet, or an entry that is not a key: make a new one
            key = _keyring_create(config_dir)
            if recorded == "keyring":  # it was there: deleted, or another keychain answers now
                notice = KEY_REPLACED.format(name=name)
    except _Unavailable as exc:
        has_file = _read_file_key(config_dir) is not None
        if recorded == "keyring" or (recorded is None and profile_in_use and not has_file):
            return _keychain_away(config_dir, str(exc))
        if recorded is None and has_file:
            # A profile from before the store was recorded: its key may be this file, or in the
            # keychain with this file left by an earlier failure. Use the file, as before, and
            # decide once the keychain can be asked.
            return _from_file(config_dir)
        # A new profile (or one the user moved off a key file that is now away): a key file.
        found = _from_file(config_dir)
        _record(config_dir, "file")
        return found
    _record(config_dir, "keyring")
    return HashKey(key, "keyring", f"OS keychain ({name})", notice)


def _keychain_away(config_dir: Path, why: str) -> HashKey:
    """The keychain holding the key is unavailable: never mint a key that would replace it."""
    existing = _read_file_key(config_dir)
    if existing is not None:
        path = config_dir / KEY_FILE
        return HashKey(
            existing,
            "file",
            f"key file {path} for this session (the OS keychain that holds the key "
            "could not be opened)",
            KEYCHAIN_AWAY.format(why=why, instead=f"The older key file {path} is used instead."),
        )
    return HashKey(
        secrets.token_bytes(KEY_BYTES),
        "memory",
        "a temporary key for this session only (the OS keychain that holds the key "
        "could not be opened)",
        KEYCHAIN_AWAY.format(why=why, instead="A temporary key is used for this session."),
    )
