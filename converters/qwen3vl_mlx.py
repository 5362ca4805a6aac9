"""Qwen3-VL checkpoint -> the MLX folder mlx-vlm loads (`mlx_vlm.models.qwen3_vl`), through mlx-vlm's own converter.

mlx-vlm owns this layout (its weight names, the patch kernel's channel order, which modules
stay unquantized), so its converter writes it rather than a copy of its rules here. Two things
are done around it: configs saved by transformers 5.x are translated first (mlx-vlm 0.7 reads
only `rope_theta`/`rope_scaling` and a vision `model_type` of "qwen3_vl"), through a view of
the checkpoint whose weights are links to the originals; and its console output is kept off
the user's terminal.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from pathlib import Path
from typing import Any

from .errors import ConversionCancelled, ConversionError, MissingDependencyError
from .events import ConversionProgress, ProgressCallback

MLX_VL_DTYPES = {"bf16": ("bfloat16", None), "f32": ("float32", None), "8bit": ("bfloat16", 8),
                 "4bit": ("bfloat16", 4)}


def translate_config(config: dict[str, Any]) -> dict[str, Any]:
    """A transformers-5.x Qwen3-VL config in the 4.57 keys mlx-vlm reads (a 4.57 config comes back unchanged)."""
    config = json.loads(json.dumps(config))
    text = config.get("text_config") or {}
    rope = text.pop("rope_parameters", None)
    if isinstance(rope, dict):
        if "rope_theta" in rope:
            text.setdefault("rope_theta", rope["rope_theta"])
        scaling = {k: v for k, v in rope.items() if k != "rope_theta"}
        text.setdefault("rope_scaling", scaling)
    vision = config.get("vision_config") or {}
    if vision.get("model_type") == "qwen3_vl_vision":
        vision["model_type"] = "qwen3_vl"
    return config


def write_qwen3vl_mlx(src: Path, dst: Path, *, quant: str, group_size: int, progress: ProgressCallback | None,
                      cancel: threading.Event | None) -> None:
    """Write the MLX folder at `dst` (which must not exist yet; the caller makes it atomic)."""
    try:
        from mlx_vlm.convert import convert as mlx_vlm_convert
    except ImportError as exc:
        raise MissingDependencyError("MLX output for Qwen3-VL needs mlx-vlm: please install it "
                                     "(pip install mlx-vlm)") from exc
    dtype, bits = MLX_VL_DTYPES[quant]
    _check_cancel(cancel)
    view = dst.with_name(dst.name + ".source")
    view.mkdir()
    try:
        for item in src.iterdir():
            if item.name != "config.json" and item.is_file():
                (view / item.name).symlink_to(item)
        config = json.loads((src / "config.json").read_text(encoding="utf-8"))
        (view / "config.json").write_text(json.dumps(translate_config(config), indent=2), encoding="utf-8")
        if progress is not None:
            progress(ConversionProgress("convert", 0, 1, 0, 1, "mlx-vlm"))
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                mlx_vlm_convert(str(view), str(dst), quantize=bits is not None, q_bits=bits or 4,
                                q_group_size=group_size, dtype=dtype)
            except (ValueError, KeyError, OSError) as exc:
                raise ConversionError(f"{src}: mlx-vlm could not convert this checkpoint: {exc}") from exc
    finally:
        for item in view.iterdir():
            item.unlink()
        view.rmdir()
    (dst / "README.md").unlink(missing_ok=True)  # mlx-vlm's model card for Hub uploads, not for this folder
    _check_cancel(cancel)
    if progress is not None:
        progress(ConversionProgress("convert", 1, 1, 1, 1, "mlx-vlm"))


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ConversionCancelled("Conversion cancelled; no output was written.")
