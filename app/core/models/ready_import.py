"""Importing a local model so that it runs here: a Hugging Face checkpoint folder is converted first
(to MLX on Apple Silicon, GGUF elsewhere, as a pull would), then installed like any import.

The window's Import… uses this; `ippon models import` keeps checkpoints as they are unless asked.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import converters

from ...locale import _

from .catalog import Catalog
from .errors import DownloadCancelled, ImportRefusedError
from .installed import InstalledModel, partial_dir, safe_name
from .local import import_model, inspect_local
from .pulling import default_format


def import_ready_to_run(path: Path, *, models_dir: Path, catalog: Catalog | None = None, fmt: str | None = None,
                        progress: Callable[[Any], None] | None = None,
                        cancel: threading.Event | None = None) -> InstalledModel:
    """Install `path` (a .gguf file, an MLX folder or a Hugging Face checkpoint folder) in a runnable format."""
    local = inspect_local(path)
    if local.format != "hf":
        return import_model(local.path, models_dir=models_dir, catalog=catalog)
    fmt = fmt or default_format()
    name = safe_name(f"{local.path.name}-{fmt}")
    work = partial_dir(models_dir, f"convert-{name}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        out = work / (f"{local.path.name}.gguf" if fmt == "gguf" else local.path.name)
        try:
            # A Qwen3-VL checkpoint converts as a reranker or embedder; it stays a vl- kind once installed.
            result = converters.convert(local.path, to=fmt, out=out, kind=local.kind.removeprefix("vl-"),
                                        progress=progress, cancel=cancel)
        except converters.ConversionCancelled as exc:
            raise DownloadCancelled(_("{path}: the conversion was cancelled; nothing was installed")
                                    .format(path=local.path)) from exc
        except converters.ConversionError as exc:
            raise ImportRefusedError(_("{path}: cannot convert it to {fmt}: {reason}")
                                     .format(path=local.path, fmt=fmt, reason=exc)) from exc
        return import_model(result.output, models_dir=models_dir, name=name, kind=local.kind, catalog=catalog)
    finally:
        shutil.rmtree(work, ignore_errors=True)
