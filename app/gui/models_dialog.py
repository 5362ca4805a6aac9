"""Models: what this machine should run (and why), downloads with progress, what is installed and in use."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..core.service import IpponService
from .tasks import Op, TaskRunner


class ModelsDialog(QDialog):
    changed = Signal()  # the configuration now points at other models

    def __init__(self, service: IpponService, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.runner = runner
        self.setWindowTitle(self.tr("Models"))
        self.resize(860, 520)
        self._pull: Op | None = None
        self._picks: list = []

        self.machine = QLabel()
        self.recommended = self._table([self.tr("Role"), self.tr("Model"), self.tr("Format"), self.tr("Why")])
        self.download_button = QPushButton(self.tr("Download and use the recommended models"))
        self.installed = self._table([self.tr("Name"), self.tr("Kind"), self.tr("Format"), self.tr("Size"),
                                      self.tr("In use")])
        self.use_button = QPushButton(self.tr("Use"))
        self.remove_button = QPushButton(self.tr("Remove"))
        self.import_button = QPushButton(self.tr("Import…"))
        self.progress = QProgressBar()
        self.progress_label = QLabel()
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.status = QLabel()
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("Recommended for this machine")))
        layout.addWidget(self.machine)
        layout.addWidget(self.recommended)
        layout.addWidget(self.download_button)
        layout.addWidget(QLabel(self.tr("Installed")))
        layout.addWidget(self.installed)
        row = QHBoxLayout()
        for widget in (self.use_button, self.remove_button, self.import_button):
            row.addWidget(widget)
        row.addStretch()
        row.addWidget(self.progress_label)
        row.addWidget(self.progress)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self._show_progress(False)

        self.download_button.clicked.connect(self.download_recommended)
        self.use_button.clicked.connect(self.use_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.import_button.clicked.connect(self.choose_and_import)
        self.cancel_button.clicked.connect(lambda: self._pull is not None and self._pull.cancel.set())
        self.refresh()

    @staticmethod
    def _table(headers: list[str]) -> QTableWidget:
        table = QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def refresh(self) -> None:
        recommendation = self.service.recommend_models()
        m = recommendation.machine
        chip = self.tr("Apple Silicon") if m.apple_silicon else self.tr("not Apple Silicon")
        self.machine.setText(self.tr("{ram:.0f} GB memory, {chip}, {disk:.0f} GB free disk").format(
            ram=m.ram_bytes / 2**30, chip=chip, disk=m.free_disk_bytes / 2**30))
        self._picks = list(recommendation.picks())
        self._fill(self.recommended, [[p.role, f"{p.entry.name} {p.quant}", p.format, p.reason] for p in self._picks])
        in_use = self.service.models_in_use()
        self._installed = self.service.installed_models()
        self._fill(self.installed, [[i.name, i.kind, f"{i.format} {i.quant}", f"{i.size_bytes / 2**30:.2f} GB",
                                     in_use.get(i.name, "")] for i in self._installed])

    @staticmethod
    def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(str(text))
                item.setToolTip(str(text))
                table.setItem(r, c, item)

    def _selected(self):  # noqa: ANN202 - an InstalledModel or None
        rows = self.installed.selectionModel().selectedRows()
        return self._installed[rows[0].row()] if rows else None

    def use_selected(self) -> None:
        model = self._selected()
        if model is not None:
            self._try(lambda: self.service.use_model(model.name))

    def remove_selected(self) -> None:
        model = self._selected()
        if model is not None:
            self._try(lambda: self.service.remove_model(model.name))

    def choose_and_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Import a model"), "", "GGUF (*.gguf);;All files (*)")
        if path:
            self.import_path(Path(path))

    def import_path(self, path: Path) -> None:
        self._try(lambda: self.service.import_model(path))

    def _try(self, action) -> None:  # noqa: ANN001 - a quick call into the service
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - shown to the user; the message names the model and reason
            self.status.setText(str(exc))
            return
        self.status.setText("")
        self.refresh()
        self.changed.emit()

    def download_recommended(self) -> None:
        """Pull each recommended model (converting where no ready build exists), then use it."""
        if self._pull is not None:
            return
        service, picks = self.service, list(self._picks)

        def work(progress, cancel):  # noqa: ANN001, ANN202 - the Op passes both
            for pick in picks:
                if cancel.is_set():
                    break
                result = service.pull_model(pick.entry.name, format=pick.format, quant=pick.quant,
                                            progress=progress, cancel=cancel)
                service.use_model(result.model.name, dim=pick.dim)

        self._show_progress(True)
        self._pull = (self.runner.op(work, model=True, takes=("progress", "cancel")).progress(self._on_progress)
                      .failure(lambda exc: self.status.setText(str(exc))).finally_(self._pull_over).run())

    def _on_progress(self, event: object) -> None:
        done, total = getattr(event, "done", None), getattr(event, "total", None)
        if done is None:  # a conversion step
            done, total = getattr(event, "tensors_done", 0), getattr(event, "tensors_total", 0)
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done / total) if total else 0)
        self.progress_label.setText(Path(str(getattr(event, "file", getattr(event, "stage", "")))).name)

    def _pull_over(self) -> None:
        self._pull = None
        self._show_progress(False)
        self.refresh()
        self.changed.emit()

    def _show_progress(self, shown: bool) -> None:
        for widget in (self.progress, self.progress_label, self.cancel_button):
            widget.setVisible(shown)
        self.download_button.setEnabled(not shown)
