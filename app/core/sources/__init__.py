"""The Library's parsers: one module per format, chosen by the file's suffix.

The module is the plugin: `_FORMATS` maps a suffix to a module name in this package, and
`parse_file` imports it on first use, so the heavy libraries (pypdfium2, python-docx,
python-pptx, Pillow) load only when a file of their format turns up. A module exposes
`parse(path, data) -> ParsedDocument` (the image module also takes `ocr`), gets the file's
bytes from `parse_file`, and raises ParseError for files it cannot read.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from ...locale import _
from .base import ImageInfo, ParsedDocument, ParseError, Section
from .reading import read_bytes

__all__ = ["PARSER_VERSION", "SUPPORTED_SUFFIXES", "ImageInfo", "ParseError", "ParsedDocument", "Section",
           "format_for", "parse_file"]

# Stored with every indexed file: raising it makes the next ingest parse every file again.
PARSER_VERSION = 1

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".tiff", ".tif")
# HEIC (iPhone photos) needs the optional pillow-heif; without it those files are unknown, not failures.
_HEIF_SUFFIXES = (".heic", ".heif") if importlib.util.find_spec("pillow_heif") else ()

# suffix -> (module in this package, format name stored in ParsedDocument.format)
_FORMATS: dict[str, tuple[str, str]] = {
    ".txt": ("text", "txt"),
    ".md": ("markdown", "md"),
    ".markdown": ("markdown", "md"),
    ".html": ("html", "html"),
    ".htm": ("html", "html"),
    ".pdf": ("pdf", "pdf"),
    ".docx": ("docx", "docx"),
    ".pptx": ("pptx", "pptx"),
    ".csv": ("csv", "csv"),
    ".tsv": ("csv", "tsv"),
    **{suffix: ("image", "image") for suffix in _IMAGE_SUFFIXES + _HEIF_SUFFIXES},
}

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_FORMATS)


def format_for(path: Path) -> str | None:
    """The format name for `path` by its suffix, or None when Ippon does not read that type."""
    entry = _FORMATS.get(Path(path).suffix.lower())
    return entry[1] if entry else None


def parse_file(path: Path, *, max_bytes: int = 200 * 2**20, ocr: bool = True) -> ParsedDocument:
    """Parse one file; ParseError (naming the file and the reason) when it cannot be read."""
    path = Path(path)
    entry = _FORMATS.get(path.suffix.lower())
    if entry is None:
        raise ParseError(_("{path}: {suffix} is not a supported file type").format(path=path, suffix=path.suffix)
                         if path.suffix else _("{path}: a file without a suffix is not a supported file type")
                         .format(path=path))
    module_name, fmt = entry
    module = importlib.import_module(f"{__name__}.{module_name}")
    data = read_bytes(path, max_bytes=max_bytes)
    try:
        return module.parse(path, data, ocr=ocr) if fmt == "image" else module.parse(path, data)
    except ParseError:
        raise
    except MemoryError:
        raise ParseError(_("{path}: ran out of memory while reading").format(path=path)) from None
    except RecursionError:
        raise ParseError(_("{path}: is nested too deeply to read").format(path=path)) from None
    except Exception as exc:  # noqa: BLE001 — a library choking on a malformed file must not stop an ingest
        raise ParseError(_("{path}: could not be read as {format} ({reason})").format(
            path=path, format=fmt, reason=f"{type(exc).__name__}: {exc}")) from exc
