"""The quick-ask window: one line to ask, the answer streaming below, its sources listed under it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QLineEdit, QTextBrowser, QVBoxLayout, QWidget

from ..core.answer import AskDone, Citation, source_label
from .asking import AskController


class QuickAskWindow(QWidget):
    def __init__(self, controller: AskController, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
        self.controller = controller
        self.setWindowTitle(self.tr("Ippon quick ask"))
        self.resize(560, 360)
        self.question = QLineEdit()
        self.question.setPlaceholderText(self.tr("Ask your library… (Enter; Esc to close)"))
        self.answer = QTextBrowser()
        self.sources = QLabel()
        self.sources.setWordWrap(True)
        self.sources.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addWidget(self.answer, 1)
        layout.addWidget(self.sources)
        self._text = ""
        self.question.returnPressed.connect(self.submit)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=self.hide)
        controller.answer.connect(self._on_answer)
        controller.sources.connect(self._on_sources)
        controller.finished.connect(self._on_finished)
        controller.failed.connect(lambda message: self.answer.setPlainText(message))

    def show_and_focus(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()
        self.question.setFocus()
        self.question.selectAll()

    def submit(self) -> None:
        if self.question.text().strip() and not self.controller.busy:
            self._text = ""
            self.answer.clear()
            self.sources.clear()
            self.controller.ask(self.question.text())

    def _on_answer(self, text: str) -> None:
        self._text += text
        self.answer.setMarkdown(self._text)

    def _on_sources(self, sources: list[Citation]) -> None:
        self.sources.setText("  ".join(f"[{c.n}] {source_label(c.path, c.page, c.slide)}" for c in sources))

    def _on_finished(self, done: AskDone) -> None:
        if not done.answer and done.sources:
            self.answer.setMarkdown(self.tr("No answering model is set up yet; these are the search results."))
