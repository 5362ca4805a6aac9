"""Markdown (.md, .markdown): the text as written, cut into sections at its headings.

markdown-it-py (CommonMark) finds the headings, so `#` lines inside code fences are not taken
for headings and setext headings (underlined with === or ---) are. Only its line map is
used: the text itself stays as the author wrote it, markup included, for display.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import ParsedDocument, Section
from .reading import decode_file_text

# YAML front matter (Jekyll, Hugo, Obsidian): metadata, not a heading and a "---" rule.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FRONT_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.M)


def parse(path: Path, data: bytes) -> ParsedDocument:
    decoded = decode_file_text(path, data)
    text, sections, title = decoded.text, [], None
    front = _FRONT_MATTER.match(text)
    if front:
        sections.append(Section(front.group(0).rstrip("\n")))
        if m := _FRONT_TITLE.search(front.group(1)):
            title = m.group(1).strip("'\"") or None
        text = text[front.end():]
    body, first_h1 = _split_at_headings(text)
    sections += body
    return ParsedDocument(path, "md", sections, title=title or first_h1, encoding=decoded.encoding,
                          warnings=list(decoded.warnings))


def _split_at_headings(text: str) -> tuple[list[Section], str | None]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(text)
    lines = text.split("\n")
    starts: list[tuple[int, str | None]] = [(0, None)]  # (first line, heading path) of each section
    stack: list[tuple[int, str]] = []
    first_h1 = None
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or token.level != 0 or token.map is None:
            continue  # headings inside quotes or lists are part of their block, not the outline
        level = int(token.tag[1])
        title = _plain(tokens[i + 1])
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        if level == 1 and first_h1 is None:
            first_h1 = title or None
        starts.append((token.map[0], " > ".join(t for _, t in stack if t) or None))
    sections = []
    for (start, heading), (end, _) in zip(starts, starts[1:] + [(len(lines), None)]):
        chunk = "\n".join(lines[start:end]).strip("\n")
        if chunk.strip():
            sections.append(Section(chunk, heading=heading))
    return sections, first_h1


def _plain(inline) -> str:
    """A heading's text without its markup (`**`, links, code ticks)."""
    parts = [" " if c.type == "softbreak" else c.content for c in inline.children or []
             if c.type in ("text", "code_inline", "softbreak")]
    return "".join(parts).strip() if parts else inline.content.strip()
