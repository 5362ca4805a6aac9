"""The library's files: status, chunk count and error for each; remove; follow folders (watch)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from ..core.store import SourceRecord


class SourcesPanel(QWidget):
    remove_requested = Signal(list)  # paths
    add_requested = Signal()
    watch_toggled = Signal(bool)

    COLUMNS = ("Status", "Chunks", "File", "Error")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in self.COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        self.add_button = QPushButton(self.tr("Add…"))
        self.remove_button = QPushButton(self.tr("Remove"))
        self.watch_button = QPushButton(self.tr("Watch folders"))
        self.watch_button.setCheckable(True)
        self.watch_button.setToolTip(self.tr("Follow edits, renames and deletions in the library's folders"))
        self.remove_button.setEnabled(False)
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button.clicked.connect(self._remove_selected)
        self.watch_button.toggled.connect(self.watch_toggled)
        self.table.itemSelectionChanged.connect(
            lambda: self.remove_button.setEnabled(bool(self.table.selectionModel().selectedRows())))
        self.empty = QLabel(self.tr("Drop folders or files here to add them to the library."))
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.watch_button):
            buttons.addWidget(button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.empty)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.set_sources([])

    def set_sources(self, records: list[SourceRecord]) -> None:
        self.table.setRowCount(len(records))
        for row, record in enumerate(records):
            status = self.tr("indexed") if record.status == "indexed" else self.tr("failed")
            cells = [status, str(record.chunks), Path(record.path).name, self._error_text(record)]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, record.path)
                item.setToolTip(record.error or record.warnings or record.path)
                if column == 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        failed = sum(1 for r in records if r.status == "failed")
        chunks = sum(r.chunks for r in records)
        self.title.setText(self.tr("{files} files, {chunks} chunks, {failed} failed")
                           .format(files=len(records), chunks=chunks, failed=failed))
        self.empty.setVisible(not records)
        self.table.setVisible(bool(records))

    @staticmethod
    def _error_text(record: SourceRecord) -> str:
        if not record.error:
            return record.warnings or ""
        # The stored message starts with the path; the row already shows the file.
        return record.error.removeprefix(record.path + ": ")

    def selected_paths(self) -> list[str]:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        return [self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in sorted(rows)]

    def _remove_selected(self) -> None:
        paths = self.selected_paths()
        if paths:
            self.remove_requested.emit(paths)
