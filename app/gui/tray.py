"""The menu-bar (tray) icon that opens quick ask, with a fallback where the desktop has no tray."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget


class TrayController(QObject):
    quick_ask = Signal()
    show_window = Signal()
    quit_requested = Signal()
    no_tray = Signal(str)  # said once, ever: where quick ask lives instead

    def __init__(self, icon: QIcon, parent: QWidget) -> None:
        super().__init__(parent)
        self.icon: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon = QSystemTrayIcon(icon, parent)
            menu = QMenu(parent)
            for text, signal in ((self.tr("Quick ask"), self.quick_ask), (self.tr("Show Ippon"), self.show_window),
                                 (self.tr("Quit"), self.quit_requested)):
                action = QAction(text, menu)
                action.triggered.connect(signal)
                menu.addAction(action)
            self.icon.setContextMenu(menu)
            self.icon.setToolTip("Ippon")
            self.icon.activated.connect(self._activated)
            self.icon.show()

    @property
    def available(self) -> bool:
        return self.icon is not None

    def announce_fallback(self, settings: QSettings) -> None:
        """Without a tray, say once where quick ask is."""
        if self.available or settings.value("tray/fallback_announced", False, type=bool):
            return
        settings.setValue("tray/fallback_announced", True)
        self.no_tray.emit(self.tr("This desktop has no system tray: open quick ask from the View menu "
                                  "or with Ctrl+Shift+Space."))

    def announce_hidden(self, settings: QSettings) -> None:
        """The first time the window is closed, say that Ippon keeps running in the tray."""
        if self.icon is None or settings.value("tray/hidden_announced", False, type=bool):
            return
        settings.setValue("tray/hidden_announced", True)
        self.icon.showMessage("Ippon", self.tr("Ippon keeps running here: quick ask is one click away. "
                                               "Quit from this icon's menu."), self.icon.icon(), 8000)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.quick_ask.emit()
