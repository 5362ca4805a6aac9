"""Citations that open the exact place: `[n]` links in the conversation, the cited text marked and
scrolled to in the preview, PDF pages rendered with the cited lines marked, images shown, and
"Open file" at the cited page where the system's viewer can be told one."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QRect, Qt, QUrl, Signal
from PySide6.QtGui import (QColor, QDesktopServices, QFont, QImage, QPainter, QPalette, QPixmap, QTextBlockFormat,
                           QTextCharFormat, QTextCursor, QTextDocument)
from PySide6.QtWidgets import QLabel, QScrollArea, QTextBrowser, QWidget

from ..core.answer import AskDone, Citation
from ..core.pdf_pages import MIN_PIECE_CHARS, PdfPageError, render_page, text_pieces
from ..core.threads import Turn
from .theme import question_background

CITE_SCHEME = "cite"
CITED_COLOR = "#9fd3ff"  # the cited passage; the question's words keep the yellow of the preview
_CITATION = re.compile(r"\[(\d{1,3})\]")
_MARKDOWN_FEATURES = QTextDocument.MarkdownFeature.MarkdownDialectGitHub | QTextDocument.MarkdownFeature.MarkdownNoHTML
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")


def link_citations(answer: str, turn: int) -> str:
    """The answer's Markdown with each [n] made a link the conversation view understands."""
    return _CITATION.sub(lambda m: f"[\\[{m.group(1)}\\]]({CITE_SCHEME}:{turn}/{m.group(1)})", answer)


def parse_citation_link(url: QUrl) -> tuple[int, int] | None:
    """(turn index, source number) of a citation link; None for any other link."""
    if url.scheme() != CITE_SCHEME:
        return None
    match = re.fullmatch(r"(\d+)/(\d+)", url.path())
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(slots=True)
class ShownTurn:
    question: str
    answer: str = ""
    notes: list[str] = field(default_factory=list)
    sources: list[Citation] = field(default_factory=list)
    cited: set[int] = field(default_factory=set)
    interrupted: bool = False


class ConversationView(QTextBrowser):
    """The thread's turns one after another; the last one streams in. [n] links say which source they mean."""

    citation_clicked = Signal(int, int)  # turn index, source number

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.turns: list[ShownTurn] = []
        self._answer_start: int | None = None
        self.anchorClicked.connect(self._on_anchor)

    def set_turns(self, turns: list[Turn]) -> None:
        """A stored thread, as it was."""
        self.turns = [ShownTurn(t.question, t.answer, list(t.notes), list(t.sources),
                                {int(n) for n in _CITATION.findall(t.answer)}, t.status != "done") for t in turns]
        self.render()

    def begin_turn(self, question: str) -> None:
        self.turns.append(ShownTurn(question))
        self.render()

    def clear_turns(self) -> None:
        self.turns = []
        self.render()

    @property
    def current(self) -> ShownTurn | None:
        return self.turns[-1] if self.turns else None

    def set_answer(self, text: str) -> None:
        """The streaming answer so far: only the last turn's answer is redrawn, not the whole thread."""
        current = self.current
        if current is None:
            return
        current.answer = text
        if current.interrupted or self._answer_start is None:
            self.render()
            return
        scroll = self.verticalScrollBar()
        at_end = scroll.value() >= scroll.maximum() - 4
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._answer_start)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        cursor.setBlockFormat(QTextBlockFormat())
        cursor.setCharFormat(QTextCharFormat())
        cursor.insertMarkdown(link_citations(text, len(self.turns) - 1), _MARKDOWN_FEATURES)
        if at_end:
            scroll.setValue(scroll.maximum())

    def set_notes(self, notes: list[str]) -> None:
        if self.current is not None:
            self.current.notes = list(notes)
            self.render()

    def set_sources(self, sources: list[Citation]) -> None:
        if self.current is not None:
            self.current.sources = list(sources)

    def finish(self, done: AskDone) -> None:
        if self.current is not None:
            self.current.cited = {c.n for c in done.citations}
            if done.answer:
                self.current.answer = done.answer
            self.render()

    def drop_current(self) -> None:
        """Regenerating replaces the last turn."""
        if self.turns:
            self.turns.pop()
            self.render()

    def render(self) -> None:
        scroll = self.verticalScrollBar()
        at_end = scroll.value() >= scroll.maximum() - 4
        self.document().clear()
        self._answer_start = None
        cursor = QTextCursor(self.document())
        question = QTextBlockFormat()
        question.setBackground(question_background(self.palette()))
        question.setTopMargin(6)
        question.setBottomMargin(4)
        bold, note = QTextCharFormat(), QTextCharFormat()
        bold.setFontWeight(QFont.Weight.Bold)
        bold.setForeground(self.palette().color(QPalette.ColorRole.Text))
        note.setFontItalic(True)
        note.setForeground(QColor("#777777"))
        for index, turn in enumerate(self.turns):
            # Each piece starts a block of its own with fresh formats, so one turn's Markdown never
            # styles the next. Questions and notes go in as plain text: never markup.
            if index:
                cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
                cursor.insertBlock(question, bold)
            else:
                cursor.setBlockFormat(question)
            cursor.insertText(turn.question, bold)
            for text in turn.notes:
                cursor.insertBlock(QTextBlockFormat(), note)
                cursor.insertText(text, note)
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
            self._answer_start = cursor.position()  # where the last turn's answer begins (it streams)
            if turn.answer:
                cursor.insertMarkdown(link_citations(turn.answer, index), _MARKDOWN_FEATURES)
            if turn.interrupted:
                cursor.insertBlock(QTextBlockFormat(), note)
                cursor.insertText(QCoreApplication.translate("ConversationView", "(the answer was interrupted)"), note)
        if at_end:
            scroll.setValue(scroll.maximum())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        # The question bar's colours are baked into the document: a switch to dark (or back) redraws it.
        if event.type() == QEvent.Type.PaletteChange:
            self.render()

    def _on_anchor(self, url: QUrl) -> None:
        target = parse_citation_link(url)
        if target is not None and 0 <= target[0] < len(self.turns):
            self.citation_clicked.emit(*target)


