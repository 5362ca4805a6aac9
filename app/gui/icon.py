"""The app's icon: 一 (ippon, "one") as a single brush stroke, drawn as SVG in resources/icon.svg."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QPixmap

ICON_FILE = Path(__file__).resolve().parents[2] / "resources" / "icon.svg"


def app_icon() -> QIcon:
    """The icon for the window, the Dock and the tray (rendered sharp at every size by Qt's SVG engine)."""
    return QIcon(str(ICON_FILE))


def icon_pixmap(size: int) -> QPixmap:
    return app_icon().pixmap(QSize(size, size))
