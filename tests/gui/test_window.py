"""The desktop window, offscreen, driven through its own methods and events (pytest-qt)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QSystemTrayIcon

from app.config import Config
from app.core.service import IpponService
from app.gui.main_window import MainWindow

from .conftest import RAG_DOCS, write_docs


def _drop(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)


def test_dropping_a_folder_adds_its_files_with_their_status(make_window, qtbot, tmp_path):
    window = make_window()
    docs = write_docs(tmp_path / "docs", {**RAG_DOCS, "empty.txt": ""})
    with qtbot.waitSignal(window.ingest_finished, timeout=60_000) as finished:
        _drop(window, [docs])
    assert finished.args[0].added == 2 and finished.args[0].failed == 1
    panel = window.sources_panel
    qtbot.waitUntil(lambda: len(panel.file_rows()) == 3, timeout=10_000)
    rows = panel.file_rows()
    assert rows["fuji.md"][0] == "indexed" and rows["empty.txt"] == ("failed", "", "is empty")
    assert "3 files" in panel.title.text()


def test_ask_streams_the_answer_and_citations_open_the_right_text(make_window, qtbot, tmp_path, engine_models):
    window = make_window(llm=str(engine_models("llm-chat", "gguf")))
    window.service.add([write_docs(tmp_path / "docs", RAG_DOCS)])
    pieces = []
    window.controller.answer.connect(pieces.append)
    panel = window.ask_panel
    panel.mode.setCurrentIndex(0)
    panel.question.setText("富士山の標高は？")
    # Lexical retrieval only (no embedder configured): the library the tiny model was trained on.
    with qtbot.waitSignal(window.controller.finished, timeout=60_000) as finished:
        panel.submit()
    done = finished.args[0]
    assert done.answer == "富士山の標高は3776メートルです[1]。"
    assert len(pieces) > 1 and "".join(pieces) == done.answer
    # The conversation shows the question, then its answer (earlier turns would stand above).
    assert panel.answer_view.toPlainText().strip() == "富士山の標高は？\n" + done.answer
    assert panel.citations.count() == 1 and panel.citations.item(0).text() == "[1] fuji.md · cited"
    panel.citations.setCurrentRow(0)
    preview = panel.preview.toHtml()
    assert "3776" in panel.preview.toPlainText() and "#ffe58a" in preview  # the question's words marked
    opened = []
    panel.open_requested.connect(opened.append)
    panel.open_button.click()
    assert opened and Path(opened[0]).name == "fuji.md"


def test_cancelling_an_ingest_stops_it_and_loses_nothing(make_window, qtbot, tmp_path):
    window = make_window()
    docs = write_docs(tmp_path / "many", {f"d{i:03d}.txt": f"文書{i}の本文です。" * 40 for i in range(300)})
    cancelled_once = []

    def cancel_on_first(_event) -> None:
        if not cancelled_once:
            cancelled_once.append(True)
            window.cancel_ingest()

    with qtbot.waitSignal(window.ingest_finished, timeout=120_000) as finished:
        window.add_paths([docs])
        window._ingest.progress(cancel_on_first)
    summary = finished.args[0]
    assert summary.cancelled and summary.added < 300
    records = window.service.sources()
    assert all(r.status == "indexed" and r.chunks > 0 for r in records)
    # Adding again finishes the job.
    with qtbot.waitSignal(window.ingest_finished, timeout=120_000) as again:
        window.add_paths([docs])
    assert again.args[0].added + again.args[0].unchanged == 300


def test_closing_during_an_ingest_cancels_it_cleanly(make_window, qtbot, tmp_path):
    window = make_window()
    docs = write_docs(tmp_path / "many", {f"d{i:03d}.txt": f"別の文書{i}です。" * 40 for i in range(300)})
    window.add_paths([docs])
    qtbot.waitUntil(lambda: window.progress.value() > 0, timeout=60_000)
    window.close()
    assert not window.runner.busy
    fresh = IpponService(Config(data_dir=window.service.config.data_dir,
                                models_dir=window.service.config.models_dir))
    assert all(r.status == "indexed" and r.chunks > 0 for r in fresh.sources())
    assert len(fresh.search_keywords("別の文書")) >= 1


def test_without_a_tray_quick_ask_lives_in_the_menu_and_is_announced_once(make_window, qtbot):
    assert not QSystemTrayIcon.isSystemTrayAvailable()  # offscreen has none
    window = make_window()
    assert not window.tray.available
    assert "no system tray" in window.statusBar().currentMessage()
    assert window.quick_ask_action.shortcut().toString() == "Ctrl+Shift+Space"
    window.quick_ask_action.trigger()
    assert window.quick_ask.isVisible()
    second = make_window()
    assert second.statusBar().currentMessage() == ""  # said once, not on every start


def test_quick_ask_without_an_llm_shows_search_results(make_window, qtbot, tmp_path):
    window = make_window()
    window.service.add([write_docs(tmp_path / "docs", RAG_DOCS)])
    quick = window.quick_ask
    quick.show_and_focus()
    quick.question.setText("ポート番号")
    with qtbot.waitSignal(quick.controller.finished, timeout=30_000):
        quick.submit()
    assert "port.txt" in quick.sources.item(0).text()
    assert "No answering model" in quick.notice.text() and quick.notice.isVisibleTo(quick)


def test_settings_changes_are_written_and_used(make_window, qtbot, monkeypatch, tmp_path):
    window = make_window()
    from app.gui import settings_dialog

    monkeypatch.setenv("IPPON_HOME", str(window.service.config.data_dir))
    monkeypatch.setattr(settings_dialog.SettingsDialog, "ask", classmethod(lambda cls, config, parent, **kw: {"top_k": 3}))
    window.edit_settings()
    assert window.service.config.top_k == 3
    assert "top_k = 3" in (window.service.config.data_dir / "config.toml").read_text()


def test_screenshot_command_writes_a_png(tmp_path, monkeypatch, qtbot):
    from app.gui.app import run_gui

    monkeypatch.setenv("IPPON_HOME", str(tmp_path / "shot-home"))
    out = tmp_path / "main.png"
    assert run_gui(["--screenshot", str(out), "--view", "main", "--size", "800x500"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_first_run_opens_the_model_picker_and_using_a_model_reloads(make_window, qtbot, engine_models, monkeypatch):
    window = make_window()
    monkeypatch.setenv("IPPON_HOME", str(window.service.config.data_dir))
    window.first_run()
    dialog = window.models_dialog
    assert dialog is not None and dialog.isVisible()
    roles = [dialog.recommended.item(r, 0).text() for r in range(dialog.recommended.rowCount())]
    assert roles == ["Answering (LLM)", "Embedder", "Reranker"]
    assert all(dialog.recommended.item(r, 3).text() for r in range(3))  # each pick says why
    with qtbot.waitSignal(dialog.import_finished, timeout=30_000):
        dialog.import_path(Path("/nonexistent/model.gguf"))
    assert "model.gguf" in dialog.status.text()
    with qtbot.waitSignal(dialog.import_finished, timeout=30_000):
        dialog.import_path(engine_models("llm-chat", "gguf"))
    qtbot.waitUntil(lambda: dialog.installed.rowCount() == 1)
    assert dialog.installed.item(0, 1).text() == "Answering (LLM)"
    dialog.installed.selectRow(0)
    dialog.use_selected()
    assert window.service.config.llm and Path(window.service.config.llm).name.endswith(".gguf")
    assert dialog.installed.item(0, 4).text() == "Answering (LLM)"
    assert "llm-chat" in window.models_status.text()
    assert window.models_status.text().endswith("on CPU")  # the device llama.cpp computes on here
    assert window.controller.service is window.service
