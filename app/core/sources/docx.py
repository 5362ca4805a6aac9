"""Word (.docx) through python-docx: paragraphs under their headings, tables as their own sections.

Body paragraphs and tables are read in document order. Consecutive paragraphs under one
heading make one section (the heading paragraph first); a table is a kind="table" section
of tab-separated cells, one row per line. Headers, footers, comments and text boxes are
not read.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from ...locale import _
from .base import ParsedDocument, ParseError, Section
from .reading import unify_newlines
from .ziparchive import check_zip_contents

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a Compound File: Word 97-2003, or an encrypted OOXML file
_HEADING_STYLE = re.compile(r"^heading (\d)$", re.I)
# python-docx takes about 0.1 ms per paragraph: past this many (a 3,000-page book has ~60,000),
# the rest of a document made of millions of tiny paragraphs is not read, with a warning.
MAX_BLOCKS = 100_000


def parse(path: Path, data: bytes) -> ParsedDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    if data.startswith(_OLE_MAGIC):
        raise ParseError(_("{path}: is encrypted (password-protected) or in the old Word 97-2003 format")
                         .format(path=path))
    check_zip_contents(path, data)  # before the parser inflates anything
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError):
        raise ParseError(_("{path}: is damaged or not a Word document").format(path=path)) from None

    sections: list[Section] = []
    paragraphs: list[str] = []
    stack: list[tuple[int, str]] = []

    def heading() -> str | None:
        return " > ".join(t for _, t in stack) or None

    def flush() -> None:
        text = "\n".join(paragraphs).strip("\n")
        if text.strip():
            sections.append(Section(text, heading=heading()))
        paragraphs.clear()

    style_levels: dict[str | None, int | None] = {}
    warnings: list[str] = []
    for count, block in enumerate(document.iter_inner_content()):
        if count == MAX_BLOCKS:
            warnings.append(_("only the first {count} paragraphs and tables were read").format(
                count=f"{MAX_BLOCKS:,}"))
            break
        if isinstance(block, Table):
            flush()
            text = _table_text(block)
            if text.strip():
                sections.append(Section(text, heading=heading(), kind="table"))
            continue
        text = unify_newlines(block.text)
        level = _heading_level(block, style_levels)
        if level is not None and text.strip():
            flush()
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, " ".join(text.split())))
        paragraphs.append(text)
    flush()
    title = (document.core_properties.title or "").strip() or None
    return ParsedDocument(path, "docx", sections, title=title, warnings=warnings)


def _heading_level(paragraph, cache: dict[str | None, int | None]) -> int | None:
    """1-9 for "Heading N" paragraphs, 0 for "Title", None for body text.

    Word stores the English names of built-in styles even in a Japanese Word ("見出し 1" on
    screen is "heading 1" in the file); a custom style counts when it sets an outline level.
    """
    level = _outline_level(paragraph._p)
    if level is not None:
        return level
    # python-docx looks a paragraph's style up among all the document's styles on every access:
    # remember each style's level, once per document.
    style_id = paragraph._p.style
    if style_id not in cache:
        cache[style_id] = _style_level(paragraph.style)
    return cache[style_id]


def _style_level(style) -> int | None:
    while style is not None:
        name = (style.name or "").strip()
        if name.lower() == "title":
            return 0
        if m := _HEADING_STYLE.match(name):
            return int(m.group(1))
        level = _outline_level(style.element)
        if level is not None:
            return level
        style = style.base_style
    return None


def _outline_level(element) -> int | None:
    from docx.oxml.ns import qn

    ppr = element.find(qn("w:pPr"))
    node = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
    value = node.get(qn("w:val")) if node is not None else None
    # Level 9 means "body text" in Word's outline.
    return int(value) + 1 if value is not None and value.isdigit() and int(value) < 9 else None


def _table_text(table) -> str:
    rows = []
    for row in table.rows:
        cells, seen = [], {}
        for cell in row.cells:
            # A merged cell comes once per grid column it spans. Keyed by id, holding the element so
            # the id stays its own (a list searched per cell was quadratic in a row of 10,000 cells).
            if id(cell._tc) in seen:
                continue
            seen[id(cell._tc)] = cell._tc
            cells.append(" ".join(unify_newlines(cell.text).split("\n")).strip())
        if any(cells):
            rows.append("\t".join(cells))
    return "\n".join(rows)
