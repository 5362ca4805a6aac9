"""The window's tests share one way to make a window on a private data folder, with its own settings file."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from app.config import Config
from app.core.service import IpponService
from app.gui.main_window import MainWindow

RAG_DOCS = {"fuji.md": "# 富士山\n\n富士山の標高は3776メートルです。静岡県と山梨県にまたがります。",
            "port.txt": "サーバーのポート番号は8080です。"}


@pytest.fixture(autouse=True)
def _no_modal_dialogs(monkeypatch):
    """A modal dialog would wait for a click forever in a headless test: the file pickers pick nothing and
    questions are answered No unless a test says otherwise."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.No))


@pytest.fixture()
def make_window(qtbot, tmp_path):
    windows = []

    def make(**config) -> MainWindow:
        home = tmp_path / "home"
        service = IpponService(Config(data_dir=home, models_dir=home / "models", threads=1, **config))
        window = MainWindow(service, settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(window)
        window._error = lambda exc: window.statusBar().showMessage(str(exc))  # no dialogs in tests
        windows.append(window)
        return window
    yield make
    for window in windows:
        window.runner.cancel_all()
        window.runner.wait()


def write_docs(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root



