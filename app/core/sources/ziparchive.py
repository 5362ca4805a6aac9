"""Zip-based formats (.docx, .pptx, and any added later): the contents are checked before parsing.

The file size limit applies to the compressed file, and deflate shrinks a run of one byte about
a thousand times: a 5 MB .docx can hold a 5 GB document.xml, which the parsers would inflate
into memory whole. So before a parser sees the bytes, the archive's directory is checked (how
many members, how large each says it is uncompressed, the ratio), and then every member is
inflated once, in small blocks, with a byte cap: a header that lies about a size is caught
without ever holding more than one block.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ...locale import _
from .base import ParseError
from .reading import human_size


@dataclass(frozen=True, slots=True)
class ZipLimits:
    max_members: int = 20_000
    # All members together, uncompressed; at least twice the archive itself, so media-heavy
    # files (pictures are stored, not shrunk) are never refused for their pictures.
    max_total: int = 256 * 2**20
    # One XML part, uncompressed: the parsers build a tree of it in memory.
    max_xml_part: int = 64 * 2**20
    # Compression ratio of one XML part, counted only above `ratio_floor` bytes: real Office XML
    # shrinks 5-30 times, a bomb about 1,000 times.
    max_ratio: int = 200
    ratio_floor: int = 2**20


_BLOCK = 1 << 20


def check_zip_contents(path: Path, data: bytes, *, limits: ZipLimits = ZipLimits()) -> None:
    """Raise ParseError (naming the file and the reason) when the archive would inflate beyond the limits.

    A file that is not a zip archive at all passes: the parser says what is wrong with it.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise ParseError(_("{path}: compressed contents too large ({count} parts inside; the limit is "
                               "{limit})").format(path=path, count=len(members), limit=limits.max_members))
        max_total = max(limits.max_total, 2 * len(data))
        declared = 0
        for member in members:
            declared += member.file_size
            _check_member(path, member, member.file_size, limits)
            if declared > max_total:
                raise _too_large(path, declared, max_total)
        inflated = 0
        for member in members:
            inflated += _inflate(path, archive, member, limits, max_total - inflated)


def _check_member(path: Path, member: zipfile.ZipInfo, size: int, limits: ZipLimits) -> None:
    if not member.filename.lower().endswith((".xml", ".rels")):
        return  # pictures and other media: bounded by the total; a plain bitmap may shrink a lot
    if size > limits.max_xml_part:
        raise ParseError(_("{path}: compressed contents too large ({part} is {size} uncompressed; the limit "
                           "is {limit})").format(path=path, part=_shown(member.filename), size=human_size(size),
                                                 limit=human_size(limits.max_xml_part)))
    if size > limits.ratio_floor and size > limits.max_ratio * max(member.compress_size, 1):
        raise ParseError(_("{path}: compressed contents too large ({part} expands {ratio} times; a "
                           "decompression bomb?)").format(path=path, part=_shown(member.filename),
                                                          ratio=size // max(member.compress_size, 1)))


def _inflate(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: ZipLimits,
             budget: int) -> int:
    """Inflate one member block by block, never past its declared size or the budget; its real size."""
    cap = min(member.file_size, budget)
    size = 0
    try:
        with archive.open(member) as stream:
            while block := stream.read(_BLOCK):
                size += len(block)
                if size > cap:
                    if size > budget:
                        raise _too_large(path, size, budget)
                    raise ParseError(_("{path}: is damaged ({part} is larger than the archive says)")
                                     .format(path=path, part=_shown(member.filename)))
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
        # A bad checksum, an unknown compression method or an encrypted member: the parser would fail too.
        raise ParseError(_("{path}: is damaged ({part}: {reason})").format(
            path=path, part=_shown(member.filename), reason=str(exc)[:200])) from None
    _check_member(path, member, size, limits)
    return size


def _too_large(path: Path, size: int, limit: int) -> ParseError:
    return ParseError(_("{path}: compressed contents too large ({size} uncompressed; the limit is {limit})")
                      .format(path=path, size=human_size(size), limit=human_size(limit)))


def _shown(name: str) -> str:
    """A member name from the archive is text from a stranger: bounded, and only printable characters."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in name[:120])
