"""Read a GGUF file's leading scalar metadata without loading the model, and check a whole
file's layout (every key, every tensor's place) before it is installed.

`gguf.GGUFReader` parses every field (6 s for a 151k-token vocabulary) and llama.cpp must
load the model; the kind and context checks need only the first few keys, which both
llama.cpp's converter and Ippon's write before the tokenizer arrays. The file is untrusted:
counts are bounded by the bytes that remain, arrays nest at most MAX_ARRAY_DEPTH deep
(nothing recurses without bound) and every tensor must end inside the file.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import WrongModelError

# GGUF value types -> struct format of one scalar (8 = string, 9 = array).
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
# llama.cpp's writers nest arrays at most once; anything deeper is an attack on the reader.
MAX_ARRAY_DEPTH = 4
_MAX_DIMS = 4  # GGML_MAX_DIMS
# The fewest bytes a key-value pair (key length, one-byte key, type, one-byte value) and a
# tensor entry (name length, dims count, one dim, type, offset) can take.
_MIN_KV_BYTES, _MIN_TENSOR_BYTES = 14, 32
# Far above any real model (a Qwen3 GGUF holds about 40 keys and 400 tensors; the largest MoE
# files tens of thousands of tensors), so that a file of millions of tiny entries is refused
# instead of filling memory.
MAX_KEYS, MAX_TENSORS = 1 << 16, 1 << 20
_MAX_KEPT_STRING = 1 << 16  # longer metadata strings are checked, not kept


@dataclass(frozen=True, slots=True)
class GgufLayout:
    """What a whole-file check found: the scalar metadata, the tensors and where their data ends."""

    metadata: dict[str, object]
    tensor_count: int
    data_start: int
    data_end: int


def read_gguf_header(path: Path) -> dict[str, object]:
    """Scalar and string metadata up to the first `tokenizer.` key; arrays are skipped."""
    try:
        with open(path, "rb") as fh:
            magic, version = fh.read(4), _unpack(fh, "I")
            if magic != b"GGUF":
                raise WrongModelError(f"{path}: not a GGUF file")
            if version < 2:
                raise WrongModelError(f"{path}: GGUF version {version} is too old; convert the model again")
            _unpack(fh, "Q")  # tensor count
            n_kv = _unpack(fh, "Q")
            meta: dict[str, object] = {}
            for _ in range(n_kv):
                key = _string(fh)
                if key.startswith("tokenizer."):
                    break
                meta[key] = _value(fh, _unpack(fh, "I"))
            return meta
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise WrongModelError(f"{path}: the GGUF header is damaged ({exc})") from exc


def read_gguf_layout(path: Path) -> GgufLayout:
    """Every key and tensor entry of a GGUF file, checked against its size: a truncated file, an
    absurd count or a tensor outside the file is a WrongModelError naming the file and the reason."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            if fh.read(4) != b"GGUF":
                raise WrongModelError(f"{path}: not a GGUF file")
            version = _unpack(fh, "I")
            if version < 2:
                raise WrongModelError(f"{path}: GGUF version {version} is too old; convert the model again")
            n_tensors, n_kv = _unpack(fh, "Q"), _unpack(fh, "Q")
            if n_kv > min(MAX_KEYS, (size - fh.tell()) // _MIN_KV_BYTES):
                raise ValueError(f"it claims {n_kv} metadata keys, more than its {size} bytes can hold or any "
                                 "model has")
            meta: dict[str, object] = {}
            for _ in range(n_kv):
                key = _string(fh)
                value = _value(fh, _unpack(fh, "I"), end=size)
                if not key.startswith("tokenizer.") and not (isinstance(value, str) and len(value) > _MAX_KEPT_STRING):
                    meta[key] = value
            if n_tensors > min(MAX_TENSORS, (size - fh.tell()) // _MIN_TENSOR_BYTES):
                raise ValueError(f"it claims {n_tensors} tensors, more than its {size} bytes can hold or any "
                                 "model has")
            tensors = [_tensor_entry(fh) for _ in range(n_tensors)]
            alignment = meta.get("general.alignment", 32)
            if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
                raise ValueError(f"general.alignment {alignment!r} is not a power of two")
            data_start = -(-fh.tell() // alignment) * alignment
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise WrongModelError(f"{path}: the GGUF header is damaged ({exc})") from exc
    except OSError as exc:
        raise WrongModelError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    data_end = data_start
    for name, nbytes, offset in tensors:
        end = data_start + offset + nbytes
        if end > size:
            raise WrongModelError(f"{path}: the file is truncated: tensor {name!r} ends at byte {end} but the file "
                                  f"has {size} bytes")
        data_end = max(data_end, end)
    return GgufLayout(meta, n_tensors, data_start, data_end)


def _tensor_entry(fh: BinaryIO) -> tuple[str, int, int]:
    """(name, bytes, offset in the data section) of one tensor entry."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    name = _string(fh)
    n_dims = _unpack(fh, "I")
    if not 1 <= n_dims <= _MAX_DIMS:
        raise ValueError(f"tensor {name[:80]!r} has {n_dims} dimensions")
    dims = [_unpack(fh, "Q") for _ in range(n_dims)]
    raw_type, offset = _unpack(fh, "I"), _unpack(fh, "Q")
    try:
        block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(raw_type)]
    except (ValueError, KeyError):
        raise ValueError(f"tensor {name[:80]!r} has the unknown type {raw_type}") from None
    elements = math.prod(dims)
    if elements % block:
        raise ValueError(f"tensor {name[:80]!r} does not fill whole blocks of its type")
    return name, elements // block * type_size, offset


def _unpack(fh: BinaryIO, fmt: str) -> int:
    size = struct.calcsize("<" + fmt)
    data = fh.read(size)
    if len(data) != size:
        raise ValueError("the file ends inside its header")
    return struct.unpack("<" + fmt, data)[0]


def _string(fh: BinaryIO) -> str:
    length = _unpack(fh, "Q")
    if length > 1 << 24:
        raise ValueError(f"a string of {length} bytes")
    return fh.read(length).decode("utf-8")


def _value(fh: BinaryIO, vtype: int, *, end: int | None = None, depth: int = 0) -> object:
    if vtype == _STRING:
        return _string(fh)
    if vtype == _ARRAY:
        if depth >= MAX_ARRAY_DEPTH:
            raise ValueError(f"arrays nested more than {MAX_ARRAY_DEPTH} deep")
        item_type, count = _unpack(fh, "I"), _unpack(fh, "Q")
        if item_type in _SCALARS:
            skip = count * struct.calcsize("<" + _SCALARS[item_type])
            if end is not None and fh.tell() + skip > end:
                raise ValueError("an array runs past the end of the file")
            fh.seek(skip, 1)
        else:
            if end is not None and count > end - fh.tell():
                raise ValueError(f"an array claims {count} items, more than the file can hold")
            for _ in range(count):
                _value(fh, item_type, end=end, depth=depth + 1)
        return None
    if vtype not in _SCALARS:
        raise ValueError(f"unknown value type {vtype}")
    return _unpack(fh, _SCALARS[vtype])
