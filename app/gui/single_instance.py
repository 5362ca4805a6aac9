"""One Ippon per data folder: a second launch asks the first to come forward, then exits.

The first instance listens on a local socket (QLocalServer: a Unix socket, a Windows named pipe)
whose name is derived from the data folder, so two data folders (IPPON_HOME) run side by side.
A socket left behind by a crash is detected (nobody answers) and replaced.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

ACTIVATE = b"activate\n"


def server_name(data_dir: Path) -> str:
    """A short name per data folder (socket paths are limited to ~100 bytes)."""
    digest = hashlib.sha256(str(Path(data_dir).expanduser().resolve()).encode()).hexdigest()[:16]
    return f"ippon-{digest}"


def ask_running_instance(data_dir: Path, *, timeout_ms: int = 1000) -> bool:
    """Whether an Ippon already runs on `data_dir`; if so, it has been asked to come forward."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(data_dir))
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(ACTIVATE)
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class SingleInstance(QObject):
    """Listens for later launches on the same data folder; `activated` fires for each."""

    activated = Signal()

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # only this user may connect
        self.server.newConnection.connect(self._on_connection)
        name = server_name(data_dir)
        if not self.server.listen(name):
            # Nobody answered (ask_running_instance came first), so this is a crashed instance's leftover.
            QLocalServer.removeServer(name)
            self.server.listen(name)

    @property
    def listening(self) -> bool:
        return self.server.isListening()

    def close(self) -> None:
        self.server.close()

    def _on_connection(self) -> None:
        while (socket := self.server.nextPendingConnection()) is not None:
            socket.readyRead.connect(self._on_ready_read)
            if socket.bytesAvailable():
                self._handle(socket)

    def _on_ready_read(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._handle(socket)

    def _handle(self, socket: QLocalSocket) -> None:
        # Bounded: a client sends one short line; anything else is ignored, never acted on.
        message = bytes(socket.read(64))
        socket.readyRead.disconnect(self._on_ready_read)
        socket.abort()
        socket.deleteLater()
        if message.startswith(ACTIVATE.strip()):
            self.activated.emit()
