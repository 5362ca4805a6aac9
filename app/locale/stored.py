"""Messages kept in the library (a file's reason, its warnings) shown in today's language.

A file's reason is written once, when the file is read, in the language of that run: a library
indexed by `ippon add` in English and opened in the Japanese window would show English reasons.
These functions recognise Ippon's own messages in either language and render them in the
current one; anything else (an OS error, a library's own words) is shown as it was stored.
"""

from __future__ import annotations

import re
from functools import lru_cache
from string import Formatter

from . import _, _translations

_PATH = "{path}: "
_WARNING_SEPARATOR = "; "


@lru_cache(maxsize=1)
def _templates() -> tuple[dict[str, str], list[tuple[re.Pattern[str], str]], dict[str, str]]:
    """(reason without placeholders -> msgid, [(pattern of a reason with placeholders, msgid)],
    whole message -> msgid), in English and Japanese alike; reasons are what follows "{path}: "."""
    catalog = getattr(_translations("ja"), "_catalog", {})  # GNUTranslations' parsed .mo
    exact: dict[str, str] = {}
    patterns: list[tuple[re.Pattern[str], str]] = []
    whole: dict[str, str] = {}
    for msgid, msgstr in catalog.items():
        if not isinstance(msgid, str) or not msgid:
            continue
        for text in (msgid, msgstr):
            if not text.startswith(_PATH):
                if not _fields(text):
                    whole[text] = msgid
                continue
            tail = text[len(_PATH):]
            fields = _fields(tail)
            if not fields:
                exact[tail] = msgid
            elif _literal(tail).strip(" ()（）:;、。"):  # "{reason}" alone would match anything
                patterns.append((_pattern(tail), msgid))
    # The most specific patterns first: "is damaged or not a PDF ({reason})" before "{reason}" forms.
    patterns.sort(key=lambda item: -len(_literal(item[0].pattern)))
    return exact, patterns, whole


def _fields(text: str) -> list[str]:
    try:
        return [name for _lit, name, _spec, _conv in Formatter().parse(text) if name is not None]
    except ValueError:
        return ["?"]


def _literal(text: str) -> str:
    return re.sub(r"\{[^{}]*\}|\(\?P<[^>]+>\.\+\?\)", "", text)


def _pattern(template: str) -> re.Pattern[str]:
    parts = []
    for literal, name, _spec, _conv in Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(f"(?P<{name}>.+?)" if name.isidentifier() and f"(?P<{name}>" not in "".join(parts)
                         else ".+?")
    return re.compile("".join(parts), re.DOTALL)


def shown_reason(path: str, error: str | None) -> str:
    """A failed file's stored reason, without the path it starts with, in the user's language."""
    if not error:
        return ""
    reason = error[len(path) + 2:] if error.startswith(f"{path}: ") else error
    exact, patterns, _whole = _templates()
    msgid = exact.get(reason)
    if msgid is not None:
        return _(msgid).format(path=path)[len(path) + 2:]
    for pattern, msgid in patterns:
        found = pattern.fullmatch(reason)
        if found:
            try:
                return _(msgid).format(path=path, **found.groupdict())[len(path) + 2:]
            except (KeyError, IndexError, ValueError):
                break  # a template with positional or formatted fields: keep what was stored
    return reason


def shown_warnings(warnings: str | None) -> str:
    """A file's stored warnings ("; " between them) in the user's language, each when it is Ippon's own."""
    if not warnings:
        return ""
    _exact, _patterns, whole = _templates()
    return _WARNING_SEPARATOR.join(_(whole[w]) if w in whole else w for w in warnings.split(_WARNING_SEPARATOR))
