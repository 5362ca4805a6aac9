"""Stored rows (BF16, F16 or F32) -> F16 / Q8_0 through ggml's own CPU kernels, which llama-cpp-python ships.

They are the SIMD routines llama.cpp itself runs (`ggml_get_type_traits_cpu(type)->from_float`,
`ggml_cpu_bf16_to_fp32`), about 10x faster than the `gguf` package's numpy quantizers. Their
Q8_0 differs from that numpy reference (what llama.cpp's own converter writes) only where a
value lands on a rounding tie, which the two break differently: measured on normally
distributed weights, about 2 values per million from float32 sources but 800-1,300 per million
from bfloat16 ones (their 8 significant bits land on ties far more often; real Qwen3 weights
are bfloat16). Every such value is one step apart and the scales are equal: both are valid
Q8_0, and the difference is far below what Q8_0 itself costs. Half-precision input is widened to float32 a cache-sized piece at a time and
quantized straight from that piece, so the float32 copy of a slice never goes through memory.
When the library cannot be loaded, callers fall back to numpy.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np

_FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
# Elements widened and quantized per kernel call: 64 KiB of float32, well inside L2, and a
# multiple of every block size (32 for Q8_0) so each piece fills whole blocks.
_PIECE = 16384


class _TypeTraitsCpu(ctypes.Structure):
    _fields_ = [("from_float", _FROM_FLOAT), ("vec_dot", ctypes.c_void_p), ("vec_dot_type", ctypes.c_int),
                ("nrows", ctypes.c_int64)]


@functools.cache
def _ggml_cpu() -> ctypes.CDLL | None:
    try:
        import llama_cpp  # loads ggml and its CPU backend the way llama-cpp-python does
    except ImportError:
        return None
    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    for candidate in sorted(lib_dir.glob("*ggml-cpu*")):
        if candidate.suffix in (".so", ".dylib", ".dll"):
            try:
                lib = ctypes.CDLL(str(candidate))
                lib.ggml_get_type_traits_cpu.restype = ctypes.POINTER(_TypeTraitsCpu)
                lib.ggml_get_type_traits_cpu.argtypes = [ctypes.c_int]
                for widen in (lib.ggml_cpu_bf16_to_fp32, lib.ggml_cpu_fp16_to_fp32):
                    widen.restype = None
                    widen.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
                lib.ggml_cpu_init()
                return lib
            except (OSError, AttributeError):
                continue
    return None


def quantize_with_ggml(data: np.ndarray, qtype: int, block_size: int, type_size: int, *,
                       bfloat16: bool = False, out: np.ndarray | None = None) -> np.ndarray | None:
    """`data` (rows of whole blocks) in ggml type `qtype`, or None if unavailable.

    `data` is float32, float16, or, with `bfloat16=True`, the uint16 bits of bfloat16 values.
    The result goes into `out` (contiguous bytes of exactly the output's size) when given, so
    it can land straight in a mapped output file.
    """
    lib = _ggml_cpu()
    if lib is None:
        return None
    from_float = lib.ggml_get_type_traits_cpu(int(qtype)).contents.from_float
    if not from_float:
        return None
    src = np.ascontiguousarray(data).reshape(-1)
    size = src.size // block_size * type_size
    if out is None:
        out = np.empty(size, dtype=np.uint8)
    elif out.nbytes != size or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"the output buffer must be {size} writable contiguous bytes")
    if src.dtype == np.float32:
        from_float(src.ctypes.data, out.ctypes.data, src.size)  # ctypes releases the GIL meanwhile
        return out
    if bfloat16 and src.dtype == np.uint16:
        widen = lib.ggml_cpu_bf16_to_fp32
    elif src.dtype == np.float16:
        widen = lib.ggml_cpu_fp16_to_fp32
    else:
        raise TypeError(f"cannot quantize {src.dtype} data (bfloat16={bfloat16})")
    piece = np.empty(min(_PIECE, src.size), dtype=np.float32)
    src_at, out_at, piece_at = src.ctypes.data, out.ctypes.data, piece.ctypes.data
    for start in range(0, src.size, _PIECE):
        n = min(_PIECE, src.size - start)
        widen(src_at + start * src.itemsize, piece_at, n)
        from_float(piece_at, out_at + start // block_size * type_size, n)
    return out
