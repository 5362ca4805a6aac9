"""Read a GGUF file's leading scalar metadata without loading the model.

`gguf.GGUFReader` parses every field (6 s for a 151k-token vocabulary) and llama.cpp must
load the model; the kind and context checks need only the first few keys, which both
llama.cpp's converter and Ippon's write before the tokenizer arrays.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from ..errors import WrongModelError

# GGUF value types -> struct format of one scalar (8 = string, 9 = array).
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


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


def _value(fh: BinaryIO, vtype: int) -> object:
    if vtype == _STRING:
        return _string(fh)
    if vtype == _ARRAY:
        item_type, count = _unpack(fh, "I"), _unpack(fh, "Q")
        if item_type in _SCALARS:
            fh.seek(count * struct.calcsize("<" + _SCALARS[item_type]), 1)
        else:
            for _ in range(count):
                _value(fh, item_type)
        return None
    if vtype not in _SCALARS:
        raise ValueError(f"unknown value type {vtype}")
    return _unpack(fh, _SCALARS[vtype])
