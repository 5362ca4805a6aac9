"""Light or dark (following the system, or chosen in Settings) and the text size, for the whole app.

Kept in QSettings: a look belongs to this user's window, not to the library's config.toml. The Fusion
style and Ippon's own palettes are used off macOS, since native styles (Windows, GTK) ignore palettes;
on macOS the native style follows the chosen colour scheme itself.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")
FONT_SIZES = (0, 11, 12, 13, 14, 16, 18, 20)  # 0: the system's size
QUESTION_TINT = "#3d6fbe"
STYLE_FILE = Path(__file__).resolve().parents[2] / "resources" / "style.qss"


@dataclass(frozen=True, slots=True)
class Appearance:
    theme: str = "system"  # system | light | dark
    font_pt: int = 0  # 0 keeps the system's size


def load_appearance(settings: QSettings) -> Appearance:
    theme = str(settings.value("look/theme", "system"))
    try:
        font_pt = int(settings.value("look/font_pt", 0))
    except (TypeError, ValueError):
        font_pt = 0
    return Appearance(theme if theme in THEMES else "system", font_pt if 0 <= font_pt <= 48 else 0)


def save_appearance(settings: QSettings, appearance: Appearance) -> None:
    settings.setValue("look/theme", appearance.theme)
    settings.setValue("look/font_pt", appearance.font_pt)


def is_dark(appearance: Appearance) -> bool:
    if appearance.theme != "system":
        return appearance.theme == "dark"
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#e8e6e3",
             QPalette.ColorRole.Base: "#17181a", QPalette.ColorRole.AlternateBase: "#2a2b2f",
             QPalette.ColorRole.Text: "#e8e6e3", QPalette.ColorRole.Button: "#2c2d31",
             QPalette.ColorRole.ButtonText: "#e8e6e3", QPalette.ColorRole.ToolTipBase: "#2a2b2f",
             QPalette.ColorRole.ToolTipText: "#e8e6e3", QPalette.ColorRole.Highlight: "#c8402a",
             QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.Link: "#f0876f",
             QPalette.ColorRole.PlaceholderText: "#8a8d93", QPalette.ColorRole.BrightText: "#ffffff"}
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6f7277"))
    return palette


def light_palette() -> QPalette:
    palette = QApplication.style().standardPalette()
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#c8402a"))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.Link, QColor("#b23a24"))
    return palette


def question_background(palette: QPalette) -> QColor:
    """The conversation's question bar: the view's own background tinted blue, so it stands out in light
    (#e8eef7 on white) and in dark alike."""
    return _mix(palette.color(QPalette.ColorRole.Base), QColor(QUESTION_TINT), 0.12)


def _mix(color: QColor, tint: QColor, share: float) -> QColor:
    return QColor(*(round(a + (b - a) * share) for a, b in zip(color.getRgb()[:3], tint.getRgb()[:3], strict=True)))


def apply_appearance(app: QApplication, appearance: Appearance) -> None:
    """Apply the theme, the text size and Ippon's style sheet to every window of `app`."""
    if not hasattr(app, "_ippon_system_font"):
        app._ippon_system_font = QFont(app.font())  # noqa: SLF001 - what "system size" goes back to
        # Follow the system while the theme is "system" (macOS and Windows switch at dusk).
        QGuiApplication.styleHints().colorSchemeChanged.connect(
            lambda _scheme: apply_appearance(app, getattr(app, "_ippon_appearance", Appearance())))
    app._ippon_appearance = appearance  # noqa: SLF001
    scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(appearance.theme,
                                                                            Qt.ColorScheme.Unknown)
    QGuiApplication.styleHints().setColorScheme(scheme)  # the macOS style follows this by itself
    if sys.platform != "darwin":
        if app.style().name().lower() != "fusion":
            app.setStyle("Fusion")
        app.setPalette(dark_palette() if is_dark(appearance) else light_palette())
    font = QFont(app._ippon_system_font)  # noqa: SLF001
    if appearance.font_pt:
        font.setPointSize(appearance.font_pt)
    app.setFont(font)
    try:
        app.setStyleSheet(STYLE_FILE.read_text(encoding="utf-8"))
    except OSError:
        pass  # a missing style sheet leaves the plain style, nothing worse
