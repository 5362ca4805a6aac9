"""The library's files as a tree of its folders: status, chunk count and the reason a file failed or
was skipped; a filter box; removal (confirmed); follow folders (watch)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox,
                               QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ..core.discovery import is_under
from ..core.store import SourceRecord, normalize_path
from ..core.unindexed import UnindexedFile
from ..locale.stored import shown_reason, shown_warnings

PATH_ROLE = Qt.ItemDataRole.UserRole
KIND_ROLE = Qt.ItemDataRole.UserRole + 1  # "folder", "indexed", "failed", "skipped"


class SourcesPanel(QWidget):
    remove_requested = Signal(list)  # paths (files or folders), confirmed by the user
    add_requested = Signal()
    watch_toggled = Signal(bool)

    NAME, STATUS, CHUNKS, REASON = range(4)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(self.tr("Filter by name…"))
        self.filter.setClearButtonEnabled(True)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels([self.tr("File"), self.tr("Status"), self.tr("Chunks"), self.tr("Reason")])
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)  # long Japanese names stay on one line
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(self.NAME, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(self.NAME, 220)
        for column in (self.STATUS, self.CHUNKS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.add_button = QPushButton(self.tr("Add…"))
        self.remove_button = QPushButton(self.tr("Remove"))
        self.watch_button = QPushButton(self.tr("Watch folders"))
        self.watch_button.setCheckable(True)
        self.watch_button.setToolTip(self.tr("Follow edits, renames and deletions in the library's folders"))
        self.remove_button.setEnabled(False)
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button.clicked.connect(self._remove_selected)
        self.watch_button.toggled.connect(self.watch_toggled)
        self.tree.itemSelectionChanged.connect(lambda: self.remove_button.setEnabled(bool(self.selected_paths())))
        self.filter.textChanged.connect(self.apply_filter)
        self.empty = QLabel(self.tr("Your library is empty. Drop folders or files here, or click Add…, "
                                    "to search and ask them."))
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.watch_button):
            buttons.addWidget(button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.filter)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.set_sources([])

    # --- filling --------------------------------------------------------------------------------

    def set_sources(self, records: list[SourceRecord], *, roots: list[str] | None = None,
                    unindexed: list[UnindexedFile] | None = None) -> None:
        """Show the records grouped under the library's folders (`roots`), with files not indexed."""
        unindexed = unindexed or []
        expanded = self._expanded_paths()
        self.tree.clear()
        folders: dict[str, QTreeWidgetItem] = {}
        root_keys = sorted({normalize_path(r) for r in roots or []}, key=len, reverse=True)
        for path, kind, chunks, reason in self._rows(records, unindexed):
            root = next((r for r in root_keys if is_under(path, r) and r != path), None)
            parent = self._folder_item(folders, root, os.path.dirname(path)) if root else None
            item = QTreeWidgetItem([Path(path).name, self._status_text(kind), chunks, reason])
            item.setData(self.NAME, PATH_ROLE, path)
            item.setData(self.NAME, KIND_ROLE, kind)
            item.setToolTip(self.NAME, path)
            item.setToolTip(self.REASON, reason)
            item.setTextAlignment(self.CHUNKS, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if kind == "skipped":
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)  # not in the library: nothing to remove
                item.setForeground(self.NAME, self.palette().placeholderText())
            (parent.addChild(item) if parent is not None else self.tree.addTopLevelItem(item))
        for path, folder in folders.items():
            folder.setExpanded(path in expanded or not expanded)
        failed = sum(1 for r in records if r.status == "failed")
        chunks = sum(r.chunks for r in records)
        self.title.setText(self.tr("{files} files, {chunks} chunks, {failed} failed, {skipped} skipped")
                           .format(files=len(records), chunks=chunks, failed=failed,
                                   skipped=len(unindexed) + sum(1 for r in records if r.status == "skipped")))
        self.empty.setVisible(not records and not unindexed)
        self.tree.setVisible(bool(records or unindexed))
        self.apply_filter(self.filter.text())

    @staticmethod
    def _rows(records: list[SourceRecord], unindexed: list[UnindexedFile]):  # noqa: ANN205 - tuples for the tree
        rows = [(r.path, r.status if r.status in ("indexed", "skipped") else "failed",
                 str(r.chunks) if r.status == "indexed" else "", _reason(r)) for r in records]
        rows += [(u.path, "skipped", "", u.reason) for u in unindexed]
        return sorted(rows)

    def _status_text(self, kind: str) -> str:
        return {"indexed": self.tr("indexed"), "failed": self.tr("failed"), "skipped": self.tr("skipped")}[kind]

    def _folder_item(self, folders: dict[str, QTreeWidgetItem], root: str, folder: str) -> QTreeWidgetItem:
        """The tree item of `folder` (a root or a folder under one), made with its parents on first use."""
        if folder in folders:
            return folders[folder]
        if folder == root or not is_under(folder, root):
            item = QTreeWidgetItem([folder if folder == root else Path(folder).name])
            item.setText(self.NAME, Path(folder).name or folder)
            self.tree.addTopLevelItem(item)
        else:
            item = QTreeWidgetItem([Path(folder).name])
            self._folder_item(folders, root, os.path.dirname(folder)).addChild(item)
        item.setData(self.NAME, PATH_ROLE, folder)
        item.setData(self.NAME, KIND_ROLE, "folder")
        item.setToolTip(self.NAME, folder)
        folders[folder] = item
        return item

    def _expanded_paths(self) -> set[str]:
        return {item.data(self.NAME, PATH_ROLE) for item in self._items() if item.isExpanded()}

    def _items(self) -> list[QTreeWidgetItem]:
        out, stack = [], [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        while stack:
            item = stack.pop()
            out.append(item)
            stack.extend(item.child(i) for i in range(item.childCount()))
        return out

    def file_rows(self) -> dict[str, tuple[str, str, str]]:
        """File name -> (status, chunks, reason) as shown (for tests and screenshots)."""
        return {item.text(self.NAME): (item.text(self.STATUS), item.text(self.CHUNKS), item.text(self.REASON))
                for item in self._items() if item.data(self.NAME, KIND_ROLE) != "folder"}

    # --- filter ---------------------------------------------------------------------------------

    def apply_filter(self, text: str) -> None:
        """Show the files whose name contains `text` (and the folders holding them)."""
        needle = text.strip().casefold()

        def visit(item: QTreeWidgetItem) -> bool:
            children = [visit(item.child(i)) for i in range(item.childCount())]
            if item.data(self.NAME, KIND_ROLE) == "folder":
                shown = any(children)
            else:
                shown = not needle or needle in item.text(self.NAME).casefold()
            item.setHidden(not shown)
            return shown

        for i in range(self.tree.topLevelItemCount()):
            visit(self.tree.topLevelItem(i))
        if needle:
            self.tree.expandAll()

    # --- removing -------------------------------------------------------------------------------

    def selected_paths(self) -> list[str]:
        return sorted({item.data(self.NAME, PATH_ROLE) for item in self.tree.selectedItems()
                       if item.data(self.NAME, KIND_ROLE) != "skipped"})

    def _remove_selected(self) -> None:
        paths = self.selected_paths()
        if paths and self.confirm_removal(paths, self):
            self.remove_requested.emit(paths)

    @classmethod
    def confirm_removal(cls, paths: list[str], parent: QWidget) -> bool:
        """Ask before removing; tests replace this method."""
        names = "\n".join(Path(p).name for p in paths[:10]) + ("\n…" if len(paths) > 10 else "")
        # A classmethod has no self.tr, and parent.tr() would look under another context than lupdate's:
        # the context is named, so both agree on it.
        text = QCoreApplication.translate(
            "SourcesPanel", "Remove these from the library? The files on the disk are kept, and a removed file "
            "stays out of its folder's updates until you add it again.\n\n{names}").format(names=names)
        title = QCoreApplication.translate("SourcesPanel", "Remove from the library")
        answer = QMessageBox.question(parent, title, text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes


def _reason(record: SourceRecord) -> str:
    # Stored in the language of the run that read the file: shown in today's (without the path the row shows).
    if not record.error:
        return shown_warnings(record.warnings)
    return shown_reason(record.path, record.error)
