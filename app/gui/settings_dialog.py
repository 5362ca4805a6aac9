"""Settings: the models, the backend and server, and retrieval sizes — written to config.toml."""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QWidget)

from ..config import Config
from .serve_switch import ServeSwitch
from .theme import FONT_SIZES, Appearance


class SettingsDialog(QDialog):
    def __init__(self, config: Config, parent: QWidget | None = None, *,
                 appearance: Appearance = Appearance()) -> None:
        super().__init__(parent)
        self.appearance = appearance
        self.setWindowTitle(self.tr("Settings"))
        self.config = config
        form = QFormLayout(self)
        data_dir = QLabel(str(config.data_dir))
        data_dir.setToolTip(self.tr("Set IPPON_HOME to use another data folder"))
        form.addRow(self.tr("Data folder"), data_dir)
        self.paths: dict[str, QLineEdit] = {}
        projector = self.tr("A .gguf file needs its projector, mmproj-<file name>, beside it.")
        for key, label, tip in (
                ("llm", self.tr("Answering model (LLM)"), ""), ("embedder", self.tr("Embedder"), ""),
                ("reranker", self.tr("Reranker"), ""),
                ("vision_reranker", self.tr("Image reranker (Qwen3-VL)"),
                 self.tr("Qwen3-VL-Reranker: judges images and PDF pages by their pixels when it reranks.")),
                ("image_embedder", self.tr("Image embedder (Qwen3-VL)"),
                 self.tr("Qwen3-VL-Embedding: vectors from the pixels of the library's images, computed when "
                         "they are added, so that a question finds them by what they show."))):
            self.paths[key] = self._path_row(form, label, getattr(config, key) or "",
                                             f"{tip}\n{projector}" if tip else "")
        self.backend = QComboBox()
        self.backend.addItems(["auto", "llamacpp", "mlx", "remote"])
        self.backend.setCurrentText(config.backend)
        form.addRow(self.tr("Backend"), self.backend)
        self.remote_url = QLineEdit(config.remote_url or "")
        self.remote_url.setPlaceholderText("http://gpu-server:8000")
        form.addRow(self.tr("Server URL"), self.remote_url)
        self.top_k = self._spin(1, 100, config.top_k)
        form.addRow(self.tr("Sources per answer"), self.top_k)
        # The latency budget's presets (app/core/budget.py): seconds to the answer's first word.
        self.answer_seconds = QComboBox()
        for seconds, label in ((4.0, self.tr("Speed: first words in about 4 s")),
                               (8.0, self.tr("Balanced: about 8 s")),
                               (20.0, self.tr("Quality: about 20 s, more sources reranked")),
                               (0.0, self.tr("No limit: rerank every candidate"))):
            self.answer_seconds.addItem(label, seconds)
        index = self.answer_seconds.findData(float(config.answer_seconds))
        if index < 0:  # a value from config.toml that is not a preset
            self.answer_seconds.addItem(self.tr("{s:g} s (config.toml)").format(s=config.answer_seconds),
                                        float(config.answer_seconds))
            index = self.answer_seconds.count() - 1
        self.answer_seconds.setCurrentIndex(index)
        self.answer_seconds.setToolTip(self.tr("Ippon measures how fast this machine runs each model and reranks "
                                               "as many candidates as fit this time"))
        form.addRow(self.tr("Answer speed"), self.answer_seconds)
        self.chunk_tokens = self._spin(64, 8192, config.chunk_tokens)
        form.addRow(self.tr("Chunk size (tokens)"), self.chunk_tokens)
        self.threads = self._spin(0, 256, config.threads)
        self.threads.setSpecialValueText(self.tr("automatic"))
        form.addRow(self.tr("Threads"), self.threads)
        self.theme = QComboBox()
        for key, label in (("system", self.tr("Follow the system")), ("light", self.tr("Light")),
                           ("dark", self.tr("Dark"))):
            self.theme.addItem(label, key)
        self.theme.setCurrentIndex(max(0, self.theme.findData(appearance.theme)))
        form.addRow(self.tr("Appearance"), self.theme)
        self.font_size = QComboBox()
        for pt in FONT_SIZES:
            self.font_size.addItem(self.tr("System size") if pt == 0 else self.tr("{pt} pt").format(pt=pt), pt)
        self.font_size.setCurrentIndex(max(0, self.font_size.findData(appearance.font_pt)))
        form.addRow(self.tr("Text size"), self.font_size)
        serve = getattr(parent, "serve_control", None)  # the window's server, which outlives this dialog
        if serve is not None:
            form.addRow(self.tr("Local API"), ServeSwitch(serve))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _path_row(self, form: QFormLayout, label: str, value: str, tip: str) -> QLineEdit:
        """A model's path (or server-side name) with its Browse… button."""
        edit = QLineEdit(value)
        edit.setPlaceholderText(self.tr("a .gguf file, an MLX folder, or a model name on the server"))
        # Wide enough for a model's folder and file name; the start of a long path scrolls out of view.
        edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance("M" * 34))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(lambda _=False, e=edit: self._browse(e))
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(browse)
        name = QLabel(label)
        for widget in (name, edit, browse):
            widget.setToolTip(tip)
        form.addRow(name, row)
        return edit

    @staticmethod
    def _spin(low: int, high: int, value: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        return spin

    def _browse(self, edit: QLineEdit) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose a model"), "", "GGUF (*.gguf);;All files (*)")
        if path:
            edit.setText(path)

    def changes(self) -> dict[str, object]:
        """The settings that differ from the current configuration (None removes a setting)."""
        values: dict[str, object] = {key: edit.text().strip() or None for key, edit in self.paths.items()}
        values.update(backend=self.backend.currentText(), remote_url=self.remote_url.text().strip() or None,
                      top_k=self.top_k.value(), chunk_tokens=self.chunk_tokens.value(), threads=self.threads.value(),
                      answer_seconds=self.answer_seconds.currentData())
        changes: dict[str, object] = {k: v for k, v in values.items() if getattr(self.config, k) != v}
        look = Appearance(self.theme.currentData(), self.font_size.currentData())
        if look != self.appearance:
            changes["appearance"] = look  # the window's own setting, not config.toml's
        return changes

    @classmethod
    def ask(cls, config: Config, parent: QWidget | None = None, *,
            appearance: Appearance = Appearance()) -> dict[str, object] | None:
        """Show the dialog; the changes, or None when cancelled. Tests replace this method."""
        dialog = cls(config, parent, appearance=appearance)
        return dialog.changes() if dialog.exec() == QDialog.DialogCode.Accepted else None
