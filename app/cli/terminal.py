"""Text from outside (file names, document text, model names, error messages naming them) made safe to print.

A file name can hold anything but "/" and NUL: `[bold]` or `[/]` that rich would read as markup
(and crash on), an escape sequence that recolours or retitles the terminal, a carriage return
that hides what came before it, a right-to-left override that reverses what follows. Every
command prints such text through `visible` (plain print) or `markup_safe` (rich), so it shows
as the characters it is: control characters as their escapes (\\x1b, \\t), undecodable bytes as
U+FFFD. `--json` output is left alone: JSON escapes control characters itself.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the bidirectional overrides and isolates, and lone surrogates (the
# undecodable bytes of a file name, which would also make print() raise).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                                 "\ud800-\udfff]")


def _shown(match: re.Match[str]) -> str:
    ch = match.group()
    if "\ud800" <= ch <= "\udfff":
        return "\ufffd"
    return ch.encode("unicode_escape").decode("ascii")


def visible(text: object, *, keep_newlines: bool = False) -> str:
    """`text` with every control character shown as its escape; with `keep_newlines`, line breaks stay."""
    pattern = _UNSAFE_BUT_NEWLINE if keep_newlines else _UNSAFE
    return pattern.sub(_shown, str(text))


def markup_safe(text: object, *, keep_newlines: bool = False) -> str:
    """`visible(text)` with rich's markup escaped, for console.print, tables and progress descriptions."""
    from rich.markup import escape

    return escape(visible(text, keep_newlines=keep_newlines))
