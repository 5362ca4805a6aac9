"""The library panel: folders as a tree, a filter, skipped and failed files with their reasons, and
removal that is confirmed first and remembered (a watched folder does not bring the file back)."""

from __future__ import annotations

from pathlib import Path

from app.gui.sources_panel import KIND_ROLE, PATH_ROLE, SourcesPanel

from .conftest import write_docs


def _library(make_window, qtbot, tmp_path):
    docs = write_docs(tmp_path / "資料", {"富士山.md": "# 富士山\n\n標高は3776メートルです。", "port.txt": "ポートは8080です。",
                                         "empty.txt": ""})
    write_docs(docs / "会議", {"議事録.txt": "予算の話をしました。"})
    (docs / "表.xlsx").write_bytes(b"PK\x03\x04")
    window = make_window()
    with qtbot.waitSignal(window.ingest_finished, timeout=60_000):
        window.add_paths([docs])
    qtbot.waitUntil(lambda: len(window.sources_panel.file_rows()) == 5, timeout=30_000)
    return window, docs


def _item(panel: SourcesPanel, name: str):
    return next(i for i in panel._items() if i.text(panel.NAME) == name)


def test_folders_are_a_tree_with_skipped_and_failed_files_and_their_reasons(make_window, qtbot, tmp_path,
                                                                            monkeypatch):
    monkeypatch.setenv("IPPON_LANG", "en")
    window, docs = _library(make_window, qtbot, tmp_path)
    panel = window.sources_panel
    tree = panel.tree
    assert tree.topLevelItemCount() == 1
    top = tree.topLevelItem(0)
    assert top.text(0) == "資料" and top.data(0, PATH_ROLE) == str(docs) and top.data(0, KIND_ROLE) == "folder"
    meeting = _item(panel, "会議")
    assert meeting.parent() is top and meeting.child(0).text(0) == "議事録.txt"
    rows = panel.file_rows()
    assert rows["富士山.md"][0] == "indexed" and rows["empty.txt"] == ("failed", "", "is empty")
    assert rows["表.xlsx"] == ("skipped", "", "Ippon does not read .xlsx files")
    assert "4 files" in panel.title.text() and "1 skipped" in panel.title.text()


def test_the_filter_keeps_matching_files_and_their_folders(make_window, qtbot, tmp_path):
    window, _docs = _library(make_window, qtbot, tmp_path)
    panel = window.sources_panel
    panel.filter.setText("議事")
    shown = {i.text(0) for i in panel._items() if not i.isHidden()}
    assert shown == {"資料", "会議", "議事録.txt"}
    panel.filter.setText("")
    assert all(not i.isHidden() for i in panel._items())


def test_removal_is_confirmed_and_a_watched_folder_does_not_bring_the_file_back(make_window, qtbot, tmp_path,
                                                                              monkeypatch):
    window, docs = _library(make_window, qtbot, tmp_path)
    panel = window.sources_panel
    asked = []

    def answer(result):
        def confirm(cls, paths, parent):  # noqa: ANN001, ANN202
            asked.append([Path(p).name for p in paths])
            return result
        return classmethod(confirm)

    _item(panel, "port.txt").setSelected(True)
    monkeypatch.setattr(SourcesPanel, "confirm_removal", answer(False))
    panel.remove_button.click()
    assert asked == [["port.txt"]] and "port.txt" in panel.file_rows()  # said No: nothing removed

    monkeypatch.setattr(SourcesPanel, "confirm_removal", answer(True))
    with qtbot.waitSignal(window.sources_listed, timeout=30_000):
        panel.remove_button.click()
    assert "port.txt" not in panel.file_rows()
    assert {Path(s.path).name for s in window.service.sources()} == {"富士山.md", "empty.txt", "議事録.txt"}

    # Following the folder: an edit of the removed file and a new file; only the new one comes in.
    panel.watch_button.setChecked(True)
    (docs / "port.txt").write_text("ポートは9090に変わりました。", encoding="utf-8")
    (docs / "new.txt").write_text("新しい文書です。", encoding="utf-8")
    qtbot.waitUntil(lambda: "new.txt" in panel.file_rows(), timeout=60_000)
    assert "port.txt" not in panel.file_rows()
    assert "port.txt" not in {Path(s.path).name for s in window.service.sources()}
    panel.watch_button.setChecked(False)
