"""Models: what this machine should run (and why), downloads with progress, imports (a .gguf file, an MLX
folder, or a Hugging Face checkpoint converted on the way), and what is installed and in use — including a
model set by path in Settings, so both windows tell the same story."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMenu,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..core import models
from ..core.models.ready_import import import_ready_to_run
from ..core.service import IpponService
from ..errors import user_message
from .tasks import Op, TaskRunner

CONFIG_KEYS = ("llm", "embedder", "reranker", "vision_reranker", "image_embedder")


class ModelsDialog(QDialog):
    changed = Signal()  # the configuration now points at other models
    import_finished = Signal(object)  # the InstalledModel, or the exception

    def __init__(self, service: IpponService, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.runner = runner
        self.setWindowTitle(self.tr("Models"))
        self.resize(880, 540)
        self._job: Op | None = None  # a download or an import: one at a time
        self._picks: list = []
        self._rows: list[tuple[str, models.InstalledModel | None]] = []  # (name, installed model or None)

        self.machine = QLabel()
        self.recommended = self._table([self.tr("Role"), self.tr("Model"), self.tr("Format"), self.tr("Why")])
        self.download_button = QPushButton(self.tr("Download and use the recommended models"))
        self.installed = self._table([self.tr("Name"), self.tr("Kind"), self.tr("Format"), self.tr("Size"),
                                      self.tr("In use")])
        self.use_button = QPushButton(self.tr("Use"))
        self.remove_button = QPushButton(self.tr("Remove"))
        self.import_button = QPushButton(self.tr("Import…"))
        self.import_button.setToolTip(self.tr("A .gguf file, an MLX folder, or a Hugging Face checkpoint folder "
                                              "(converted for this machine)"))
        import_menu = QMenu(self.import_button)
        import_menu.addAction(self.tr("A .gguf file…"), self.choose_file_and_import)
        import_menu.addAction(self.tr("A model folder (MLX or Hugging Face)…"), self.choose_folder_and_import)
        self.import_button.setMenu(import_menu)
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
        layout.addWidget(QLabel(self.tr("Installed and in use")))
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
        self.cancel_button.clicked.connect(lambda: self._job is not None and self._job.cancel.set())
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

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Reopened: the state as it is now, without the message of an earlier visit."""
        if self._job is None:
            self.status.setText("")
            self.refresh()
        super().showEvent(event)

    def role_text(self, role: str) -> str:
        """A kind or the config.toml key it is used through, in words."""
        image_reranker, image_embedder = self.tr("Image reranker"), self.tr("Image embedder")
        return {"llm": self.tr("Answering (LLM)"), "embedder": self.tr("Embedder"), "reranker": self.tr("Reranker"),
                "vl-reranker": image_reranker, "vision_reranker": image_reranker,
                "vl-embedder": image_embedder, "image_embedder": image_embedder}.get(role, role)

    def refresh(self) -> None:
        recommendation = self.service.recommend_models()
        m = recommendation.machine
        chip = self.tr("Apple Silicon") if m.apple_silicon else self.tr("not Apple Silicon")
        self.machine.setText(self.tr("{ram:.0f} GB memory, {chip}, {disk:.0f} GB free disk").format(
            ram=m.ram_bytes / 2**30, chip=chip, disk=m.free_disk_bytes / 2**30))
        self._picks = list(recommendation.picks())
        self._fill(self.recommended, [[self.role_text(p.role), f"{p.entry.name} {p.quant}", p.format, p.reason]
                                      for p in self._picks])
        in_use = self.service.models_in_use()
        installed = self.service.installed_models()
        rows = [[i.name, self.role_text(i.kind), f"{i.format} {i.quant}", f"{i.size_bytes / 2**30:.2f} GB",
                 self.role_text(in_use[i.name]) if i.name in in_use else ""] for i in installed]
        self._rows = [(i.name, i) for i in installed]
        # A model set by path in Settings (or config.toml) is in use too, though not installed here.
        config = self.service.config
        for key in CONFIG_KEYS:
            value = getattr(config, key)
            if value and key not in in_use.values():
                local = Path(value).expanduser()
                kind = ("gguf" if local.suffix == ".gguf" else self.tr("folder")) if local.exists() \
                    else self.tr("on the server")
                rows.append([local.name or value, self.role_text(key), kind, "",
                             self.tr("{role} (set in Settings)").format(role=self.role_text(key))])
                self._rows.append((local.name or value, None))
        self._fill(self.installed, rows)

    @staticmethod
    def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(str(text))
                item.setToolTip(str(text))
                table.setItem(r, c, item)

    def _selected(self) -> models.InstalledModel | None:
        rows = self.installed.selectionModel().selectedRows()
        return self._rows[rows[0].row()][1] if rows else None

    def use_selected(self) -> None:
        model = self._selected()
        if model is not None:
            self._try(lambda: self.service.use_model(model.name))
        else:
            self._explain_settings_row()

    def remove_selected(self) -> None:
        model = self._selected()
        if model is not None:
            self._try(lambda: self.service.remove_model(model.name))
        else:
            self._explain_settings_row()

    def _explain_settings_row(self) -> None:
        """A model set by path in Settings is not Ippon's to use or delete: say where it is changed."""
        rows = self.installed.selectionModel().selectedRows()
        if rows:
            self.status.setText(self.tr("{name} is set by its path in Settings; change or clear it there "
                                        "(File → Settings…).").format(name=self._rows[rows[0].row()][0]))

    def _try(self, action) -> None:  # noqa: ANN001 - a quick call into the service
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - shown to the user; the message names the model and reason
            self.status.setText(user_message(exc))
            return
        self.status.setText("")
        self.refresh()
        self.changed.emit()

    # --- importing ------------------------------------------------------------------------------

    def choose_file_and_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Import a model"), "", "GGUF (*.gguf);;All files (*)")
        if path:
            self.import_path(Path(path))

    def choose_folder_and_import(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Import a model folder (MLX or Hugging Face)"))
        if path:
            self.import_path(Path(path))

    def import_path(self, path: Path) -> None:
        """Install a model in the background (a Hugging Face checkpoint is converted first, with progress)."""
        if self._job is not None:
            return
        service = self.service

        def work(progress, cancel):  # noqa: ANN001, ANN202 - the Op passes both
            return import_ready_to_run(path, models_dir=service.config.models_dir, catalog=service.model_catalog(),
                                       progress=progress, cancel=cancel)

        self._start(work, self.tr("Importing {name}…").format(name=path.name)).success(self._imported).failure(
            self._import_failed).run()

    def _imported(self, model: models.InstalledModel) -> None:
        self.status.setText(self.tr("Installed {name} ({kind}). Select it and click Use to use it.")
                            .format(name=model.name, kind=self.role_text(model.kind)))
        self.import_finished.emit(model)

    def _import_failed(self, exc: BaseException) -> None:
        self.status.setText(user_message(exc))
        self.import_finished.emit(exc)

    # --- downloading ----------------------------------------------------------------------------

    def download_recommended(self) -> None:
        """Pull each recommended model (converting where no ready build exists), then use it."""
        if self._job is not None:
            return
        service, picks = self.service, list(self._picks)

        def work(progress, cancel):  # noqa: ANN001, ANN202 - the Op passes both
            warnings = []  # what each pull says beside its result (a file the Hub publishes no hash for)
            for pick in picks:
                if cancel.is_set():
                    break
                result = service.pull_model(pick.entry.name, format=pick.format, quant=pick.quant,
                                            progress=progress, cancel=cancel)
                service.use_model(result.model.name, dim=pick.dim)
                warnings += result.warnings
            return warnings

        (self._start(work, self.tr("Downloading…")).success(self._downloaded).failure(self._download_failed)
         .finally_(self.changed.emit).run())

    def _downloaded(self, warnings: list[str]) -> None:
        self.status.setText("\n".join(warnings))  # the core wrote them in the user's language

    def _download_failed(self, exc: BaseException) -> None:
        if isinstance(exc, models.OfflineError):
            self.status.setText(self.tr("This machine cannot reach the model hub, so nothing can be downloaded now. "
                                        "If you have a model already (a .gguf file, an MLX folder or a Hugging "
                                        "Face checkpoint folder), click Import… above and choose it."))
        else:
            self.status.setText(user_message(exc))

    # --- the running job ------------------------------------------------------------------------

    def _start(self, work, label: str) -> Op:  # noqa: ANN001 - work(progress, cancel)
        """The job, set up but not started (the caller connects its callbacks, then runs it)."""
        self.status.setText("")
        self._show_progress(True)
        self.progress.setRange(0, 0)
        self.progress_label.setText(label)
        self._job = (self.runner.op(work, model=True, takes=("progress", "cancel")).progress(self._on_progress)
                     .finally_(self._job_over))
        return self._job

    def _on_progress(self, event: object) -> None:
        done, total = getattr(event, "done", None), getattr(event, "total", None)
        if done is None:  # a conversion step
            done, total = getattr(event, "tensors_done", 0), getattr(event, "tensors_total", 0)
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done / total) if total else 0)
        stage = getattr(event, "stage", None)
        if stage is not None:
            self.progress_label.setText(self.tr("Converting for this machine…"))
        elif getattr(event, "file", None):
            self.progress_label.setText(Path(str(event.file)).name)

    def _job_over(self) -> None:
        self._job = None
        self._show_progress(False)
        self.refresh()

    def _show_progress(self, shown: bool) -> None:
        for widget in (self.progress, self.progress_label, self.cancel_button):
            widget.setVisible(shown)
        for button in (self.download_button, self.import_button):
            button.setEnabled(not shown)
