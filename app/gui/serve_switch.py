"""The settings' switch for the local API server: start and stop it, show its address and its key.

The server (app/serve) runs in this process on a thread of its own and shares the window's
models; it keeps running when the dialog closes and stops when Ippon quits.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from ..core.service import IpponService


class ServeControl(QObject):
    """Owns the window's server, if any; `changed` fires (on the main thread) when it starts, stops or fails."""

    changed = Signal()

    def __init__(self, service: IpponService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.server = None
        self.starting = False
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self.server is not None

    def start(self) -> None:
        """Start in the background: loading the models takes a moment."""
        if self.running or self.starting:
            return
        self.starting, self.error = True, None
        threading.Thread(target=self._start, name="ippon-serve-start", daemon=True).start()

    def _start(self) -> None:
        from ..serve.server import IpponServer  # the server stack loads only when asked for
        try:
            server = IpponServer(self.service, owns_models=False)
            server.start()
            self.server = server
        except Exception as exc:  # noqa: BLE001 - shown beside the switch (a taken port, a bad model)
            self.error = str(exc)
        finally:
            self.starting = False
            self.changed.emit()  # a queued signal: the widgets update on the main thread

    def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.stop()
            self.changed.emit()


class ServeSwitch(QWidget):
    def __init__(self, control: ServeControl, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.control = control
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.switch = QCheckBox(self.tr("Serve the library to other apps (OpenAI-compatible API and MCP)"))
        self.switch.setToolTip(self.tr("Only this computer can connect (127.0.0.1), and only with the key"))
        layout.addWidget(self.switch)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        row = QHBoxLayout()
        self.key = QLineEdit()
        self.key.setReadOnly(True)
        self.key.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.copy = QPushButton(self.tr("Copy key"))
        self.copy.clicked.connect(lambda: QApplication.clipboard().setText(self.key.text()))
        row.addWidget(self.key, 1)
        row.addWidget(self.copy)
        layout.addLayout(row)
        self.switch.toggled.connect(self._toggled)
        control.changed.connect(self.refresh)
        self.refresh()

    def _toggled(self, on: bool) -> None:
        if on:
            self.control.start()
        else:
            self.control.stop()
        self.refresh()

    def refresh(self) -> None:
        control = self.control
        self.switch.blockSignals(True)
        self.switch.setChecked(control.running or control.starting)
        self.switch.blockSignals(False)
        listening = control.server.listening if control.server is not None else None
        if control.starting:
            self.status.setText(self.tr("Starting…"))
        elif listening is not None:
            self.status.setText(self.tr("API: {url}/v1 · MCP: {url}/mcp · send the key as "
                                        "Authorization: Bearer").format(url=listening.url))
        elif control.error:
            self.status.setText(self.tr("The server could not start: {reason}").format(reason=control.error))
        else:
            self.status.setText(self.tr("Off"))
        self.key.setText(listening.key if listening is not None else "")
        self.key.setVisible(listening is not None)
        self.copy.setVisible(listening is not None)
