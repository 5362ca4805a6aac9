"""`convert()` for Qwen3-VL checkpoints: GGUF writes the text model and its projector, MLX the folder
mlx-vlm loads; all or nothing."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from .checkpoint import ModelKind
from .errors import ConversionError
from .events import ProgressCallback
from .gguf_convert import GGUF_TYPES, gguf_output_bytes
from .output import atomic_output, check_destination
from .qwen3vl import mmproj_path_for, open_qwen3vl_checkpoint, vision_output_bytes, write_qwen3vl_gguf
from .qwen3vl_mlx import MLX_VL_DTYPES, write_qwen3vl_mlx
from .qwen3vl_verify import verify_qwen3vl


def convert_qwen3vl(src: str | Path, *, to: str, out: Path, quant: str | None, group_size: int,
                    kind: ModelKind | str | None,
                    force: bool, verify: bool, progress: ProgressCallback | None,
                    cancel: threading.Event | None):  # noqa: ANN201 - api.ConversionResult (imported late: a cycle)
    from .api import ConversionResult

    started = time.perf_counter()
    if to == "mlx":
        return _convert_mlx(src, out=out, quant=quant, group_size=group_size, kind=kind, force=force, verify=verify,
                            progress=progress, cancel=cancel, started=started)
    qname = (quant or "f16").lower()
    if qname not in GGUF_TYPES:
        raise ConversionError(f"unknown GGUF type {quant!r}; choose one of {', '.join(GGUF_TYPES)}")
    projector = mmproj_path_for(out)
    check_destination(out, force=force)
    check_destination(projector, force=force)
    ckpt = open_qwen3vl_checkpoint(src, kind=kind)
    text_bytes = gguf_output_bytes(ckpt.text, qname)
    vision_bytes = vision_output_bytes(ckpt, "f32" if qname == "f32" else "f16")
    # The projector is renamed into place first and the text model last: a failure in between
    # leaves a projector without its model (harmless), never a model without its projector.
    report = None
    with atomic_output(out, force=force, needed_bytes=text_bytes + vision_bytes, is_dir=False) as text_tmp, \
            atomic_output(projector, force=force, needed_bytes=vision_bytes, is_dir=False) as proj_tmp:
        write_qwen3vl_gguf(ckpt, text_tmp, proj_tmp, quant=qname, progress=progress, cancel=cancel)
        if verify:
            report = verify_qwen3vl(ckpt, text_tmp, fmt="gguf", quant=qname, projector=proj_tmp, progress=progress)
            report.raise_if_failed(out)
    size = out.stat().st_size + projector.stat().st_size
    return ConversionResult(out, "gguf", qname, ckpt.kind, size, time.perf_counter() - started, report,
                            "given" if kind is not None else "folder name", projector)


def _convert_mlx(src: str | Path, *, out: Path, quant: str | None, group_size: int, kind: ModelKind | str | None,
                 force: bool, verify: bool, progress: ProgressCallback | None, cancel: threading.Event | None, started: float):
    from .api import ConversionResult

    qname = (quant or "bf16").lower()
    if qname not in MLX_VL_DTYPES:
        raise ConversionError(f"unknown MLX type {quant!r} for Qwen3-VL; choose one of {', '.join(MLX_VL_DTYPES)}")
    check_destination(out, force=force)
    ckpt = open_qwen3vl_checkpoint(src, kind=kind)  # everything checked before anything is written
    needed = ckpt.text.source_bytes + ckpt.vision.source_bytes
    with atomic_output(out, force=force, needed_bytes=needed * (2 if qname == "f32" else 1), is_dir=False) as tmp:
        write_qwen3vl_mlx(ckpt.path, tmp, quant=qname, group_size=group_size, progress=progress, cancel=cancel)
        config_path = tmp / "config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["ippon_kind"] = ckpt.kind.value  # read by Ippon's engines; mlx-vlm ignores it
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        report = None
        if verify:
            report = verify_qwen3vl(ckpt, tmp, fmt="mlx", quant=qname, progress=progress)
            report.raise_if_failed(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return ConversionResult(out, "mlx", qname, ckpt.kind, size, time.perf_counter() - started, report,
                            "given" if kind is not None else "folder name")
