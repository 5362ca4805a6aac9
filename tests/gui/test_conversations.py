"""Conversations in the window: turns kept one after another, the sidebar, [n] links that select the
source and mark the cited text, PDF pages rendered with the cited lines marked, answer actions."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextCursor

from app.gui.citations import marked_text
from tests.core.corpus import write_pdf
from tests.core.scripted_chat import ScriptedChat

from .conftest import write_docs

DOCS = {"tower.txt": "東京タワーの高さは333メートルです。\n展望台は150メートルにあります。",
        "kaika.txt": "東京タワーの完成は1958年のことでした。\n当時は世界一高い鉄塔でした。"}


@pytest.fixture()
def window(make_window, tmp_path):
    window = make_window(llm="scripted")
    window.service.add([write_docs(tmp_path / "docs", DOCS)])
    window.service._llm = ScriptedChat(
        answers=["東京タワーの高さは333メートルです[1]。完成は1958年です[2]。", "1958年です[1]。", "150メートルです[1]。"],
        rewrites=["東京タワーは何年に完成しましたか？"])
    window.ask_panel.mode.setCurrentIndex(0)
    window.show()
    return window


def _ask(window, qtbot, question: str):
    panel = window.ask_panel
    if panel.library_files <= 0:  # the window learns of files added behind its back on a refresh
        window.refresh_sources()
        qtbot.waitUntil(lambda: panel.library_files > 0, timeout=10_000)
    panel.question.setText(question)
    with qtbot.waitSignal(window.controller.finished, timeout=30_000) as finished:
        panel.submit()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    return finished.args[0]


def _click_citation(qtbot, view, href: str) -> None:
    """Click the link `href` where it is drawn in the conversation, as a user would."""
    document = view.document()
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.charFormat().isAnchor() and fragment.charFormat().anchorHref() == href:
                cursor = QTextCursor(document)
                cursor.setPosition(fragment.position() + 1)
                view.setTextCursor(cursor)
                view.ensureCursorVisible()
                point = view.cursorRect(cursor).center()
                qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
                return
            it += 1
        block = block.next()
    raise AssertionError(f"no link {href} in the conversation")


def test_turns_stay_one_after_another_and_the_sidebar_lists_the_thread(window, qtbot):
    _ask(window, qtbot, "東京タワーの高さは？")
    _ask(window, qtbot, "それは何年に完成しましたか？")
    _ask(window, qtbot, "展望台の高さは？")
    view = window.ask_panel.answer_view
    text = view.toPlainText()
    positions = [text.index(q) for q in ("東京タワーの高さは？", "それは何年に完成しましたか？", "展望台の高さは？")]
    assert positions == sorted(positions)  # not wiped by each question
    assert "東京タワーは何年に完成しましたか？" in text  # the rewrite is shown
    thread_id = window.controller.thread_id
    assert window.threads_panel.ids() == [thread_id]
    assert len(window.service.threads.get(thread_id).turns) == 3

    window.thread_session.new_thread()  # File → New conversation (Ctrl+N)
    assert view.toPlainText().strip() == "" and window.controller.thread_id is None
    _ask(window, qtbot, "展望台は？")
    assert len(window.threads_panel.ids()) == 2 and window.threads_panel.ids()[0] == window.controller.thread_id
    window.thread_session.open_thread(thread_id)  # back to the first: its turns as they were
    assert view.toPlainText().index("東京タワーの高さは？") < view.toPlainText().index("展望台の高さは？")
    assert window.controller.thread_id == thread_id

    panel = window.threads_panel
    panel.ask_title = lambda current: "タワーの話"
    panel.rename(thread_id)
    assert window.service.threads.get(thread_id).title == "タワーの話"
    assert panel.list.item(panel.ids().index(thread_id)).text() == "タワーの話"
    panel.confirm_delete = lambda: True
    panel.delete(thread_id)
    assert thread_id not in panel.ids() and window.controller.thread_id is None


def test_the_new_conversation_shortcut_is_ctrl_n(window, qtbot):
    window.controller.thread_id = "some-thread"
    action = next(a for a in window.findChildren(type(window.threads_action)) if a.text() == "New conversation")
    assert action.shortcut().toString() == "Ctrl+N"  # ⌘N on macOS: Qt's Ctrl is the Command key there
    action.trigger()
    assert window.controller.thread_id is None
    window.threads_action.trigger()  # View → Conversations folds the sidebar away
    assert not window.threads_panel.isVisible()


def test_clicking_2_selects_source_2_and_marks_the_cited_text(window, qtbot):
    done = _ask(window, qtbot, "東京タワーの高さと完成は？")
    assert [c.n for c in done.citations] == [1, 2]
    panel = window.ask_panel
    second = next(c for c in panel._citations if c.n == 2)
    _click_citation(qtbot, panel.answer_view, "cite:0/2")
    qtbot.waitUntil(lambda: panel.citations.currentRow() == 1, timeout=5_000)
    assert panel.citations.currentItem().text().startswith("[2] ")
    # The cited characters are the chunk's offsets in the file, and exactly those are marked.
    source = Path(second.path).read_text(encoding="utf-8")
    assert source[second.char_start:second.char_end] == second.text
    assert marked_text(panel.preview.document()) == second.text.replace("\n", "")
    assert panel.preview.textCursor().position() > 0 or panel.preview.verticalScrollBar().maximum() == 0
    assert "cited" in panel.citations.item(0).text() and "cited" in panel.citations.item(1).text()


def test_a_pdf_citation_renders_its_page_with_the_cited_line_marked(make_window, qtbot, tmp_path):
    docs = tmp_path / "pdfs"
    docs.mkdir()
    pdf = write_pdf(docs, "manual.pdf", ["表紙のページです。", "東京タワーの点検手順は三段階です。"])
    window = make_window(llm="scripted")
    window.service.add([docs])
    window.service._llm = ScriptedChat(answers=["点検手順は三段階です[1]。"])
    window.show()
    _ask(window, qtbot, "東京タワーの点検手順は？")
    panel = window.ask_panel
    _click_citation(qtbot, panel.answer_view, "cite:0/1")
    qtbot.waitUntil(lambda: panel.page_view.isVisible(), timeout=5_000)
    assert panel.page_view.shown == (str(pdf), 2)
    assert panel.page_view.marks and not panel.page_view.label.pixmap().isNull()
    assert window._cited_page(str(pdf)) == 2  # "Open file" opens at this page where the viewer allows


def test_an_unused_source_is_labelled_and_copy_and_regenerate_work(window, qtbot):
    window.service._llm = ScriptedChat(answers=["高さは333メートルです[1]。", "高さは333メートルです[1]。"])
    _ask(window, qtbot, "東京タワーの高さと完成は？")
    panel = window.ask_panel
    labels = [panel.citations.item(r).text() for r in range(panel.citations.count())]
    assert labels[0].endswith("· cited") and labels[1].endswith("· given, not cited")
    copied = window.thread_session.copy_answer()
    assert copied.startswith("高さは333メートルです[1]。") and "[1] " in copied and "[2] " in copied
    assert QGuiApplication.clipboard().text() == copied
    thread_id = window.controller.thread_id
    with qtbot.waitSignal(window.controller.finished, timeout=30_000):
        panel.actions.regenerate_button.click()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    turns = window.service.threads.get(thread_id).turns
    assert len(turns) == 1 and turns[0].question == "東京タワーの高さと完成は？"  # replaced, not added
    assert panel.answer_view.toPlainText().count("東京タワーの高さと完成は？") == 1


def test_quick_ask_citations_are_links_that_show_the_source(window, qtbot):
    quick = window.quick_ask
    window.refresh_sources()
    qtbot.waitUntil(lambda: quick.library_files > 0, timeout=10_000)
    quick.show_and_focus()
    quick.question.setText("東京タワーの高さと完成は？")
    with qtbot.waitSignal(quick.controller.finished, timeout=30_000):
        quick.submit()
    qtbot.waitUntil(lambda: not quick.controller.busy, timeout=10_000)
    _click_citation(qtbot, quick.answer, "cite:0/2")
    qtbot.waitUntil(lambda: window.ask_panel.citations.currentRow() == 1, timeout=5_000)
    assert quick.sources.currentRow() == 1
    assert marked_text(window.ask_panel.preview.document())
    assert window.threads_panel.ids() == [quick.controller.thread_id]  # quick ask's conversation is listed
    quick.hide()
    quick.show_and_focus()
    assert quick.controller.thread_id is None  # opening quick ask again starts a new conversation


def test_streaming_redraws_only_the_last_answer_and_matches_a_full_redraw(qtbot):
    from app.gui.citations import ConversationView, ShownTurn

    view = ConversationView()
    qtbot.addWidget(view)
    view.turns = [ShownTurn("東京タワーの高さは？", "**333メートル**です[1]。", ["メモ"])]
    view.render()
    view.begin_turn("それはいつ完成しましたか？")
    answer = "東京タワーは1958年に完成しました[1]。\n\n- 当時は世界一[2]"
    for end in range(1, len(answer) + 1, 4):
        view.set_answer(answer[:end])
    view.set_answer(answer)
    streamed = view.toHtml()
    view.render()
    assert view.toHtml() == streamed
    hrefs = [f.charFormat().anchorHref() for b in _blocks(view.document()) for f in _fragments(b)
             if f.charFormat().isAnchor()]
    assert hrefs == ["cite:0/1", "cite:1/1", "cite:1/2"]


def _blocks(document):
    block = document.begin()
    while block.isValid():
        yield block
        block = block.next()


def _fragments(block):
    it = block.begin()
    while not it.atEnd():
        yield it.fragment()
        it += 1


def test_the_cited_text_is_marked_in_a_rendered_markdown_preview_too(qtbot):
    from PySide6.QtGui import QTextDocument

    from app.gui.citations import mark_cited_text

    document = QTextDocument()
    document.setMarkdown("# 富士山\n\n- 富士山の標高は3776メートルです。静岡県と山梨県にまたがります。\n\n別の段落です。")
    cursor = mark_cited_text(document, "# 富士山\n\n- 富士山の標高は3776メートルです。静岡県と山梨県にまたがります。")
    assert cursor is not None
    # The heading and the list item, without their Markdown markers; the other paragraph stays unmarked.
    assert marked_text(document) == "富士山" + "富士山の標高は3776メートルです。静岡県と山梨県にまたがります。"


def test_a_thread_exports_as_markdown_from_the_sidebar(window, qtbot, tmp_path):
    _ask(window, qtbot, "東京タワーの高さは？")
    panel = window.threads_panel
    out = tmp_path / "exports" / "tower.md"
    out.parent.mkdir()
    panel.ask_export_path = lambda title: out
    assert window.thread_session.export(window.controller.thread_id) == out
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# 東京タワーの高さは？") and "](../docs/" in text  # links relative to the export
    errors = []
    panel.show_error = errors.append
    panel.ask_export_path = lambda title: tmp_path / "missing-folder" / "x.md"
    assert window.thread_session.export(window.controller.thread_id) is None
    assert errors and "missing-folder" in errors[0]


def test_an_image_source_shows_the_image_and_other_sources_no_page(qtbot, tmp_path):
    from PySide6.QtGui import QColor, QImage
    from PySide6.QtWidgets import QTextBrowser

    from app.core.answer import Citation
    from app.gui.citations import PagePreview, show_cited_place

    picture = tmp_path / "diagram.png"
    image = QImage(400, 300, QImage.Format.Format_RGB32)
    image.fill(QColor("#336699"))
    assert image.save(str(picture))
    preview, page_view = QTextBrowser(), PagePreview()
    qtbot.addWidget(preview)
    qtbot.addWidget(page_view)
    preview.setPlainText("構成図の説明")
    show_cited_place(preview, page_view, Citation(1, str(picture), None, None, None, 0, 6, "構成図の説明", 1.0))
    assert page_view.shown == (str(picture), None) and not page_view.label.pixmap().isNull()
    assert marked_text(preview.document()) == "構成図の説明"
    show_cited_place(preview, page_view, Citation(2, str(tmp_path / "notes.txt"), None, None, None, 0, 6, "メモ本文です", 1.0))
    assert page_view.shown is None and page_view.isHidden()


def test_open_file_opens_a_pdf_at_the_cited_page_where_the_viewer_takes_one(tmp_path, monkeypatch):
    import sys
    import time

    from app.gui.citations import open_at_page

    if not sys.platform.startswith("linux"):
        pytest.skip("the page is passed to Linux viewers only")  # macOS and Windows viewers take no page
    record = tmp_path / "args.txt"
    viewer = tmp_path / "bin" / "evince"
    viewer.parent.mkdir()
    viewer.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{record}"\n', encoding="utf-8")
    viewer.chmod(0o755)
    monkeypatch.setenv("PATH", str(viewer.parent))
    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    assert open_at_page(str(pdf), 3)
    for _ in range(100):
        if record.exists() and record.read_text():
            break
        time.sleep(0.05)
    assert record.read_text().split("\n")[:2] == ["--page-label=3", str(pdf)]
