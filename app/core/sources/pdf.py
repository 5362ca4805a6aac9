"""PDF: the text of each page, with 1-based page numbers, through pypdfium2.

pypdfium2 binds PDFium, the PDF engine of Chrome: it maps CID fonts and ToUnicode tables
(what Japanese PDFs are made of) as well as a browser does, is fast (native code), and
ships wheels for macOS, Linux and Windows. PDFium is not thread-safe, even across separate
documents, so every call into it holds one lock.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ...locale import _
from .base import ParsedDocument, ParseError, Section
from .reading import unify_newlines

_PDFIUM_LOCK = threading.Lock()


def parse(path: Path, data: bytes) -> ParsedDocument:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
                raise ParseError(_("{path}: is encrypted (password-protected)").format(path=path)) from None
            raise ParseError(_("{path}: is damaged or not a PDF").format(path=path)) from None
        try:
            title = (pdf.get_metadata_dict(skip_empty=True).get("Title") or "").strip() or None
            sections = []
            for index in range(len(pdf)):
                text = _page_text(pdf, index)
                if text.strip():
                    sections.append(Section(text, page=index + 1))
        except pdfium.PdfiumError as exc:
            raise ParseError(_("{path}: is damaged or not a PDF ({reason})").format(path=path, reason=exc)) from None
        finally:
            pdf.close()
    warnings = [] if sections else ["no text layer (scanned?)"]
    return ParsedDocument(path, "pdf", sections, title=title, warnings=warnings)


def _page_text(pdf, index: int) -> str:
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    # PDFium ends lines with \r\n and marks hyphenation points it removed with U+FFFE/U+0002.
    return unify_newlines(text).replace("\ufffe", "").replace("\x02", "").replace("\x00", "").strip("\n")
