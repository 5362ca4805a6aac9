"""Backends by name, imported only when used ("the module is the plugin").

Each backend is a package `engines.<name>_backend` exposing `load_chat_model`,
`load_embedder` and `load_reranker`, each taking the model (a path, or a server's model
name) and keyword options.
"""

from __future__ import annotations

import importlib
import importlib.util
import platform
import sys
from pathlib import Path
from typing import Any

from .base import ChatModel, Embedder, Reranker, VisionEmbedder, VisionReranker
from .errors import EngineError, MissingBackendError, UnsupportedError

BACKENDS = ("llamacpp", "mlx", "remote")


def is_apple_silicon() -> bool:
    return sys.platform == "darwin" and platform.machine() == "arm64"


def default_backend() -> str:
    """MLX on Apple Silicon macOS (when installed), llama.cpp everywhere else."""
    return "mlx" if is_apple_silicon() and importlib.util.find_spec("mlx") else "llamacpp"


def choose_backend(model: str | Path, *, backend: str = "auto", url: str | None = None) -> str:
    """The backend for this model: the one asked for, remote with a URL, else by file type, else the default."""
    if backend != "auto":
        if backend not in BACKENDS:
            raise EngineError(f"unknown backend {backend!r}; choose one of auto, {', '.join(BACKENDS)}")
        if backend == "remote" and not url:
            raise EngineError("the remote backend needs the server's URL (--url)")
        return backend
    if url:
        return "remote"
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf" or path.is_file():
        return "llamacpp"
    if path.is_dir():
        return "mlx"
    return default_backend()


def backend_module(name: str) -> Any:
    if name not in BACKENDS:
        raise EngineError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    try:
        return importlib.import_module(f"{__package__}.{name}_backend")
    except ImportError as exc:  # a backend package itself imports its library lazily; this is a safety net
        raise MissingBackendError(f"the {name} backend cannot be imported: {exc}") from exc


def _load(what: str, model: str | Path, backend: str, url: str | None, options: dict[str, Any]) -> Any:
    name = choose_backend(model, backend=backend, url=url)
    if name == "remote":
        options = {**options, "url": url}
    loader = getattr(backend_module(name), what, None)
    if loader is None:
        raise UnsupportedError(f"the {name} backend cannot run this kind of model ({what.removeprefix('load_')})")
    return loader(model, **options)


def load_chat_model(model: str | Path, *, backend: str = "auto", url: str | None = None, **options: Any) -> ChatModel:
    return _load("load_chat_model", model, backend, url, options)


def load_embedder(model: str | Path, *, backend: str = "auto", url: str | None = None, **options: Any) -> Embedder:
    return _load("load_embedder", model, backend, url, options)


def load_reranker(model: str | Path, *, backend: str = "auto", url: str | None = None, **options: Any) -> Reranker:
    return _load("load_reranker", model, backend, url, options)


def load_vision_reranker(model: str | Path, *, backend: str = "auto", url: str | None = None,
                         **options: Any) -> VisionReranker:
    """Qwen3-VL-Reranker; a GGUF model takes `mmproj=` (default: mmproj-<name> beside it)."""
    return _load("load_vision_reranker", model, backend, url, options)


def load_vision_embedder(model: str | Path, *, backend: str = "auto", url: str | None = None,
                         **options: Any) -> VisionEmbedder:
    """Qwen3-VL-Embedding; a GGUF model takes `mmproj=` (default: mmproj-<name> beside it)."""
    return _load("load_vision_embedder", model, backend, url, options)


def is_vision_model(model: str | Path) -> bool:
    """Whether a local model file or folder is a Qwen3-VL model (read from its header or config, nothing loaded)."""
    path = Path(model).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        from .llamacpp_backend.gguf_header import read_gguf_header

        try:
            return read_gguf_header(path).get("general.architecture") == "qwen3vl"
        except (OSError, EngineError):
            return False
    config = path / "config.json"
    if path.is_dir() and config.is_file() and config.stat().st_size < 1 << 20:
        import json

        try:
            return json.loads(config.read_text(encoding="utf-8")).get("model_type") == "qwen3_vl"
        except (OSError, ValueError, AttributeError):
            return False
    return False