def answer_with_sources(turn: ShownTurn) -> str:
    """What "Copy" puts on the clipboard: the answer, then its numbered sources with their paths."""
    lines = [turn.answer.strip(), ""]
    for c in turn.sources:
        place = QCoreApplication.translate("ConversationView", " (p.{page})").format(page=c.page) if c.page else ""
        lines.append(f"[{c.n}] {Path(c.path).name}{place} — {c.path}")
    return "\n".join(lines).strip() + "\n"


def usage_label(citation: Citation, cited: set[int]) -> str:
    """How the source list says whether the answer used a source."""
    if citation.n in cited:
        return QCoreApplication.translate("ConversationView", "cited")
    return QCoreApplication.translate("ConversationView", "given, not cited")


# --- the cited place in the preview --------------------------------------------------------------------

_MARKDOWN_LEAD = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|>\s*|\d+[.)]\s+)")
_SENTENCE_END = re.compile(r"(?<=[。！？!?])")


def _find(document: QTextDocument, piece: str) -> QTextCursor | None:
    cursor = document.find(piece)
    return None if cursor.isNull() else cursor


def mark_cited_text(document: QTextDocument, text: str) -> QTextCursor | None:
    """Mark the cited text where it stands in the preview; the first place found, to scroll to.

    Line by line; a line the preview does not hold as written (a rendered Markdown heading or list
    item has lost its markers) is tried without them, then sentence by sentence."""
    mark = QTextCharFormat()
    mark.setBackground(QColor(CITED_COLOR))
    mark.setForeground(QColor("#000000"))
    first: QTextCursor | None = None
    for line in text_pieces(text) or [text.strip()]:
        plain = _MARKDOWN_LEAD.sub("", line)
        candidates = [line] if plain == line else [line, plain]
        found = [c for c in (_find(document, piece) for piece in candidates) if c is not None][:1]
        if not found:
            sentences = [p.strip() for p in _SENTENCE_END.split(plain) if len(p.strip()) >= MIN_PIECE_CHARS]
            found = [c for c in (_find(document, piece) for piece in sentences) if c is not None]
        for cursor in found:
            cursor.mergeCharFormat(mark)
            if first is None or cursor.selectionStart() < first.selectionStart():
                first = QTextCursor(cursor)
    return first


