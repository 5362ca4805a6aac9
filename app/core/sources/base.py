"""What a parser gives back: a document as ordered sections, each with its place (page, slide, heading).

One module per format in this package turns a file into a `ParsedDocument`; chunking and
storage never look at formats. Parsers keep the original text (for display); the search
text is derived later (NFKC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from ...errors import IpponError

SectionKind = Literal["text", "table", "notes", "image"]


class ParseError(IpponError):
    """A file that cannot be read as its format; the message names the file and the reason."""


@dataclass(frozen=True, slots=True)
class Section:
    text: str
    page: int | None = None  # 1-based PDF page
    slide: int | None = None  # 1-based PPTX slide
    heading: str | None = None  # the headings above this text, outermost first, joined by " > "
    kind: SectionKind = "text"


@dataclass(frozen=True, slots=True)
class ImageInfo:
    width: int
    height: int
    taken_at: datetime | None  # EXIF DateTimeOriginal (or DateTime)
    description: str  # EXIF ImageDescription / XPComment / XPTitle when present, else ""
    thumbnail_png: bytes  # at most 256 px on the longer side
    ocr_text: str | None  # None when no OCR engine ran


@dataclass(slots=True)
class ParsedDocument:
    path: Path
    format: str  # "txt", "md", "html", "pdf", "docx", "pptx", "csv", "tsv", "image"
    sections: list[Section]
    title: str | None = None
    encoding: str | None = None  # for text formats: the detected encoding
    image: ImageInfo | None = None
    warnings: list[str] = field(default_factory=list)  # not failures: e.g. "no OCR engine"

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections if s.text)
