"""The desktop preview marks the words keyword search matched (spelling variants included) and scrolls to them."""

from __future__ import annotations

from app.config import Config
from app.core.answer import Citation
from app.core.service import IpponService
from app.gui.ask_panel import AskPanel
from app.gui.asking import AskController
from app.gui.tasks import TaskRunner


def test_preview_marks_the_matched_spelling_variant_and_scrolls_to_it(qtbot, tmp_path):
    service = IpponService(Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models"))
    panel = AskPanel(AskController(service, TaskRunner()))
    qtbot.addWidget(panel)
    panel.resize(500, 300)
    panel.show()
    qtbot.waitExposed(panel)
    text = "前置き。\n" * 80 + "サーバの再起動はお問合せ窓口へ連絡してください。\n" + "後書き。\n" * 80
    panel._question = "サーバーの再起動の問い合わせ先は？"  # noqa: SLF001 - what a submitted question sets
    citation = Citation(1, str(tmp_path / "manual.txt"), None, None, None, 0, len(text), text, 1.0)
    panel._set_citations([citation])  # noqa: SLF001 - what the controller's sources signal does
    panel.citations.setCurrentRow(0)
    html = panel.preview.toHtml()
    for word in ("サーバ", "再起動", "問合せ"):  # each marked as a span of its own (the cited mark may recolour it)
        assert f">{word}</span>" in html, word
    cursor = panel.preview.textCursor()
    document = panel.preview.toPlainText()
    assert document[cursor.position() - len("サーバ"):cursor.position()] == "サーバ"  # the first match is in view
    assert panel.preview.verticalScrollBar().value() > 0


def test_the_window_upgrades_an_old_library_on_opening_with_progress(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from app.core.store import LibraryStore
    from app.gui.main_window import MainWindow
    from tests.core.test_search_japanese import OLD_TEXTS, _write_old_library

    home = tmp_path / "home"
    _write_old_library(home, OLD_TEXTS)
    service = IpponService(Config(data_dir=home, models_dir=home / "models", threads=1))
    assert service.index_outdated()
    window = MainWindow(service, settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    assert window.progress_label.text() == "Updating the keyword index…" and window.cancel_button.isVisibleTo(window)
    with qtbot.waitSignal(window.ingest_finished, timeout=60_000) as finished:
        pass
    assert not finished.args[0].cancelled and not LibraryStore(home).index_outdated()
    assert {h.path for h in service.search_keywords("在宅")} == set(OLD_TEXTS)
    window.runner.wait()
