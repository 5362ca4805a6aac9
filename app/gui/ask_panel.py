"""Ask the library: the question, the answer streaming in as Markdown, thinking folded away, and the
numbered citations with a preview of each source."""

from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QPixmap, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton,
                               QSpinBox, QSplitter, QTextBrowser, QToolButton, QVBoxLayout, QWidget)

from ..core.answer import AskDone, Citation, source_label
from ..core.snippets import matched_words
from .asking import AskController
from .citations import ConversationView, PagePreview, show_cited_place
from .thread_session import AnswerActions
from .state_messages import StateMessages

_TERMS = re.compile(r"[A-Za-z0-9]{2,}|[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]{2,}")
_PARTICLES = re.compile(r"[のはがをにでとへやかもねよ？?、。「」]")


def question_terms(question: str) -> list[str]:
    """Words worth highlighting: Latin words and runs of Japanese between particles, 2 characters or more."""
    text = unicodedata.normalize("NFKC", question)
    terms = {piece for run in _TERMS.findall(text) for piece in _PARTICLES.split(run) if len(piece) >= 2}
    return sorted(terms, key=len, reverse=True)


def highlight(text: str, terms: list[str]) -> str:
    """HTML of `text` with every occurrence of the terms marked (matching on the NFKC form)."""
    normalized = unicodedata.normalize("NFKC", text)
    if len(normalized) != len(text) or not terms:
        return html.escape(text).replace("\n", "<br>")
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(normalized):
        out.append(html.escape(text[last:match.start()]))
        out.append(f"<span style='background:#ffe58a;color:#000'>{html.escape(text[match.start():match.end()])}</span>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out).replace("\n", "<br>")


MARKDOWN_SUFFIXES = (".md", ".markdown")
MARK_COLOR = "#ffe58a"
THUMBNAIL_PX = 180


class AskPanel(QWidget):
    open_requested = Signal(str)
    models_requested = Signal()  # the user followed "choose a model" from a message
    add_requested = Signal()  # the user followed "add folders" from the empty-library message

    def __init__(self, controller: AskController, *, page_text=None, thumbnail=None,  # noqa: ANN001
                 parent: QWidget | None = None) -> None:
        """`page_text(citation)` and `thumbnail(path)` fetch preview material from the library."""
        super().__init__(parent)
        self.controller = controller
        self._page_text = page_text
        self._thumbnail = thumbnail
        self._answer = ""
        self._thinking = ""
        self._question = ""
        self._citations: list[Citation] = []
        self.messages = StateMessages(self)
        self.library_files = -1  # set by the window; 0 means an empty library (-1: not known yet)

        self.question = QLineEdit()
        self.question.setPlaceholderText(self.tr("Ask your library… (Enter)"))
        self.ask_button = QPushButton(self.tr("Ask"))
        self.mode = QComboBox()
        for key, label in (("off", self.tr("Thinking off")), ("on", self.tr("Thinking on")),
                           ("budget", self.tr("Thinking budget"))):
            self.mode.addItem(label, key)
        self.budget = QSpinBox()
        self.budget.setRange(16, 32768)
        self.budget.setValue(512)
        self.budget.setSuffix(self.tr(" tokens"))
        self.budget.setEnabled(False)
        self.mode.currentIndexChanged.connect(lambda: self.budget.setEnabled(self.mode.currentData() == "budget"))
        top = QHBoxLayout()
        top.addWidget(self.question, 1)
        top.addWidget(self.mode)
        top.addWidget(self.budget)
        top.addWidget(self.ask_button)

        self.thinking_toggle = QToolButton()
        self.thinking_toggle.setText(self.tr("Thinking"))
        self.thinking_toggle.setCheckable(True)
        self.thinking_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.thinking_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.thinking_toggle.hide()
        self.thinking_view = QTextBrowser()
        self.thinking_view.setMaximumHeight(120)
        self.thinking_view.hide()
        self.thinking_toggle.toggled.connect(self._toggle_thinking)
        self.answer_view = ConversationView()  # the thread's turns one after another; [n] are links
        self.actions = AnswerActions()  # copy with sources, regenerate, stop (ThreadSession drives them)
        self.status = QLabel()
        self.status.setWordWrap(True)
        # A message about the state (empty library, no model, nothing found…) with its way out as a link.
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.RichText)
        self.notice.linkActivated.connect(self._notice_link)
        self.notice.hide()

        self.citations = QListWidget()
        self.preview = QTextBrowser()
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumHeight(THUMBNAIL_PX // 2)
        self.image.hide()
        self.page_view = PagePreview()  # a PDF source's page with the cited lines marked; an image source
        self.open_button = QPushButton(self.tr("Open file"))
        self.open_button.setEnabled(False)
        self.citations.currentRowChanged.connect(self._show_citation)
        self.citations.itemActivated.connect(lambda _item: self._open_current())
        self.open_button.clicked.connect(self._open_current)

        answer_box = QWidget()
        answer_layout = QVBoxLayout(answer_box)
        answer_layout.setContentsMargins(0, 0, 0, 0)
        answer_layout.addWidget(self.notice)
        answer_layout.addWidget(self.thinking_toggle)
        answer_layout.addWidget(self.thinking_view)
        answer_layout.addWidget(self.answer_view, 1)
        answer_layout.addWidget(self.status)
        answer_layout.addWidget(self.actions)
        source_box = QWidget()
        source_layout = QVBoxLayout(source_box)
        source_layout.setContentsMargins(0, 0, 0, 0)
        source_layout.addWidget(QLabel(self.tr("Sources")))
        source_layout.addWidget(self.citations, 1)
        source_layout.addWidget(self.image)
        source_layout.addWidget(self.preview, 2)
        source_layout.addWidget(self.page_view, 3)
        source_layout.addWidget(self.open_button)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(answer_box)
        split.addWidget(source_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)

        self.question.returnPressed.connect(self.submit)
        self.ask_button.clicked.connect(self._ask_or_stop)
        controller.sources.connect(self._on_sources)
        controller.answer.connect(self._on_answer)
        controller.thinking.connect(self._on_thinking)
        controller.finished.connect(self._on_finished)
        controller.failed.connect(self._on_failed)
        controller.stopped.connect(self._on_stopped)
        controller.busy_changed.connect(self._on_busy)

    # --- asking -------------------------------------------------------------------------------

    def submit(self) -> None:
        text = self.question.text().strip()
        if not text or self.controller.busy:
            return
        self._question, self._answer, self._thinking = text, "", ""
        self.answer_view.begin_turn(text)
        self.thinking_view.clear()
        self.thinking_toggle.hide()
        self.thinking_view.hide()
        self.citations.clear()
        self._citations = []
        self.preview.clear()
        self.image.hide()
        self.page_view.clear_page()
        self.show_notice("")
        if self.library_files == 0:
            self.status.setText("")
            self.show_notice(self.messages.empty_library())
            return
        self.status.setText(self.tr("Searching…"))
        self.controller.ask(text, thinking=self.mode.currentData(), budget=self.budget.value())

    def _ask_or_stop(self) -> None:
        if self.controller.busy:
            self.controller.cancel()
        else:
            self.submit()

    def _on_busy(self, busy: bool) -> None:
        self.ask_button.setText(self.tr("Stop") if busy else self.tr("Ask"))

    def _on_sources(self, sources: list[Citation]) -> None:
        self._set_citations(sources)
        self.answer_view.set_sources(sources)
        if self.controller.busy:
            self.status.setText(self.tr("Answering…") if sources else "")
        if sources and self.citations.currentRow() < 0 and not self.controller.busy:
            self.citations.setCurrentRow(0)  # results found after a failure: show the first

    def _on_answer(self, text: str) -> None:
        self._answer += text
        self.answer_view.set_answer(self._answer)
        self.answer_view.moveCursor(self.answer_view.textCursor().MoveOperation.End)

    def _on_thinking(self, text: str) -> None:
        self._thinking += text
        self.thinking_toggle.show()
        self.thinking_view.setPlainText(self._thinking)

    def _toggle_thinking(self, shown: bool) -> None:
        self.thinking_view.setVisible(shown)
        self.thinking_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _on_finished(self, done: AskDone) -> None:
        if not done.sources:
            self.show_notice(self.messages.nothing_found())
        elif not done.answer:  # no LLM configured: search results only
            self.show_notice(self.messages.no_model())
        if done.answer and not self._answer:
            self.answer_view.set_answer(done.answer)
        cited = {c.n for c in done.citations}
        for row in range(self.citations.count()):
            item = self.citations.item(row)
            font = item.font()
            font.setBold(self._citations[row].n in cited)
            item.setFont(font)
        timings = done.timings
        parts = []
        if "time_to_first_token_s" in timings:
            parts.append(self.tr("first token {s:.1f} s").format(s=timings["time_to_first_token_s"]))
        if timings.get("tokens_per_s"):
            parts.append(self.tr("{t:.1f} tokens/s").format(t=timings["tokens_per_s"]))
        if timings.get("reranked"):  # the time budget's decision (app/core/budget.py)
            parts.append(self.tr("{n} of {total} candidates reranked").format(n=timings["reranked"],
                                                                            total=timings["candidates"]))
        self.status.setText(" · ".join(parts))
        self.status.setToolTip("\n".join(timings.get("budget", {}).get("reasons", [])))
        if self._citations and self.citations.currentRow() < 0:
            self.citations.setCurrentRow(0)

    def _on_failed(self, message: str) -> None:
        self.status.setText("")
        self.show_notice(self.messages.failed(message))

    def _on_stopped(self) -> None:
        self.status.setText(self.messages.stopped())

    def show_notice(self, text: str) -> None:
        """A state message above the answer (rich text: the links lead out of the state); empty hides it."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def _notice_link(self, link: str) -> None:
        (self.models_requested if link == "models" else self.add_requested).emit()

    # --- citations ------------------------------------------------------------------------------

    def _set_citations(self, citations: list[Citation]) -> None:
        self._citations = list(citations)
        self.citations.clear()
        for c in citations:
            item = QListWidgetItem(f"[{c.n}] {source_label(c.path, c.page, c.slide)}")
            # The path; and for an image or page a VL reranker judged by its text, why (the core's message).
            item.setToolTip("\n".join(filter(None, (c.path, c.pixel_skipped))))
            self.citations.addItem(item)

    def _show_citation(self, row: int) -> None:
        self.open_button.setEnabled(row >= 0)
        if row < 0 or row >= len(self._citations):
            return
        c = self._citations[row]
        text = self._page_text(c) if self._page_text and c.page else c.text
        # The words the keyword search matched, variants included (サーバー marks サーバ), as `ippon search` shows.
        terms = matched_words(self._question, text)
        head = html.escape(source_label(c.path, c.page, c.slide)) + (f" — {html.escape(c.heading)}" if c.heading else "")
        if Path(c.path).suffix.lower() in MARKDOWN_SUFFIXES:
            label = source_label(c.path, c.page, c.slide) + (f" — {c.heading}" if c.heading else "")
            # Rendered, never as HTML: the document is untrusted text, its markup must not become control.
            self.preview.document().setMarkdown(f"**{markdown_escaped(label)}**\n\n{text}",
                                                QTextDocument.MarkdownFeature.MarkdownDialectGitHub
                                                | QTextDocument.MarkdownFeature.MarkdownNoHTML)
            mark_terms(self.preview.document(), terms)
        else:
            self.preview.setHtml(f"<p><b>{head}</b></p><p>{highlight(text, terms)}</p>")
        self.preview.moveCursor(QTextCursor.MoveOperation.Start)
        show_cited_place(self.preview, self.page_view, c)
        if terms and text is c.text:  # the passage alone: bring its first matched word into view
            first = self.preview.document().find(_first_of(text, terms))
            if not first.isNull():
                self.preview.setTextCursor(first)
                self.preview.ensureCursorVisible()
                first.clearSelection()
                self.preview.setTextCursor(first)
        # The stored thumbnail, where the page view shows nothing (an image moved or deleted since it was added,
        # or a format Qt cannot open itself, such as HEIC).
        pixmap = QPixmap()
        data = self._thumbnail(c.path) if self._thumbnail and self.page_view.isHidden() else None
        if data and pixmap.loadFromData(data):
            if max(pixmap.width(), pixmap.height()) > THUMBNAIL_PX:
                pixmap = pixmap.scaled(THUMBNAIL_PX, THUMBNAIL_PX, Qt.AspectRatioMode.KeepAspectRatio,
                                       Qt.TransformationMode.SmoothTransformation)
            self.image.setPixmap(pixmap)
            self.image.setFixedHeight(pixmap.height() + 8)
        self.image.setVisible(not pixmap.isNull())

    def show_sources(self, sources: list[Citation], *, select: int | None = None) -> None:
        """Show these sources (a turn's, when one of its citations is clicked) and select source `select`."""
        if sources != self._citations:
            self._set_citations(sources)
            self.preview.clear()
            self.page_view.clear_page()
        row = next((i for i, c in enumerate(self._citations) if c.n == select), -1)
        if row >= 0 and row == self.citations.currentRow():
            self._show_citation(row)  # already selected: the click still asks to see the place
        elif row >= 0:
            self.citations.setCurrentRow(row)

    def label_sources(self, usage) -> None:  # noqa: ANN001 - Citation -> str
        """Add to each listed source what `usage` says of it (cited, or given and not used)."""
        for row, c in enumerate(self._citations):
            self.citations.item(row).setText(f"[{c.n}] {source_label(c.path, c.page, c.slide)} · {usage(c)}")

    def _open_current(self) -> None:
        row = self.citations.currentRow()
        if 0 <= row < len(self._citations):
            self.open_requested.emit(self._citations[row].path)


def _first_of(text: str, words: list[str]) -> str:
    """Of `words`, the one that appears first in `text`."""
    return min(words, key=lambda w: (text.find(w) if w in text else len(text), -len(w)))


def markdown_escaped(text: str) -> str:
    """`text` as literal Markdown (a file name with * or _ stays as it is)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!<>|~])", r"\\\1", text)


def mark_terms(document: QTextDocument, terms: list[str]) -> None:
    """Give every occurrence of the terms in a rendered document the highlight background."""
    mark = QTextCharFormat()
    mark.setBackground(QColor(MARK_COLOR))
    mark.setForeground(QColor("#000000"))
    for term in terms:
        cursor = document.find(term)
        while not cursor.isNull():
            cursor.mergeCharFormat(mark)
            cursor = document.find(term, cursor)


def open_in_system_viewer(path: str) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path))))
