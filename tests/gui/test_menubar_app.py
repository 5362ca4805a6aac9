"""A real menu-bar/tray app: closing the window keeps Ippon in the tray (Quit quits), one Ippon per data
folder (a second launch, another process, brings the first forward), quick ask near the top like Spotlight
with sources that open."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from app.gui.single_instance import SingleInstance, ask_running_instance

from .conftest import RAG_DOCS, write_docs

ROOT = Path(__file__).resolve().parents[2]


def test_closing_the_window_keeps_ippon_in_the_tray_and_quit_quits(make_window, qtbot, monkeypatch):
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    quits = []
    monkeypatch.setattr(QApplication, "quit", staticmethod(lambda: quits.append(True)))
    window = make_window()
    assert window.tray.available
    window.show()
    qtbot.waitExposed(window)
    window.close()
    assert not window.isVisible() and not quits
    assert window.tray.icon.isVisible()
    window.tray.show_window.emit()
    assert window.isVisible()
    window.quit_app()
    assert quits == [True] and not window.isVisible()
    QApplication.setQuitOnLastWindowClosed(True)


def test_a_second_launch_on_the_same_data_folder_brings_the_first_forward(qtbot, tmp_path):
    home, other = tmp_path / "home", tmp_path / "other"
    first = SingleInstance(home)
    assert first.listening
    script = ("import sys; from pathlib import Path; from PySide6.QtCore import QCoreApplication; "
              "from app.gui.single_instance import ask_running_instance; app = QCoreApplication([]); "
              "sys.exit(0 if ask_running_instance(Path(sys.argv[1])) else 3)")
    with qtbot.waitSignal(first.activated, timeout=30_000):
        second = subprocess.Popen([sys.executable, "-c", script, str(home)], cwd=ROOT)
    assert second.wait(timeout=30) == 0  # it found the first and will exit
    # Another data folder is another Ippon.
    assert subprocess.run([sys.executable, "-c", script, str(other)], cwd=ROOT, timeout=60).returncode == 3
    assert not ask_running_instance(other)
    first.close()


def test_a_crashed_instance_leaves_nothing_in_the_way(qtbot, tmp_path):
    first = SingleInstance(tmp_path / "home")
    first.server.close()  # gone without cleaning up, as after a crash (the name may stay on the disk)
    again = SingleInstance(tmp_path / "home")
    assert again.listening
    again.close()


def test_quick_ask_opens_near_the_top_and_its_sources_open(make_window, qtbot, tmp_path):
    window = make_window()
    window.service.add([write_docs(tmp_path / "docs", RAG_DOCS)])
    quick = window.quick_ask
    quick.show_and_focus()
    area = QGuiApplication.primaryScreen().availableGeometry()
    assert abs(quick.x() + quick.width() / 2 - area.center().x()) <= 2
    assert area.y() < quick.y() <= area.y() + area.height() // 4
    quick.question.setText("ポート番号")
    with qtbot.waitSignal(quick.controller.finished, timeout=30_000):
        quick.submit()
    opened = []
    window.open_source = opened.append  # the window's opener is what the click reaches
    quick.open_requested.disconnect()
    quick.open_requested.connect(window.open_source)
    item = quick.sources.item(0)
    quick.sources.itemClicked.emit(item)
    assert opened and Path(opened[0]).name == "port.txt"


def test_launching_the_window_again_on_the_same_data_folder_opens_no_second_window(qtbot, tmp_path, monkeypatch):
    from app.gui import app as gui_app

    home = tmp_path / "home"
    monkeypatch.setenv("IPPON_HOME", str(home))
    first = SingleInstance(home)
    made = []
    monkeypatch.setattr(gui_app, "MainWindow", lambda *a, **k: made.append(True))
    with qtbot.waitSignal(first.activated, timeout=30_000):
        assert gui_app.run_gui([]) == 0
    assert not made
    first.close()
