"""Every parser reads its file through here, so size limits and OS errors read the same for all formats.

The file is read once, whole, into memory (bounded by `max_bytes`); parsers then work on the
bytes. The size is checked before reading so a huge file costs nothing, and again after,
since a file can grow or shrink between the two.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .base import ParseError
from .encoding import DecodedText, NotTextError, decode_text


def read_bytes(path: Path, *, max_bytes: int) -> bytes:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ParseError(f"{path}: does not exist") from None
    except PermissionError:
        raise ParseError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ParseError(f"{path}: could not be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ParseError(f"{path}: is a folder, not a file")
    _check_size(path, st.st_size, max_bytes)
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except PermissionError:
        raise ParseError(f"{path}: permission denied") from None
    except FileNotFoundError:
        raise ParseError(f"{path}: disappeared while reading") from None
    except OSError as exc:
        raise ParseError(f"{path}: could not be read ({exc.strerror or exc})") from None
    _check_size(path, len(data), max_bytes)
    return data


def decode_file_text(path: Path, data: bytes, *, declared: str | None = None) -> DecodedText:
    """The file's text with newlines made "\\n"; see encoding.py for how the encoding is found."""
    try:
        decoded = decode_text(data, declared=declared)
    except NotTextError as exc:
        raise ParseError(f"{path}: is binary, not text ({exc})") from None
    return DecodedText(unify_newlines(decoded.text), decoded.encoding, decoded.warnings)


def unify_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size == 0:
        raise ParseError(f"{path}: is empty")
    if size > max_bytes:
        raise ParseError(f"{path}: is too large ({human_size(size)}; the limit is {human_size(max_bytes)})")


def human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if n < 1024:
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f}".removesuffix(".0") + f" {unit}"
        n /= 1024
    return f"{n:.1f}".removesuffix(".0") + " GB"
