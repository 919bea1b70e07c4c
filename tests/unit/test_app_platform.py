"""The platform layer (no Qt): secret markers, start at login, hash key store, import hygiene."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time

import pytest

from desktop.platform import current
from desktop.platform.base import Platform
from desktop.platform.keystore import load_hash_key
from desktop.platform.linux import LinuxPlatform, session_type
from desktop.platform.macos import MacPlatform
from desktop.platform.windows import WindowsPlatform


def test_platform_layer_never_imports_qt():
    code = (
        "import sys, desktop.platform, desktop.platform.keystore, desktop.app.decisions, "
        "desktop.app.history, desktop.app.eventlog; "
        "print('PySide6' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_current_picks_an_implementation():
    assert isinstance(current("linux"), LinuxPlatform)
    assert isinstance(current("darwin"), MacPlatform)
    assert isinstance(current("win32"), WindowsPlatform)
    assert type(current("plan9")) is Platform


def test_secret_markers():
    linux = LinuxPlatform({"DISPLAY": ":1"})
    assert linux.is_secret(["text/plain", "x-kde-passwordManagerHint"], lambda f: b"secret")
    assert not linux.is_secret(["text/plain", "x-kde-passwordManagerHint"], lambda f: b"public")
    assert not linux.is_secret(["text/plain"])
    assert MacPlatform().is_secret(["application/x-nspasteboard-concealed-type", "text/plain"])
    win = WindowsPlatform()
    assert win.is_secret(
        ['application/x-qt-windows-mime;value="ExcludeClipboardContentFromMonitorProcessing"']
    )
    fmt = 'application/x-qt-windows-mime;value="CanIncludeInClipboardHistory"'
    assert win.is_secret([fmt], lambda f: b"\0\0\0\0")
    assert not win.is_secret([fmt], lambda f: b"\1\0\0\0")


def test_markers_are_checked_without_reading_the_text():
    reads = []
    LinuxPlatform({}).is_secret(
        ["text/plain", "x-kde-passwordManagerHint"], lambda f: reads.append(f) or b"secret"
    )
    assert reads == ["x-kde-passwordManagerHint"]


def test_hotkey_support_by_session():
    assert LinuxPlatform({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}).hotkey_support().available
    wl = LinuxPlatform({"XDG_SESSION_TYPE": "wayland"}).hotkey_support()
    assert not wl.available and "Wayland" in wl.reason
    assert not LinuxPlatform({}).hotkey_support().available
    assert session_type({"WAYLAND_DISPLAY": "wayland-0"}) == "wayland"
    assert not Platform().hotkey_support().available


def test_linux_autostart_desktop_file(tmp_path):
    p = LinuxPlatform({}, config_home=tmp_path)
    assert p.autostart_supported() and not p.autostart_enabled()
    p.set_autostart(True, ["/usr/bin/python3", "-m", "desktop"])
    text = (tmp_path / "autostart" / "raxe-desktop.desktop").read_text()
    assert "Exec=/usr/bin/python3 -m desktop" in text and p.autostart_enabled()
    assert "\nTryExec=/usr/bin/python3\n" in text
    p.set_autostart(False, [])
    assert not p.autostart_enabled()


def test_linux_autostart_try_exec_names_the_program_unquoted(tmp_path):
    """TryExec lets a desktop skip the entry once the package is removed; a plain string."""
    p = LinuxPlatform({}, config_home=tmp_path)
    p.set_autostart(True, ["/opt/My Apps/raxe-desktop", "--config-dir", "/tmp/a b"])
    lines = (tmp_path / "autostart" / "raxe-desktop.desktop").read_text().splitlines()
    assert [line for line in lines if line.startswith("TryExec=")] == ["TryExec=/opt/My Apps/raxe-desktop"]
    p.set_autostart(True, ["/odd\\dir/new\nline/raxe"])
    lines = (tmp_path / "autostart" / "raxe-desktop.desktop").read_text().splitlines()
    assert "TryExec=/odd\\\\dir/new\\nline/raxe" in lines


def test_linux_autostart_exec_is_quoted_as_the_desktop_entry_spec_says(tmp_path):
    from desktop.platform.linux import desktop_exec

    assert desktop_exec(["/opt/My Apps/python3", "-m", "desktop", "--config-dir", "/tmp/a b"]) == (
        '"/opt/My Apps/python3" -m desktop --config-dir "/tmp/a b"'
    )
    # A literal backslash in a quoted argument takes four; ", $ and ` take two before them.
    assert desktop_exec(["x", "it's", "50%", "a\\b", 'say "hi" $HOME', "end"]) == (
        r"""x "it's" 50%% "a\\\\b" "say \\"hi\\" \\$HOME" end"""
    )


#: Arguments a desktop environment must hand back unchanged (spaces, quotes, field codes...).
AWKWARD_ARGS = ["a b", 'q"uote', "back\\slash", "dol$lar", "tick`", "100%", "%f", "it's", "",
                "new\nline", "~home", "plain"]


@pytest.mark.skipif(
    not (shutil.which("gio") and shutil.which("desktop-file-validate")),
    reason="needs GLib's gio and desktop-file-utils",
)
def test_linux_autostart_entry_launches_the_exact_command(tmp_path):
    """GLib (what GNOME's and most autostart launchers use) parses the entry back into argv."""
    out = tmp_path / "argv.json"
    script = "import json, sys; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))"
    p = LinuxPlatform({}, config_home=tmp_path / "config home")
    p.set_autostart(True, [sys.executable, "-c", script, str(out), *AWKWARD_ARGS])
    entry = tmp_path / "config home" / "autostart" / "raxe-desktop.desktop"
    check = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    subprocess.run(["gio", "launch", str(entry)], check=True, timeout=30, capture_output=True)
    deadline = time.monotonic() + 20
    while not (out.exists() and out.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(out.read_text()) == AWKWARD_ARGS


def test_launch_command_names_a_profile_that_is_not_the_default(tmp_path):
    from desktop.app.env import AppEnv, default_config_dir

    assert AppEnv(config_dir=tmp_path).launch_command()[-2:] == ["--config-dir", str(tmp_path)]
    default = AppEnv(config_dir=default_config_dir().expanduser().resolve())
    assert "--config-dir" not in default.launch_command()


def test_macos_launch_agent(tmp_path):
    import plistlib

    p = MacPlatform(agents_dir=tmp_path)
    p.set_autostart(True, ["/Applications/RAXE.app/Contents/MacOS/raxe"])
    data = plistlib.loads((tmp_path / "ai.raxe.desktop.plist").read_bytes())
    assert data["RunAtLoad"] and data["ProgramArguments"][0].endswith("raxe")
    p.set_autostart(False, [])
    assert not p.autostart_enabled()


def test_hash_key_file_fallback_is_private(tmp_path):
    key = load_hash_key(tmp_path, "file")
    path = tmp_path / "hash.key"
    assert key.backend == "file" and len(key.key) == 32 and str(path) in key.description
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_hash_key(tmp_path, "file").key == key.key  # stable across starts


@pytest.mark.parametrize("content", ["", "   \n", "not hex at all", "abcd", "\xff\xfe garbage"])
def test_a_damaged_key_file_is_replaced(tmp_path, content):
    path = tmp_path / "hash.key"
    path.write_text(content, encoding="latin-1")
    key = load_hash_key(tmp_path, "file")
    assert len(key.key) == 32 and key.key != b""
    assert path.read_text() == key.key.hex()
    assert load_hash_key(tmp_path, "file").key == key.key  # and kept from then on
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # no temporary file left, and no record of the store: the file was asked for by name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hash.key"]


def test_hash_key_without_keychain_falls_back(tmp_path, monkeypatch):
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    key = load_hash_key(tmp_path, "auto")
    assert key.backend == "file" and "no OS keychain" in key.description


def test_windows_prepare_process_loads_onnxruntime_and_tolerates_no_shell32(monkeypatch):
    """On Windows main() calls this before Qt; elsewhere it must degrade quietly."""
    import subprocess
    import sys

    code = (
        "import sys; from desktop.platform.windows import prepare_process; prepare_process(); "
        "assert 'onnxruntime' in sys.modules; assert 'PySide6' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_a_damaged_keychain_entry_is_replaced(tmp_path, ring):
    first = load_hash_key(tmp_path)
    assert first.backend == "keyring" and len(first.key) == 32
    (entry,) = ring.store
    ring.store[entry] = "zz-not-a-key"
    again = load_hash_key(tmp_path)
    assert again.backend == "keyring" and len(again.key) == 32
    assert ring.store[entry] == again.key.hex()


def test_a_keychain_locked_once_does_not_change_the_key(tmp_path, ring):
    first = load_hash_key(tmp_path)
    assert first.backend == "keyring" and first.notice == ""
    ring.locked = True  # say, the Secret Service is still locked at autostart
    away = load_hash_key(tmp_path, profile_in_use=True)
    assert away.backend == "memory" and away.key != first.key
    assert "will not match" in away.notice and "KeyringLocked" in away.notice
    assert not (tmp_path / "hash.key").exists()  # no file key minted in its place
    assert first.key.hex() not in away.notice + away.description
    ring.locked = False
    assert load_hash_key(tmp_path).key == first.key  # the keychain's key, as before


def test_a_keychain_away_falls_back_to_an_existing_key_file_only(tmp_path, ring):
    first = load_hash_key(tmp_path)
    old = load_hash_key(tmp_path / "other", "file")  # a key file left by an older version
    (tmp_path / "hash.key").write_text(old.key.hex())
    ring.locked = True
    away = load_hash_key(tmp_path)
    assert away.backend == "file" and away.key == old.key and away.notice
    ring.locked = False
    assert load_hash_key(tmp_path).key == first.key


def test_a_profile_that_started_on_a_key_file_stays_on_it(tmp_path, ring):
    ring.locked = True  # the first start found no working keychain
    first = load_hash_key(tmp_path)
    assert first.backend == "file" and first.notice == ""
    ring.locked = False
    again = load_hash_key(tmp_path)
    assert again.backend == "file" and again.key == first.key and again.notice == ""
    assert ring.store == {}  # the keychain was not given a second key
    chosen = load_hash_key(tmp_path, "keyring")  # unless the user asks for the keychain
    assert chosen.backend == "keyring" and load_hash_key(tmp_path).key == chosen.key


def test_an_older_profile_keeps_its_keychain_key_while_the_keychain_is_away(tmp_path, ring):
    first = load_hash_key(tmp_path)
    (tmp_path / "hash.key.store").unlink()  # as a profile made before the store was recorded
    ring.locked = True
    away = load_hash_key(tmp_path, profile_in_use=True)
    assert away.backend == "memory" and away.notice
    assert not (tmp_path / "hash.key").exists()
    ring.locked = False
    assert load_hash_key(tmp_path, profile_in_use=True).key == first.key


def test_a_run_that_asks_for_the_key_file_does_not_move_the_profile(tmp_path, ring):
    first = load_hash_key(tmp_path)  # the keychain holds the key
    assert first.backend == "keyring"
    smoke = load_hash_key(tmp_path, "file")  # --smoke-test / --key-store file on the same profile
    assert smoke.backend == "file"
    assert load_hash_key(tmp_path).key == first.key  # the next normal start: the keychain's key


def test_an_older_profile_with_a_stray_key_file_is_not_moved_while_the_keychain_is_away(tmp_path, ring):
    # Before the store was recorded, a keychain that failed once left a key file beside the
    # keychain's key. A first start with the keychain locked uses the file for the session...
    real = load_hash_key(tmp_path).key
    (tmp_path / "hash.key.store").unlink()
    (tmp_path / "hash.key").write_text("ab" * 32, encoding="ascii")
    ring.locked = True
    assert load_hash_key(tmp_path, profile_in_use=True).key == bytes.fromhex("ab" * 32)
    assert not (tmp_path / "hash.key.store").exists()  # ...without deciding
    ring.locked = False
    assert load_hash_key(tmp_path, profile_in_use=True).key == real  # the keychain is asked again


def test_a_keychain_key_that_disappeared_is_replaced_and_told(tmp_path, ring):
    first = load_hash_key(tmp_path)
    assert first.notice == ""
    ring.store.clear()  # the entry was deleted (or another keychain answers)
    second = load_hash_key(tmp_path)
    assert second.backend == "keyring" and second.key != first.key
    assert "was not found in the OS keychain" in second.notice
    assert load_hash_key(tmp_path).notice == ""  # told once: the new key is found from then on
