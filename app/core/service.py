"""The facade both front ends use: every CLI command and GUI action is one call here."""

from __future__ import annotations

import threading
from pathlib import Path

import converters
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


__all__ = ["IpponService", "ConversionProgress", "ConversionResult"]
