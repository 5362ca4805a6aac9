"""The app's icon, drawn rather than shipped: a vermilion disc with 一 (ippon, "one")."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap


def app_icon(size: int = 128) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor("#d9381e"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(QRectF(4, 4, size - 8, size - 8))
    painter.setPen(QPen(QColor("white"), size * 0.09, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(int(size * 0.27), int(size * 0.52), int(size * 0.73), int(size * 0.48))
    painter.end()
    return QIcon(pixmap)
