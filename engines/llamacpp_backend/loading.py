"""Opening a GGUF file with llama.cpp, and refusing clearly what is not the expected model."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from ..base import Role
from ..errors import MissingBackendError, ModelFileError, WrongModelError
from .gguf_header import read_gguf_header

# llama.cpp's pooling types, as written in `<arch>.pooling_type`.
_POOLING_ROLE = {3: "embedder", 4: "reranker"}
_ROLE_NAMES = {"chat": "a Qwen3 chat model", "embedder": "a Qwen3-Embedding model (LAST pooling)",
               "reranker": "a Qwen3-Reranker model (RANK pooling with a yes/no head)"}


def import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise MissingBackendError("the llama.cpp backend needs llama-cpp-python: please install it "
                                  "(pip install llama-cpp-python)") from exc
    return llama_cpp


def default_threads() -> int:
    """The performance cores: llama.cpp slows down badly when its threads share a core."""
    if platform.system() == "Darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "hw.perflevel0.physicalcpu"], capture_output=True, text=True,
                                 timeout=2, check=True).stdout
            return max(1, int(out.strip()))
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def check_gguf_file(path: Path, role: Role) -> tuple[Path, dict[str, object]]:
    """The resolved path and header metadata of a GGUF file holding the model `role` expects."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    if not path.is_file():
        raise WrongModelError(f"{path}: is a folder; the llama.cpp backend takes a .gguf file "
                              "(use the mlx backend for an MLX folder)")
    meta = read_gguf_header(path)
    check_role(path, meta, role)
    return path.resolve(), meta


def open_llama(path: Path, *, role: Role, n_ctx: int, n_batch: int, n_ubatch: int, n_threads: int | None) -> Any:
    """llama.cpp's Llama for a checked file; n_ctx is capped at what the model was trained for."""
    path, meta = check_gguf_file(path, role)
    llama_cpp = import_llama_cpp()
    trained = meta.get(f"{meta['general.architecture']}.context_length")
    if isinstance(trained, int) and trained > 0:
        n_ctx = min(n_ctx, trained)
    threads = n_threads or default_threads()
    # Every layer on the GPU when this build has one (Metal, CUDA, Vulkan): llama-cpp-python's
    # own default keeps them all on the CPU.
    gpu_layers = -1 if llama_cpp.llama_supports_gpu_offload() else 0
    try:
        return llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_batch=min(n_batch, n_ctx),
                               n_ubatch=min(n_ubatch, n_ctx), n_threads=threads, n_threads_batch=threads,
                               n_gpu_layers=gpu_layers, embedding=role != "chat", flash_attn=True, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: llama.cpp could not load it ({exc}); the file may be damaged or "
                             "from a newer llama.cpp") from exc


def check_role(path: Path, metadata: dict[str, object], role: Role) -> None:
    arch = metadata.get("general.architecture", "?")
    if arch != "qwen3":
        raise WrongModelError(f"{path}: architecture {arch!r}; expected {_ROLE_NAMES[role]} (architecture qwen3)")
    found = _POOLING_ROLE.get(int(metadata.get(f"{arch}.pooling_type") or 0), "chat")
    if found != role:
        hint = " (convert the Hugging Face checkpoint with `ippon convert --to gguf`)" if role != "chat" else ""
        raise WrongModelError(f"{path}: this is {_ROLE_NAMES[found]}, but {_ROLE_NAMES[role]} was expected{hint}")


def single_token(llama: Any, text: str, path: Path) -> int:
    ids = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    if len(ids) != 1:
        raise WrongModelError(f"{path}: the vocabulary has no single {text} token; not a Qwen3 model")
    return ids[0]
