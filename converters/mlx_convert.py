"""Qwen3 checkpoint -> MLX folder that `mlx_lm.load` opens, for the LLM, embedder and reranker alike.

Weights are streamed tensor by tensor into shards of at most `SHARD_BYTES`, each matrix
quantized with MLX's affine quantization (`mx.quantize`, what `mlx_lm.convert` applies
through `nn.quantize`), so memory stays near one shard however large the model is.

Embedders ship flat keys and no LM head, which `mlx_lm.load` rejects ("parameters not in
model"): they are written with the `model.` prefix and `tie_word_embeddings: true`, so the
folder loads as a Qwen3 model whose `model.model(...)` gives the hidden states to pool. The
sentence-transformers files are kept, and `ippon_kind` in config.json says what it is.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import Checkpoint, ModelKind
from .errors import MissingDependencyError
from .events import ProgressCallback, ProgressReporter

MLX_QUANTS = ("bf16", "f32", "8bit", "4bit")
SHARD_BYTES = 1 << 30
# Files copied verbatim: tokenizer, generation defaults and sentence-transformers pooling.
_COPIED_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json",
                 "added_tokens.json", "chat_template.jinja", "generation_config.json", "modules.json",
                 "config_sentence_transformers.json", "sentence_bert_config.json")
_COPIED_DIRS = ("1_Pooling", "2_Normalize")


def _bits(quant: str) -> int | None:
    return {"8bit": 8, "4bit": 4}.get(quant)


def _quantizable(name: str, shape: tuple[int, ...], group_size: int) -> bool:
    # Every 2-D Qwen3 tensor is a Linear or Embedding weight, which mlx quantizes when its
    # rows split into whole groups (the same rule as mlx_lm's quantize_model).
    return len(shape) == 2 and shape[-1] % group_size == 0


def _output_names(ckpt: Checkpoint) -> list[str]:
    return [n for n in ckpt.tensors
            if not (n == "lm_head.weight" and (ckpt.dims.tie_word_embeddings or ckpt.kind is ModelKind.EMBEDDER))]


def mlx_output_bytes(ckpt: Checkpoint, quant: str, group_size: int) -> int:
    bits = _bits(quant)
    total = 0
    for name in _output_names(ckpt):
        shape = ckpt.tensors[name].shape
        n = int(np.prod(shape))
        if bits and _quantizable(name, shape, group_size):
            total += n * bits // 8 + 2 * (n // group_size) * 2  # packed weights + bf16 scales and biases
        else:
            total += n * (4 if quant == "f32" else 2)
    return total


def write_mlx(ckpt: Checkpoint, path: Path, *, quant: str = "bf16", group_size: int = 64,
              progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> None:
    """Write `ckpt` into the existing empty folder `path` (the caller makes the output atomic)."""
    try:
        import mlx.core as mx
    except ImportError as exc:
        raise MissingDependencyError('MLX output needs mlx: please install mlx-lm (pip install "mlx-lm[cpu]" on '
                                     "Linux, mlx-lm on Apple Silicon)") from exc
    bits = _bits(quant)
    dtype = mx.float32 if quant == "f32" else mx.bfloat16
    names = _output_names(ckpt)
    reporter = ProgressReporter(stage="convert", tensors_total=len(names),
                                bytes_total=sum(ckpt.tensors[n].nbytes for n in names),
                                progress=progress, cancel=cancel)
    reporter.check_cancelled()
    shards: list[dict[str, Any]] = [{}]
    shard_bytes = 0
    written: list[tuple[str, list[str]]] = []  # (file name, tensor names)

    def flush() -> None:
        nonlocal shard_bytes
        if not shards[-1]:
            return
        file_name = f"model-{len(written) + 1:05d}.safetensors"
        mx.save_safetensors(str(path / file_name), shards[-1], metadata={"format": "mlx"})
        written.append((file_name, sorted(shards[-1])))
        shards[-1] = {}
        shard_bytes = 0

    for name in names:
        quantize = bool(bits) and _quantizable(name, ckpt.tensors[name].shape, group_size)
        # Row slices bound the float32 working set; affine groups run along rows, so
        # quantizing slice by slice gives the same result as the whole tensor at once.
        pieces: list[tuple[Any, ...]] = []
        for start, stop in ckpt.row_chunks(name):
            piece = mx.array(ckpt.read(name, start, stop)).astype(dtype)
            pieces.append(mx.quantize(piece, group_size=group_size, bits=bits, mode="affine") if quantize
                          else (piece,))
            mx.eval(*pieces[-1])
        joined = [mx.concatenate(list(column), axis=0) if len(pieces) > 1 else column[0] for column in zip(*pieces)]
        stem = name[: -len("weight")]
        parts = dict(zip((name, stem + "scales", stem + "biases"), joined))
        mx.eval(*parts.values())
        shards[-1].update(parts)
        shard_bytes += sum(p.nbytes for p in parts.values())
        if shard_bytes >= SHARD_BYTES:
            flush()
        reporter.advance(name, ckpt.tensors[name].nbytes)
    flush()
    _rename_shards(path, written)
    _write_config(ckpt, path, quant, bits, group_size)
    _copy_side_files(ckpt.path, path)


def _rename_shards(path: Path, written: list[tuple[str, list[str]]]) -> None:
    """Name shards as Hugging Face does once their count is known, and write the index."""
    weight_map: dict[str, str] = {}
    total = len(written)
    for i, (file_name, tensor_names) in enumerate(written, start=1):
        final = "model.safetensors" if total == 1 else f"model-{i:05d}-of-{total:05d}.safetensors"
        (path / file_name).rename(path / final)
        weight_map.update({t: final for t in tensor_names})
    total_size = sum((path / f).stat().st_size for f in set(weight_map.values()))
    index = {"metadata": {"total_size": total_size}, "weight_map": dict(sorted(weight_map.items()))}
    (path / "model.safetensors.index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")


def _write_config(ckpt: Checkpoint, path: Path, quant: str, bits: int | None, group_size: int) -> None:
    config = dict(ckpt.config)
    config["ippon_kind"] = ckpt.kind.value
    config["torch_dtype"] = "float32" if quant == "f32" else "bfloat16"
    if ckpt.kind is ModelKind.EMBEDDER:
        config["tie_word_embeddings"] = True  # no head: tying makes mlx_lm expect none
        config["architectures"] = ["Qwen3ForCausalLM"]
    if bits:
        q = {"group_size": group_size, "bits": bits, "mode": "affine"}
        config["quantization"] = q
        config["quantization_config"] = dict(q)
    (path / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")


def _copy_side_files(src: Path, dst: Path) -> None:
    for name in _COPIED_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
    for name in _COPIED_DIRS:
        if (src / name).is_dir():
            shutil.copytree(src / name, dst / name)
