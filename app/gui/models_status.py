"""Which models are active, in the status bar (click to open the Models dialog)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QPushButton, QWidget

from engines.devices import device_for

from ..config import Config
from ..core.models import MANIFEST

DEVICE_NAMES = {"cpu": "CPU", "metal": "Metal (GPU)", "cuda": "CUDA (GPU)", "vulkan": "Vulkan (GPU)"}


def model_label(value: str | None) -> str:
    """A configured model as a short name: the file or folder name, or the server's model name."""
    if not value:
        return "—"
    path = Path(value)
    # An installed GGUF lives in a folder named after the model (beside its manifest); that says more.
    installed = path.suffix == ".gguf" and (path.parent / MANIFEST).is_file()
    return path.parent.name if installed else path.name or value


class ModelsStatus(QPushButton):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFlat(True)
        self.setToolTip(self.tr("The models in use; click to change them"))

    def show_models(self, config: Config) -> None:
        text = self.tr("LLM: {llm} · Embedder: {embedder} · Reranker: {reranker}").format(
            llm=model_label(config.llm), embedder=model_label(config.embedder),
            reranker=model_label(config.reranker))
        device = device_for(config.llm or config.reranker or config.embedder, backend=config.backend,
                            url=config.remote_url)
        if device is not None:
            text += " · " + self.tr("on {device}").format(device=DEVICE_NAMES.get(device, device))
        self.setText(text)
