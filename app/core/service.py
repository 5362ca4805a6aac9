"""The facade both front ends use: every CLI command and GUI action is one call here."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

import converters
import engines
from converters import ConversionProgress, ConversionResult

from ..config import Config


class IpponService:
    def __init__(self, config: Config) -> None:
        self.config = config

    def convert_model(self, src: Path, *, to: str, out: Path, quant: str | None = None, group_size: int = 64,
                      kind: str | None = None, force: bool = False, verify: bool = False,
                      progress: converters.events.ProgressCallback | None = None,
                      cancel: threading.Event | None = None) -> ConversionResult:
        """Convert a Hugging Face Qwen3 checkpoint to GGUF or MLX (see `converters.convert`)."""
        return converters.convert(src, to=to, out=out, quant=quant, group_size=group_size, kind=kind,
                                  force=force, verify=verify, progress=progress, cancel=cancel)

    def load_engine(self, role: Literal["chat", "embedder", "reranker"], model: str | Path, *,
                    backend: str | None = None, url: str | None = None, **options: Any) -> Any:
        """A chat model, embedder or reranker. The configured server is used only for names that are not
        local files, so a local model always runs locally."""
        backend = backend or self.config.backend
        if url is None and backend in ("auto", "remote") and not Path(model).expanduser().exists():
            url = self.config.remote_url
        chosen = engines.choose_backend(model, backend=backend, url=url)
        if chosen == "llamacpp" and self.config.threads:
            options.setdefault("n_threads", self.config.threads)
        loader = {"chat": engines.load_chat_model, "embedder": engines.load_embedder,
                  "reranker": engines.load_reranker}[role]
        return loader(model, backend=chosen, url=url, **options)


__all__ = ["IpponService", "ConversionProgress", "ConversionResult"]
