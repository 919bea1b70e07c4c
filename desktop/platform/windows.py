"""Windows: clipboard-history exclusion formats, the HKCU Run key, and the "running" mutex."""

from __future__ import annotations

import contextlib
import subprocess

from desktop.platform.base import HotkeySupport, Platform

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
VALUE_NAME = "RAXE Desktop"


class WindowsPlatform(Platform):
    name = "windows"
    secret_formats = ("ExcludeClipboardContentFromMonitorProcessing",)
    copy_shortcut = "<ctrl>+c"

    def is_secret(self, formats, read_format=None) -> bool:
        fmts = list(formats)
        if super().is_secret(fmts):
            return True
        # CanIncludeInClipboardHistory / CanUploadToCloudClipboard = DWORD 0 means "secret".
        for name in ("CanIncludeInClipboardHistory", "CanUploadToCloudClipboard"):
            match = next((f for f in fmts if name in f), None)
            if match is None:
                continue
            if read_format is None:
                return True
            try:
                raw = bytes(read_format(match))
            except Exception:  # noqa: BLE001 - unreadable marker: err on the side of secret
                return True
            if int.from_bytes(raw[:4] or b"\0", "little") == 0:
                return True
        return False

    def hotkey_support(self) -> HotkeySupport:
        return HotkeySupport(True)

    def autostart_supported(self) -> bool:
        return True

    def _open(self, write: bool):
        import winreg  # type: ignore[import-not-found]

        access = winreg.KEY_SET_VALUE if write else winreg.KEY_READ
        return winreg, winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, access)

    def autostart_enabled(self) -> bool:
        try:
            winreg, key = self._open(False)
            with key:
                winreg.QueryValueEx(key, VALUE_NAME)
            return True
        except OSError:
            return False

    def set_autostart(self, enabled: bool, command: list[str]) -> None:
        winreg, key = self._open(True)
        with key:
            if enabled:
                winreg.SetValueEx(
                    key, VALUE_NAME, 0, winreg.REG_SZ, subprocess.list2cmdline(command)
                )
            else:
                with contextlib.suppress(FileNotFoundError):
                    winreg.DeleteValue(key, VALUE_NAME)


#: Windows groups taskbar entries and toast notifications by this id; without it
#: notifications carry "python" or the bundle's exe name instead of ours.
APP_USER_MODEL_ID = "RAXE.Desktop"


def prepare_process() -> None:
    """Windows set-up that must happen before Qt is imported.

    * onnxruntime is imported first: its DLLs and Qt's can clash when Qt loads
      first (a known onnxruntime issue on Windows).
    * The AppUserModelID is set so notifications carry the app's name.
    """
    import contextlib
    import ctypes

    import onnxruntime  # noqa: F401 - imported for its side effect (DLL load order)

    # Not fatal if it fails: notifications then show the exe name.
    with contextlib.suppress(AttributeError, OSError):
        ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID(APP_USER_MODEL_ID)  # type: ignore[attr-defined]


#: A named mutex the tray app holds while it runs. The Inno Setup script names it in
#: ``AppMutex`` (installer/windows/raxe-desktop.iss; a test keeps the two equal): Setup and
#: the uninstaller check it and ask the user to quit the app before replacing or removing
#: its files (the Restart Manager, ``CloseApplications``, covers Setup only).
RUNNING_MUTEX_NAME = "RAXEDesktopRunning"

#: The mutex handle, kept open for the process lifetime (Windows frees it at exit).
_running_mutex: int | None = None


def hold_running_mutex(platform: str | None = None) -> bool:
    """Create :data:`RUNNING_MUTEX_NAME` once per process; True when it is held.

    A no-op (False) off Windows; failures are not fatal (the installer then cannot
    tell that the app is running, nothing else changes).
    """
    global _running_mutex
    import sys

    if (platform or sys.platform) != "win32":
        return False
    if _running_mutex:
        return True
    import ctypes

    try:
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        kernel32.CreateMutexW.restype = ctypes.c_void_p
        handle = kernel32.CreateMutexW(None, False, RUNNING_MUTEX_NAME)
    except (AttributeError, OSError):
        return False
    _running_mutex = handle or None
    return bool(handle)
