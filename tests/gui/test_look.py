"""The look: light/dark (following the system or chosen in Settings), a text size, and the 一 icon."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.gui import settings_dialog
from app.gui.icon import ICON_FILE, app_icon
from app.gui.citations import ConversationView
from app.gui.theme import Appearance, apply_appearance, dark_palette, light_palette, load_appearance


@pytest.fixture()
def restore_look():
    yield
    apply_appearance(QApplication.instance(), Appearance())


def _window_lightness() -> int:
    return QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness()


def test_dark_mode_and_text_size_from_settings_apply_and_persist(make_window, qtbot, monkeypatch, restore_look):
    window = make_window()
    base_pt = QApplication.instance().font().pointSize()
    monkeypatch.setattr(settings_dialog.SettingsDialog, "ask",
                        classmethod(lambda cls, config, parent, **kw: {"appearance": Appearance("dark", 18)}))
    window.edit_settings()
    assert _window_lightness() < 60
    assert window.palette().color(QPalette.ColorRole.Base).lightness() < 60
    assert QApplication.instance().font().pointSize() == 18 != base_pt
    assert load_appearance(window.settings) == Appearance("dark", 18)
    # The next window (a restart) starts dark too.
    apply_appearance(QApplication.instance(), Appearance())
    assert _window_lightness() > 150
    make_window()
    assert _window_lightness() < 60


def test_light_is_light_and_system_follows_the_platform(restore_look):
    app = QApplication.instance()
    apply_appearance(app, Appearance("light"))
    assert _window_lightness() > 150
    apply_appearance(app, Appearance("system"))
    assert _window_lightness() > 150  # the offscreen platform reports no dark scheme


def test_the_settings_dialog_offers_theme_and_size(qtbot, tmp_path):
    from app.config import Config

    dialog = settings_dialog.SettingsDialog(Config(data_dir=tmp_path, models_dir=tmp_path / "models"), appearance=Appearance("light", 0))
    qtbot.addWidget(dialog)
    assert dialog.changes() == {}
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.font_size.setCurrentIndex(dialog.font_size.findData(14))
    assert dialog.changes() == {"appearance": Appearance("dark", 14)}


def test_the_icon_is_one_brush_stroke_drawn_as_svg(make_window):
    root = ET.parse(ICON_FILE).getroot()
    assert root.tag.endswith("svg")
    ns = "{http://www.w3.org/2000/svg}"
    strokes = [p for p in root.iter(f"{ns}path") if p.get("fill") == "url(#ink)"]
    assert len(strokes) == 1 and not list(root.iter(f"{ns}circle"))  # no disc: not a road sign
    pixmap = app_icon().pixmap(QSize(64, 64))
    assert not pixmap.isNull() and pixmap.width() == 64
    window = make_window()
    assert not window.windowIcon().isNull()


def test_the_question_bar_follows_light_and_dark(qtbot):
    view = ConversationView()
    qtbot.addWidget(view)
    view.setPalette(light_palette())
    view.begin_turn("東京タワーの高さは？")

    def bar() -> tuple[QColor, QColor]:
        block = view.document().begin()
        return block.blockFormat().background().color(), block.begin().fragment().charFormat().foreground().color()

    light_bar, light_text = bar()
    assert light_bar.name() == "#e8eef7"  # the colour the light look always had
    view.setPalette(dark_palette())  # what a switch to dark (Settings, or the system at dusk) does to the view
    dark_bar, dark_text = bar()
    assert dark_bar != light_bar and dark_bar.lightness() < 80
    assert dark_text.lightness() > 150  # the question stays readable on its dark bar
    assert abs(dark_bar.lightness() - view.palette().color(QPalette.ColorRole.Base).lightness()) > 5  # still a bar
