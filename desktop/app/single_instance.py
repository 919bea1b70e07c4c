"""One instance per profile: a QLockFile in the config dir, and a QLocalServer through which a
second launch asks the first to show itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket  # local IPC only, no network

from desktop.app.qtcompat import emit


def server_name(config_dir: Path) -> str:
    return "raxe-desktop-" + hashlib.sha256(str(config_dir.resolve()).encode()).hexdigest()[:16]


class LockUnavailable(OSError):
    """The lock file cannot be made at all (a read-only or missing profile directory): not
    the same as another instance holding it."""

    def __init__(self, lock_path: Path, reason: str):
        self.lock_path, self.reason = lock_path, reason
        super().__init__(
            f"raxe-desktop: cannot create the lock file {lock_path} ({reason}). Check that "
            f"the profile directory {lock_path.parent} exists and that you can write to it, "
            "or start RAXE Desktop with another --config-dir."
        )


class SingleInstance(QObject):
    #: A second launch asked us to show ourselves.
    show_requested = Signal()

    def __init__(self, config_dir: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.name = server_name(config_dir)
        self.lock_path = config_dir / "raxe-desktop.lock"
        self.lock = QLockFile(str(self.lock_path))
        self.lock.setStaleLockTime(0)
        self.server: QLocalServer | None = None

    def acquire(self) -> bool:
        """True when we are the first instance (and now listen for later ones); False when
        another instance holds the lock. Raises :class:`LockUnavailable` when the lock file
        cannot be made (permission denied, no such directory)."""
        if not self.lock.tryLock(200):
            error = self.lock.error()
            if error == QLockFile.LockError.LockFailedError:
                return False
            reason = (
                "permission denied"
                if error == QLockFile.LockError.PermissionError
                else "it could not be created"
            )
            raise LockUnavailable(self.lock_path, reason)
        QLocalServer.removeServer(self.name)
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._on_connection)
        self.server.listen(self.name)
        return True

    def _on_connection(self) -> None:
        assert self.server is not None
        while (sock := self.server.nextPendingConnection()) is not None:
            # Small messages: wait briefly for the one line rather than tracking sockets.
            ready = sock.bytesAvailable() or sock.waitForReadyRead(500)
            if ready and bytes(sock.readAll().data()).strip() == b"show":
                emit(self.show_requested)
            sock.abort()

    def notify_running(self, timeout_ms: int = 1000) -> bool:
        sock = QLocalSocket()
        sock.connectToServer(self.name)
        if not sock.waitForConnected(timeout_ms):
            return False
        sock.write(b"show\n")
        sock.waitForBytesWritten(timeout_ms)
        sock.waitForDisconnected(timeout_ms)
        sock.abort()
        return True

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server.deleteLater()
            self.server = None
        self.lock.unlock()
