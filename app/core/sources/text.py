"""Plain text (.txt): the whole file as one section; chunking finds the sentences."""

from __future__ import annotations

from pathlib import Path

from .base import ParsedDocument, Section
from .reading import decode_file_text


def parse(path: Path, data: bytes) -> ParsedDocument:
    decoded = decode_file_text(path, data)
    sections = [Section(decoded.text)] if decoded.text.strip() else []
    return ParsedDocument(path, "txt", sections, encoding=decoded.encoding, warnings=list(decoded.warnings))
