"""Citations: an image's stored thumbnail is shown when the image itself cannot be, Markdown sources are
rendered (not raw #), and a file that cannot be opened is reported."""

from __future__ import annotations

from PIL import Image

from app.core.answer import Citation

from .conftest import write_docs


def test_a_cited_image_shows_its_thumbnail_even_once_the_file_is_gone(make_window, qtbot, tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    picture = folder / "構成図.png"
    Image.new("RGB", (800, 600), (40, 90, 160)).save(picture)
    window = make_window()
    window.service.add([folder])
    path = window.service.sources()[0].path
    assert window._thumbnail(path)  # the store kept a thumbnail for it
    picture.unlink()
    panel = window.ask_panel
    panel._set_citations([Citation(1, path, None, None, None, 0, 0, "", 1.0)])
    panel.citations.setCurrentRow(0)
    assert panel.image.isVisibleTo(panel)
    pixmap = panel.image.pixmap()
    assert not pixmap.isNull() and max(pixmap.width(), pixmap.height()) <= 180 and pixmap.width() > pixmap.height()
    assert panel.image.height() >= pixmap.height()  # not squeezed to an empty strip


def test_a_markdown_source_is_rendered_in_the_preview(make_window, qtbot, tmp_path):
    window = make_window()
    panel = window.ask_panel
    panel._question = "富士山の標高"
    text = "# 富士山\n\n標高は**3776**メートルです。\n\n- 静岡県\n- 山梨県"
    path = str(tmp_path / "fuji.md")
    panel._set_citations([Citation(1, path, None, None, "富士山", 0, len(text), text, 1.0)])
    panel.citations.setCurrentRow(0)
    plain = panel.preview.toPlainText()
    assert "#" not in plain and "**" not in plain and "3776" in plain
    document = panel.preview.document()
    blocks = [document.findBlockByNumber(i) for i in range(document.blockCount())]
    assert any(b.blockFormat().headingLevel() == 1 and b.text() == "富士山" for b in blocks)
    assert any(b.textList() is not None and b.text() == "静岡県" for b in blocks)
    # Markup inside a document stays text: it never becomes a link or an image.
    hostile = "<a href='file:///etc/passwd'>click</a> <img src='/etc/x.png'>"
    panel._set_citations([Citation(1, path, None, None, None, 0, len(hostile), hostile, 1.0)])
    panel.citations.setCurrentRow(0)
    assert "<a href" in panel.preview.toPlainText() and "passwd" not in panel.preview.toHtml().split("<body")[0]


def test_a_file_that_cannot_be_opened_is_reported(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window()
    window.open_source(str(tmp_path / "moved.pdf"))
    assert "moved.pdf: the file is no longer there" in window.statusBar().currentMessage()
    present = write_docs(tmp_path / "docs", {"a.txt": "本文"}) / "a.txt"
    monkeypatch.setattr("app.gui.main_window.open_at_page", lambda path, page=None: False)
    window.open_source(str(present))
    assert "a.txt: no application could open this file" in window.statusBar().currentMessage()
