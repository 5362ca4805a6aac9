"""Snippets: the part of a chunk around the words a query matched, with those words' character ranges.

The ranges come from the same analysis as the keyword index (analysis.py), so サーバー marks the
サーバ of a chunk and 耐熱 the start of 耐熱性能. They are offsets into the chunk's original text
(what `Hit.text` holds and the user sees): the analysis runs on the NFKC form, and each NFKC
character is traced back to the original character(s) it came from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from .analysis import analyzer

SNIPPET_CHARS = 120
_SPACE = re.compile(r"\s+")
# Characters NFKC folds into the character before them (a combining or half-width voicing mark).
_JOINERS = {"\u3099", "\u309a", "\uff9e", "\uff9f"}


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str  # the window of the chunk's text
    start: int  # where the window starts in the chunk's text
    ranges: list[tuple[int, int]] = field(default_factory=list)  # matches, offsets in the chunk's text

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "start": self.start, "end": self.end, "ranges": [list(r) for r in self.ranges]}

    def marked(self, *, before: str = "[", after: str = "]", shown: Callable[[str], str] = str) -> str:
        """The window on one line, each match inside the window between `before` and `after`; `shown` makes
        each piece of the text printable (the marks are the caller's own and stay as they are)."""
        out, last = [], self.start
        for start, end in self.ranges:
            start, end = max(start, self.start), min(end, self.end)
            if start >= end:
                continue
            out += [shown(self._flat(last, start)), before, shown(self._flat(start, end)), after]
            last = end
        out.append(shown(self._flat(last, self.end)))
        return ("…" if self.start > 0 else "") + "".join(out).strip()

    def _flat(self, start: int, end: int) -> str:
        return _SPACE.sub(" ", self.text[start - self.start:end - self.start])


def match_ranges(query: str, text: str) -> list[tuple[int, int]]:
    """Where the query's words (or their spelling variants) stand in `text`, as (start, end) offsets."""
    normalized, origin = _normalize_with_origin(text)
    found = analyzer().match_ranges(query, normalized)
    return [(origin[start][0], origin[end - 1][1]) for start, end in found]


def matched_words(query: str, text: str) -> list[str]:
    """The words of `text` the query matched, as written there (each once, longest first): what a view that
    finds and marks strings itself (the desktop preview) marks."""
    words = {text[start:end] for start, end in match_ranges(query, text)}
    return sorted(words, key=len, reverse=True)


def make_snippet(query: str, text: str, *, width: int = SNIPPET_CHARS) -> Snippet:
    """The `width` characters of `text` holding the most matches (a third of the window before the first
    of them), or its start when nothing matches."""
    ranges = match_ranges(query, text)
    if len(text) <= width or not ranges:
        return Snippet(text[:width], 0, ranges)
    best, best_count = 0, -1
    for start, _end in ranges:
        count = sum(1 for s, e in ranges if s >= start and e <= start + width)
        if count > best_count:
            best, best_count = start, count
    begin = max(0, min(best - width // 3, len(text) - width))
    return Snippet(text[begin:begin + width], begin, ranges)


def _normalize_with_origin(text: str) -> tuple[str, list[tuple[int, int]]]:
    """NFKC of `text`, and for each of its characters the (start, end) of the original it came from."""
    pieces: list[str] = []
    origin: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and (text[j] in _JOINERS or unicodedata.combining(text[j])):
            j += 1
        normalized = unicodedata.normalize("NFKC", text[i:j])
        pieces.append(normalized)
        origin.extend([(i, j)] * len(normalized))
        i = j
    return "".join(pieces), origin
