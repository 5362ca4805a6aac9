"""The conversations beside the library: newest first, searched as you type, renamed and deleted from a
context menu, a new one with Ctrl+N / ⌘N."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QMenu, QMessageBox, QPushButton, QVBoxLayout, QWidget)

from ..core.threads import Thread

ID_ROLE = Qt.ItemDataRole.UserRole


class ThreadsPanel(QWidget):
    thread_selected = Signal(str)  # a thread's id
    new_requested = Signal()
    rename_requested = Signal(str, str)  # id, new title
    delete_requested = Signal(str)
    export_requested = Signal(str)
    search_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self.tr("Conversations"))
        self.new_button = QPushButton(self.tr("New"))
        self.new_button.setToolTip(self.tr("Start a new conversation (Ctrl+N)"))
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search conversations…"))
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.empty = QLabel(self.tr("Your questions and their answers are kept here."))
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.search)
        layout.addWidget(self.empty)
        layout.addWidget(self.list, 1)
        self.new_button.clicked.connect(self.new_requested)
        self.search.textChanged.connect(self.search_changed)
        self.list.itemClicked.connect(lambda item: self.thread_selected.emit(item.data(ID_ROLE)))
        self.list.itemActivated.connect(lambda item: self.thread_selected.emit(item.data(ID_ROLE)))
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.set_threads([], current=None)

    def set_threads(self, threads: list[Thread], *, current: str | None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for thread in threads:
            when = datetime.fromtimestamp(thread.updated).strftime("%m/%d %H:%M")
            item = QListWidgetItem(thread.title)
            item.setData(ID_ROLE, thread.id)
            item.setToolTip(self.tr("{title}\n{turns} questions · {when}").format(
                title=thread.title, turns=thread.turn_count, when=when))
            self.list.addItem(item)
            if thread.id == current:
                item.setSelected(True)
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        searching = bool(self.search.text().strip())
        self.empty.setVisible(not threads and not searching)
        self.list.setVisible(bool(threads) or searching)

    def current_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(ID_ROLE) if item else None

    def ids(self) -> list[str]:
        return [self.list.item(row).data(ID_ROLE) for row in range(self.list.count())]

    def _context_menu(self, point: QPoint) -> None:
        item = self.list.itemAt(point)
        if item is None:
            return
        menu = QMenu(self)
        rename = menu.addAction(self.tr("Rename…"))
        export = menu.addAction(self.tr("Export as Markdown…"))
        delete = menu.addAction(self.tr("Delete"))
        chosen = menu.exec(self.list.viewport().mapToGlobal(point))
        if chosen is rename:
            self.rename(item.data(ID_ROLE))
        elif chosen is export:
            self.export_requested.emit(item.data(ID_ROLE))
        elif chosen is delete:
            self.delete(item.data(ID_ROLE))

    def rename(self, thread_id: str) -> None:
        current = next((self.list.item(r).text() for r in range(self.list.count())
                        if self.list.item(r).data(ID_ROLE) == thread_id), "")
        title = self.ask_title(current)
        if title and title.strip() and title.strip() != current:
            self.rename_requested.emit(thread_id, title.strip())

    def delete(self, thread_id: str) -> None:
        if self.confirm_delete():
            self.delete_requested.emit(thread_id)

    # Dialogs as methods, so tests can replace them (pytest-qt's advice).
    def ask_title(self, current: str) -> str | None:
        title, ok = QInputDialog.getText(self, self.tr("Rename conversation"), self.tr("Title:"), text=current)
        return title if ok else None

    def ask_export_path(self, title: str) -> Path | None:
        name = "".join(ch for ch in title if ch.isalnum() or ch in " -_")[:60].strip() or "conversation"
        path, _filter = QFileDialog.getSaveFileName(self, self.tr("Export conversation"), f"{name}.md",
                                                    self.tr("Markdown (*.md)"))
        return Path(path) if path else None

    def show_error(self, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Conversations"), message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def confirm_delete(self) -> bool:
        answer = QMessageBox.question(self, self.tr("Delete conversation"),
                                      self.tr("Delete this conversation? Its questions and answers are removed; "
                                              "the library is not touched."))
        return answer == QMessageBox.StandardButton.Yes
