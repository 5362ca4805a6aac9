"""The quick-ask window: one line to ask, the answer streaming below and its sources under it (click one to
open it). It opens centred near the top of the screen the pointer is on, like Spotlight."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QCursor, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QTextBrowser, QVBoxLayout, QWidget

from ..core.answer import AskDone, Citation, source_label
from .asking import AskController
from .citations import link_citations, parse_citation_link
from .state_messages import StateMessages

PATH_ROLE = Qt.ItemDataRole.UserRole


class QuickAskWindow(QWidget):
    open_requested = Signal(str)  # a source's path
    link_requested = Signal(str)  # "add" or "models", from a state message
    citation_clicked = Signal(object, int)  # the answer's sources, the number of the [n] clicked

    def __init__(self, controller: AskController, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
        self.controller = controller
        self.messages = StateMessages(self)
        self.library_files = -1  # set by the window; 0 means an empty library
        self.setWindowTitle(self.tr("Ippon quick ask"))
        self.resize(620, 400)
        self.question = QLineEdit()
        self.question.setPlaceholderText(self.tr("Ask your library… (Enter; Esc to close)"))
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.RichText)
        self.notice.linkActivated.connect(self.link_requested)
        self.notice.hide()
        self.answer = QTextBrowser()
        self.answer.setOpenLinks(False)
        self.answer.anchorClicked.connect(self._on_link)
        self._cited_sources: list[Citation] = []
        self.sources = QListWidget()
        self.sources.setMaximumHeight(110)
        self.sources.setToolTip(self.tr("Click a source to open it"))
        self.sources.itemClicked.connect(lambda item: self.open_requested.emit(item.data(PATH_ROLE)))
        self.sources.itemActivated.connect(lambda item: self.open_requested.emit(item.data(PATH_ROLE)))
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addWidget(self.notice)
        layout.addWidget(self.answer, 1)
        layout.addWidget(self.sources)
        self._text = ""
        self.question.returnPressed.connect(self.submit)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=self.hide)
        controller.answer.connect(self._on_answer)
        controller.sources.connect(self._on_sources)
        controller.finished.connect(self._on_finished)
        controller.failed.connect(lambda message: self._notice(self.messages.failed(message)))
        controller.stopped.connect(lambda: self._notice(self.messages.stopped()))

    def show_and_focus(self) -> None:
        if not self.controller.busy:
            self.controller.thread_id = None  # each time quick ask opens, a new conversation
        self.move(self.spotlight_position())
        self.show()
        self.raise_()
        self.activateWindow()
        self.question.setFocus()
        self.question.selectAll()

    def spotlight_position(self) -> QPoint:
        """Centred across the screen the pointer is on, a fifth of the way down."""
        screen = QGuiApplication.screenAt(QCursor.pos()) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry()
        return QPoint(area.x() + (area.width() - self.width()) // 2, area.y() + area.height() // 5)

    def submit(self) -> None:
        if not self.question.text().strip() or self.controller.busy:
            return
        self._text = ""
        self.answer.clear()
        self.sources.clear()
        self._notice("")
        if self.library_files == 0:
            self._notice(self.messages.empty_library())
            return
        self.controller.ask(self.question.text())

    def _notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def _on_answer(self, text: str) -> None:
        self._text += text
        self.answer.setMarkdown(link_citations(self._text, 0))

    def _on_link(self, url) -> None:  # noqa: ANN001 - QUrl
        target = parse_citation_link(url)
        if target is None:
            return
        n = target[1]
        row = next((i for i, c in enumerate(self._cited_sources) if c.n == n), -1)
        if row >= 0:
            self.sources.setCurrentRow(row)
            self.citation_clicked.emit(self._cited_sources, n)

    def _on_sources(self, sources: list[Citation]) -> None:
        self._cited_sources = list(sources)
        self.sources.clear()
        for c in sources:
            item = QListWidgetItem(f"[{c.n}] {source_label(c.path, c.page, c.slide)}")
            item.setData(PATH_ROLE, c.path)
            item.setToolTip(c.path)
            self.sources.addItem(item)

    def _on_finished(self, done: AskDone) -> None:
        if not done.sources:
            self._notice(self.messages.nothing_found())
        elif not done.answer:
            self._notice(self.messages.no_model())
