"""Every parser reads its file through here, so size limits and OS errors read the same for all formats.

The file is read once, whole, into memory (bounded by `max_bytes`); parsers then work on the
bytes. The size is checked before reading so a huge file costs nothing, and again after,
since a file can grow or shrink between the two. Only regular files are ever opened: a FIFO
would block the reader forever and a link to /dev/zero would never end.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ...locale import _
from .base import ParseError
from .encoding import DecodedText, NotTextError, decode_text

# O_NONBLOCK: a file swapped for a FIFO between the check and the open must not block the open
# (it changes nothing for a regular file); O_NOCTTY: a terminal device never becomes ours.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def not_regular_reason(mode: int) -> str | None:
    """Why a file of this st_mode must not be opened (a FIFO blocks, /dev/zero never ends), or None."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return _("is a folder, not a file")
    if stat.S_ISFIFO(mode):
        return _("not a regular file (a FIFO)")
    if stat.S_ISCHR(mode):
        return _("not a regular file (a character device)")
    if stat.S_ISBLK(mode):
        return _("not a regular file (a block device)")
    if stat.S_ISSOCK(mode):
        return _("not a regular file (a socket)")
    return _("not a regular file")


@dataclass(frozen=True, slots=True)
class OpenRegularFile:
    fd: int  # open for reading; closed when the `with` block ends
    size: int  # st_size of the open file

    def read(self, limit: int) -> bytes:
        """Up to `limit` bytes from the current position (fewer at the end of the file)."""
        parts, total = [], 0
        want = min(limit, self.size + 1)  # one read takes a file that did not grow
        while total < limit and (block := os.read(self.fd, want)):
            parts.append(block)
            total += len(block)
            want = min(limit - total, 1 << 20)
        return b"".join(parts)


@contextmanager
def open_regular_file(path: str | Path, *, just_listed: bool = False) -> Iterator[OpenRegularFile]:
    """Open `path` for reading only if it is a regular file, checked again on the open descriptor.

    Raises ParseError naming the file and the reason. Nothing here can block: the kind is checked
    before the open (`just_listed`: the caller's own stat just did), the open does not wait for a
    FIFO's writer, and the descriptor is checked after, so a swap in between is caught too. The
    system calls are those of a plain open(): open and fstat.
    """
    if not just_listed:
        try:
            reason = not_regular_reason(os.stat(path).st_mode)
        except FileNotFoundError:
            raise ParseError(_("{path}: does not exist").format(path=path)) from None
        except OSError as exc:
            raise _os_error(path, exc) from None
        if reason is not None:
            raise ParseError(_("{path}: {reason}").format(path=path, reason=reason))
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise ParseError(_("{path}: disappeared while reading").format(path=path)) from None
    except OSError as exc:
        raise _os_error(path, exc) from None
    try:
        try:
            st = os.fstat(fd)
        except OSError as exc:
            raise _os_error(path, exc) from None
        reason = not_regular_reason(st.st_mode)
        if reason is not None:
            raise ParseError(_("{path}: {reason}").format(path=path, reason=reason))
        yield OpenRegularFile(fd, st.st_size)
    finally:
        os.close(fd)


def _os_error(path: str | Path, exc: OSError) -> ParseError:
    if isinstance(exc, PermissionError):
        return ParseError(_("{path}: permission denied").format(path=path))
    return ParseError(_("{path}: could not be read ({reason})").format(path=path, reason=exc.strerror or exc))


def read_bytes(path: Path, *, max_bytes: int) -> bytes:
    with open_regular_file(path) as f:
        _check_size(path, f.size, max_bytes)
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise _os_error(path, exc) from None
    _check_size(path, len(data), max_bytes)
    return data


def decode_file_text(path: Path, data: bytes, *, declared: str | None = None) -> DecodedText:
    """The file's text with newlines made "\\n"; see encoding.py for how the encoding is found."""
    try:
        decoded = decode_text(data, declared=declared)
    except NotTextError as exc:
        raise ParseError(_("{path}: is binary, not text ({reason})").format(path=path, reason=exc)) from None
    return DecodedText(unify_newlines(decoded.text), decoded.encoding, decoded.warnings)


def unify_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size == 0:
        raise ParseError(_("{path}: is empty").format(path=path))
    if size > max_bytes:
        raise ParseError(_("{path}: is too large ({size}; the limit is {limit})").format(
            path=path, size=human_size(size), limit=human_size(max_bytes)))


def human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if n < 1024:
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f}".removesuffix(".0") + f" {unit}"
        n /= 1024
    return f"{n:.1f}".removesuffix(".0") + " GB"
