"""PowerPoint (.pptx) through python-pptx: one section per slide, speaker notes beside it.

A slide's section starts with its title (also its heading), then the text of every other
shape, tables as tab-separated rows, groups opened. Shapes are taken in the slide's own
order, which is the reading order PowerPoint gives screen readers. Notes are a separate
kind="notes" section with the same slide number, so an answer can cite "slide 3 (notes)".
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ...locale import _
from .base import ParsedDocument, ParseError, Section
from .reading import unify_newlines
from .ziparchive import check_zip_contents

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a Compound File: PowerPoint 97-2003, or an encrypted file


def parse(path: Path, data: bytes) -> ParsedDocument:
    from pptx import Presentation
    from pptx.exc import PythonPptxError

    if data.startswith(_OLE_MAGIC):
        raise ParseError(_("{path}: is encrypted (password-protected) or in the old PowerPoint 97-2003 format")
                         .format(path=path))
    check_zip_contents(path, data)  # before the parser inflates anything
    try:
        presentation = Presentation(io.BytesIO(data))
    except (zipfile.BadZipFile, PythonPptxError, KeyError, ValueError):
        raise ParseError(_("{path}: is damaged or not a PowerPoint presentation").format(path=path)) from None

    sections = []
    for number, slide in enumerate(presentation.slides, start=1):
        title_shape = slide.shapes.title
        title = _clean(title_shape.text_frame.text) if title_shape is not None and title_shape.has_text_frame else ""
        texts = [title] if title.strip() else []
        title_id = title_shape.shape_id if title_shape is not None else None
        texts += [t for shape in slide.shapes if shape.shape_id != title_id for t in _shape_texts(shape)]
        text = "\n".join(t for t in texts if t.strip())
        heading = " ".join(title.split()) or None
        if text:
            sections.append(Section(text, slide=number, heading=heading))
        notes = _notes(slide)
        if notes:
            sections.append(Section(notes, slide=number, heading=heading, kind="notes"))
    title = (presentation.core_properties.title or "").strip() or None
    return ParsedDocument(path, "pptx", sections, title=title)


def _shape_texts(shape) -> list[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        return [t for child in shape.shapes for t in _shape_texts(child)]
    if shape.has_text_frame:
        return [_clean(shape.text_frame.text)]
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = ("\t".join(" ".join(_clean(cell.text).split("\n")).strip() for cell in row.cells)
                for row in shape.table.rows)
        return ["\n".join(row for row in rows if row.strip())]
    return []


def _notes(slide) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return _clean(frame.text).strip() if frame is not None else ""


def _clean(text: str) -> str:
    # python-pptx renders a line break inside a paragraph (<a:br>) as a vertical tab.
    return unify_newlines(text).replace("\v", "\n")
