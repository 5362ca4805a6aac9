"""float32 rows -> F16 / Q8_0 through ggml's own CPU kernels, which llama-cpp-python ships.

They are the SIMD routines llama.cpp itself runs (`ggml_get_type_traits_cpu(type)->from_float`),
about 10x faster than the `gguf` package's numpy quantizers. Q8_0 may differ from the numpy
reference in about one byte per million, on exact rounding ties; both are valid Q8_0.
When the library cannot be loaded, callers fall back to numpy.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np

_FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


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
                lib.ggml_cpu_init()
                return lib
            except (OSError, AttributeError):
                continue
    return None


def quantize_with_ggml(data: np.ndarray, qtype: int, block_size: int, type_size: int) -> np.ndarray | None:
    """`data` (float32, rows of whole blocks) in ggml type `qtype`, or None if unavailable."""
    lib = _ggml_cpu()
    if lib is None:
        return None
    from_float = lib.ggml_get_type_traits_cpu(int(qtype)).contents.from_float
    if not from_float:
        return None
    src = np.ascontiguousarray(data, dtype=np.float32)
    out = np.empty(src.size // block_size * type_size, dtype=np.uint8)
    from_float(src.ctypes.data, out.ctypes.data, src.size)  # ctypes releases the GIL meanwhile
    return out
