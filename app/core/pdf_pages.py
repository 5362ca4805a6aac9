"""A PDF page as pixels, with the places where a cited text stands on it (Qt-free; the window paints them).

The cited chunk is text the library extracted and normalised, so it is found on the page by
searching PDFium's own text layer for its lines, not by character offsets: a line the text
layer spells differently (a scanned page, odd font maps) is simply not marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IpponError
from ..locale import _
from .sources.base import ParseError
from .sources.pdf import _PDFIUM_LOCK  # PDFium is not thread-safe: the ingest's lock is shared by all callers
from .sources.reading import open_regular_file

MIN_PIECE_CHARS = 4  # shorter pieces match in too many places to mark the citation
MAX_PIECES = 40
MAX_PAGE_PIXELS = 4000  # the longer side of a rendered page, whatever the page size says


class PdfPageError(IpponError):
    """The page cannot be rendered (the file went away, is damaged or has fewer pages)."""


@dataclass(frozen=True, slots=True)
class RenderedPage:
    width: int
    height: int
    stride: int  # bytes per row
    rgb: bytes  # 3 bytes a pixel, red first
    marks: list[tuple[int, int, int, int]] = field(default_factory=list)  # left, top, right, bottom in pixels
    pieces_found: int = 0
    pieces_searched: int = 0


def text_pieces(text: str) -> list[str]:
    """The lines of a cited text worth searching for (long enough to be specific), longest first."""
    pieces = {line.strip() for line in text.splitlines() if len(line.strip()) >= MIN_PIECE_CHARS}
    return sorted(pieces, key=len, reverse=True)[:MAX_PIECES]


def render_page(path: str | Path, page: int, *, find: str = "", scale: float = 1.5) -> RenderedPage:
    """Page `page` (1-based) of the PDF at `path`, with the rectangles of `find`'s lines on it."""
    import pypdfium2 as pdfium

    try:
        # Read here, not by PDFium from the path: a file replaced by a FIFO since it was indexed
        # must fail at once, not block while holding the lock the ingest's PDF parser needs.
        with open_regular_file(path) as file:
            data = file.read(file.size)
    except ParseError as exc:
        raise PdfPageError(str(exc)) from None
    except OSError as exc:
        raise PdfPageError(_("{path}: cannot show the page: {reason}").format(path=path, reason=exc)) from exc
    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise PdfPageError(_("{path}: cannot show the page: {reason}").format(path=path, reason=exc)) from exc
        try:
            if not 1 <= page <= len(pdf):
                raise PdfPageError(_("{path}: has no page {page}").format(path=path, page=page))
            pdf_page = pdf[page - 1]
            width_pt, height_pt = pdf_page.get_size()
            scale = min(scale, MAX_PAGE_PIXELS / max(width_pt, height_pt, 1))
            bitmap = pdf_page.render(scale=scale, rev_byteorder=True)
            array = bitmap.to_numpy()
            marks, found, pieces = _find_marks(pdf_page, text_pieces(find), scale=scale, height_pt=height_pt)
            rgb = array[:, :, :3].copy(order="C")
            return RenderedPage(rgb.shape[1], rgb.shape[0], rgb.strides[0], rgb.tobytes(), marks, found, len(pieces))
        except pdfium.PdfiumError as exc:
            raise PdfPageError(_("{path}: cannot show the page: {reason}").format(path=path, reason=exc)) from exc
        finally:
            pdf.close()


def _find_marks(pdf_page, pieces: list[str], *, scale: float, height_pt: float):  # noqa: ANN001, ANN202
    textpage = pdf_page.get_textpage()
    marks: list[tuple[int, int, int, int]] = []
    found = 0
    try:
        for piece in pieces:
            searcher = textpage.search(piece, match_case=False)
            hit = searcher.get_next()
            if hit is None:
                continue
            found += 1
            start, count = hit
            for i in range(textpage.count_rects(start, count)):
                left, bottom, right, top = textpage.get_rect(i)
                marks.append((int(left * scale), int((height_pt - top) * scale),
                              int(right * scale) + 1, int((height_pt - bottom) * scale) + 1))
    finally:
        textpage.close()
    return marks, found, pieces