def marked_text(document: QTextDocument) -> str:
    """The text carrying the cited mark, in order (what a test, or a screen reader, can check)."""
    out = []
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.charFormat().background().color() == QColor(CITED_COLOR):
                out.append(fragment.text())
            it += 1
        block = block.next()
    return "".join(out)


class PagePreview(QScrollArea):
    """A rendered PDF page with the cited lines marked, or an image source at a readable size."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.setMinimumHeight(160)
        self.marks: list[tuple[int, int, int, int]] = []
        self.shown: tuple[str, int | None] | None = None
        self.hide()

    def show_pdf_page(self, path: str, page: int, text: str) -> bool:
        """Render the page with `text` marked; False (and hidden) when it cannot be rendered."""
        try:
            rendered = render_page(path, page, find=text)
        except PdfPageError as exc:
            self.label.setText(str(exc))
            self.marks = []
            self.show()
            return False
        image = QImage(rendered.rgb, rendered.width, rendered.height, rendered.stride, QImage.Format.Format_RGB888)
        pixmap = QPixmap.fromImage(image.copy())  # copy: the bytes belong to `rendered`
        painter = QPainter(pixmap)
        color = QColor(CITED_COLOR)
        color.setAlpha(110)
        for left, top, right, bottom in rendered.marks:
            painter.fillRect(QRect(left, top, right - left, bottom - top), color)
        painter.end()
        self.marks = list(rendered.marks)
        self.shown = (path, page)
        self._show_pixmap(pixmap)
        if self.marks:
            self.ensureVisible(0, self.marks[0][1], 0, self.viewport().height() // 3)
        return True

    def show_image(self, path: str) -> bool:
        pixmap = QPixmap(path)
        if pixmap.isNull():
            self.hide()
            return False
        self.marks = []
        self.shown = (path, None)
        self._show_pixmap(pixmap)
        return True

    def _show_pixmap(self, pixmap: QPixmap) -> None:
        width = max(self.viewport().width() - 8, 240)
        if pixmap.width() > width:
            scale = width / pixmap.width()
            pixmap = pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
            self.marks = [tuple(int(v * scale) for v in m) for m in self.marks]
        self.label.setPixmap(pixmap)
        self.show()

    def clear_page(self) -> None:
        self.label.clear()
        self.marks = []
        self.shown = None
        self.hide()


def show_cited_place(preview: QTextBrowser, page_view: PagePreview, citation: Citation) -> QTextCursor | None:
    """After the preview shows a source: mark the cited text and scroll to it; the PDF page or the image."""
    cursor = mark_cited_text(preview.document(), citation.text)
    if cursor is not None:
        preview.setTextCursor(cursor)
        preview.ensureCursorVisible()
        # Leave the passage selected-looking through the mark, not the selection colour.
        cursor.clearSelection()
        preview.setTextCursor(cursor)
    suffix = Path(citation.path).suffix.lower()
    if suffix == ".pdf" and citation.page:
        page_view.show_pdf_page(citation.path, citation.page, citation.text)
    elif suffix in IMAGE_SUFFIXES:
        page_view.show_image(citation.path)
    else:
        page_view.clear_page()
    return cursor


# --- opening at the page ------------------------------------------------------------------------------

# Viewers that can be told a page on the command line (Linux): the first one installed is used.
PAGE_VIEWERS = (("evince", ["--page-label={page}"]), ("okular", ["-p", "{page}"]), ("zathura", ["-P", "{page}"]),
                ("qpdfview", ["--unique"]))


def open_at_page(path: str, page: int | None = None) -> bool:
    """Open `path` in the system's viewer, at `page` for PDFs where the viewer can be told one.

    On Linux a viewer that takes a page on its command line is used when one is installed, else
    xdg-open (through Qt). macOS's `open` and Windows' file associations take no page: Preview and
    the others open the file where they last left it."""
    if page and path.lower().endswith(".pdf") and sys.platform.startswith("linux"):
        for name, args in PAGE_VIEWERS:
            program = shutil.which(name)
            if program:
                target = f"{path}#{page}" if name == "qpdfview" else path
                try:
                    subprocess.Popen([program, *(a.format(page=page) for a in args), target],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                    return True
                except OSError:
                    break
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path))))
