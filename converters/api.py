"""The converters' one entry point: `convert(src, to=..., out=...)`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import ModelKind, open_checkpoint
from .errors import ConversionError
from .events import ProgressCallback
from .gguf_convert import GGUF_TYPES, gguf_output_bytes, write_gguf
from .mlx_convert import MLX_QUANTS, mlx_output_bytes, write_mlx
from .output import atomic_output, check_destination
from .qwen3vl import is_qwen3vl_checkpoint
from .qwen3vl_convert import convert_qwen3vl
from .verify import VerificationReport, verify_conversion

FORMATS = ("gguf", "mlx")


@dataclass(frozen=True, slots=True)
class ConversionResult:
    output: Path
    format: str
    quant: str
    kind: ModelKind
    output_bytes: int
    seconds: float
    verification: VerificationReport | None = None
    kind_evidence: str = "given"  # what told the kind apart when it was not given
    projector: Path | None = None  # a Qwen3-VL model's mmproj-X.gguf, written beside X.gguf


def convert(src: str | Path, *, to: str, out: str | Path, quant: str | None = None, group_size: int = 64,
            kind: ModelKind | str | None = None, force: bool = False, verify: bool = False,
            progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> ConversionResult:
    """Convert the Hugging Face Qwen3 checkpoint at `src` to GGUF or MLX at `out`.

    `quant`: for GGUF one of f32, f16 (default), bf16, q8_0, q4_k_m, q5_k_m, q6_k; for MLX
    4bit or 8bit, or None to keep bfloat16. With `verify`, the result is compared with the
    reference implementation before it is moved into place; a failing check leaves nothing.
    """
    started = time.perf_counter()
    fmt = to.lower()
    if fmt not in FORMATS:
        raise ConversionError(f"unknown output format {to!r}; choose gguf or mlx")
    out_path = Path(out).expanduser().absolute()
    if is_qwen3vl_checkpoint(src):
        return convert_qwen3vl(src, to=fmt, out=out_path, quant=quant, group_size=group_size, kind=kind, force=force,
                               verify=verify, progress=progress, cancel=cancel)
    check_destination(out_path, force=force)
    ckpt = open_checkpoint(src, kind=kind)
    if fmt == "gguf":
        qname = (quant or "f16").lower()
        if qname not in GGUF_TYPES:
            raise ConversionError(f"unknown GGUF type {quant!r}; choose one of {', '.join(GGUF_TYPES)}")
        needed = gguf_output_bytes(ckpt, qname)
    else:
        qname = (quant or "bf16").lower()
        if qname not in MLX_QUANTS:
            raise ConversionError(f"unknown MLX quantization {quant!r}; choose 4bit or 8bit (or none for bf16)")
        if group_size not in (32, 64, 128):
            raise ConversionError(f"MLX group size must be 32, 64 or 128, not {group_size}")
        needed = mlx_output_bytes(ckpt, qname, group_size)

    report: VerificationReport | None = None
    with atomic_output(out_path, force=force, needed_bytes=needed, is_dir=fmt == "mlx") as tmp:
        if fmt == "gguf":
            write_gguf(ckpt, tmp, quant=qname, progress=progress, cancel=cancel)
        else:
            write_mlx(ckpt, tmp, quant=qname, group_size=group_size, progress=progress, cancel=cancel)
        if verify:
            report = verify_conversion(ckpt, tmp, fmt=fmt, quant=qname, progress=progress)
            report.raise_if_failed(out_path)
    size = sum(p.stat().st_size for p in out_path.rglob("*")) if out_path.is_dir() else out_path.stat().st_size
    return ConversionResult(out_path, fmt, qname, ckpt.kind, size, time.perf_counter() - started, report,
                            ckpt.kind_evidence)
