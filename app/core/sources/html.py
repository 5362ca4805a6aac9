"""HTML (.html, .htm): the visible text, cut into sections at h1–h6, with <title> as the title.

The standard library's tolerant html.parser is enough here: only text, headings and block
boundaries are needed, not a DOM. Whitespace is collapsed as a browser would, except in
<pre>; a line break between two Japanese characters is dropped rather than made a space,
since Japanese puts no spaces between words. Table rows become lines with tab-separated cells.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from .base import ParsedDocument, Section
from .reading import decode_file_text

# Not shown as text: code, styles, inert templates, fallbacks, embedded objects, icon graphics.
_SKIPPED = {"script", "style", "template", "noscript", "svg", "iframe", "object", "canvas", "select"}
_BLOCKS = {"address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog", "div",
           "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr", "html",
           "legend", "li", "main", "nav", "ol", "p", "section", "summary", "table", "ul"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Private-use stand-ins for <br> and cell breaks, so whitespace collapsing cannot eat them.
_BR, _CELL = "\ue000", "\ue001"
_WIDE = r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff01-\uff60]"
_WIDE_NEWLINE = re.compile(rf"(?<={_WIDE})[ \t\f\r]*\n\s*(?={_WIDE})")
_SPACES = re.compile(r"[ \t\n\r\f]+")
_AROUND_BREAKS = re.compile(rf" *([{_BR}{_CELL}]) *")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)


def parse(path: Path, data: bytes) -> ParsedDocument:
    m = _META_CHARSET.search(data[:4096])
    decoded = decode_file_text(path, data, declared=m.group(1).decode("ascii") if m else None)
    extractor = _TextExtractor()
    extractor.feed(_inert_tail(decoded.text))
    extractor.close()
    return ParsedDocument(path, "html", extractor.sections, title=extractor.title,
                          encoding=decoded.encoding, warnings=list(decoded.warnings))


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.title: str | None = None
        self._blocks: list[str] = []  # finished paragraphs of the current section
        self._parts: list[str] = []  # text of the paragraph being read
        self._headings: list[tuple[int, str]] = []  # the open outline: (level, text)
        self._heading_level = 0  # inside <hN> when > 0
        self._skip = 0
        self._pre = 0
        self._table = 0
        self._in_title = False
        self._title_parts: list[str] = []
        self._row_has_cell = False

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self._skip += 1
        elif self._skip:
            return
        elif tag == "title":
            self._in_title = True
        elif tag in _HEADINGS:
            self._end_heading()
            self._end_section()
            self._heading_level = int(tag[1])
        elif tag == "pre":
            self._end_block()
            self._pre += 1
        elif tag == "br":
            self._parts.append(_BR)
        elif tag == "tr" and self._table:
            if self._parts:
                self._parts.append(_BR)
            self._row_has_cell = False
        elif tag in ("td", "th") and self._table:
            if self._row_has_cell:
                self._parts.append(_CELL)
            self._row_has_cell = True
        elif tag in _BLOCKS and not self._table:
            self._end_heading()
            self._end_block()
        if tag == "table":
            self._table += 1

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif self._skip:
            return
        elif tag == "title":
            self._in_title = False
            self.title = _collapse("".join(self._title_parts)) or self.title
        elif tag in _HEADINGS:
            self._end_heading()
        elif tag == "pre" and self._pre:
            self._end_block()
            self._pre -= 1
        elif tag == "table" and self._table:
            self._table -= 1
            if not self._table:
                self._end_block()
        elif tag in _BLOCKS and not self._table:
            self._end_block()

    def handle_data(self, data):
        if self._skip:
            return
        if self._in_title:
            self._title_parts.append(data)
        else:
            self._parts.append(data)

    def close(self):
        super().close()
        self._end_heading()
        self._end_section()

    def _end_heading(self):
        if not self._heading_level:
            return
        text = _collapse("".join(self._parts)).replace(_BR, " ").replace(_CELL, " ").strip()
        level, self._heading_level = self._heading_level, 0
        while self._headings and self._headings[-1][0] >= level:
            self._headings.pop()
        if text:
            self._headings.append((level, text))
        self._end_block()

    def _end_block(self):
        raw = "".join(self._parts)
        self._parts = []
        if self._pre:
            text = raw.removeprefix("\n").rstrip()  # a browser drops the newline right after <pre>
        else:
            text = _collapse(raw)
        text = text.replace(_BR, "\n").replace(_CELL, "\t").strip("\n")
        if text.strip():
            self._blocks.append(text)

    def _end_section(self):
        self._end_block()
        if self._blocks:
            heading = " > ".join(t for _, t in self._headings) or None
            self.sections.append(Section("\n\n".join(self._blocks), heading=heading))
        self._blocks = []


def _inert_tail(text: str) -> str:
    """Every "<" after the last ">" written as "&lt;": none of them can open a tag, and html.parser
    looks for a ">" through the rest of the document at each one (minutes for 1 MB of "</").
    The text is the same, since the parser ends up giving such a tail as text anyway."""
    last = text.rfind(">")
    if text.find("<", last + 1) < 0:
        return text
    return text[:last + 1] + text[last + 1:].replace("<", "&lt;")


def _collapse(raw: str) -> str:
    text = _SPACES.sub(" ", _WIDE_NEWLINE.sub("", raw))
    return _AROUND_BREAKS.sub(r"\1", text).strip(" ")
