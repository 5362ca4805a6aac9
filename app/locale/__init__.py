"""Translations of every message the core and the CLI show (gettext, one `ippon` domain).

Code writes English and wraps it: `_("{path}: the file is empty").format(path=path)` —
translate first, format after, never build a sentence by concatenation. The catalogs live
beside this file (`ja/LC_MESSAGES/ippon.po`, compiled to `ippon.mo`). The language follows
the system (LC_ALL, LC_MESSAGES, LANG); `IPPON_LANG=ja|en` overrides it.

A new string: wrap it, add its msgid/msgstr pair to the .po (or `scripts/i18n.py update`,
then translate), and `scripts/i18n.py compile`; commit the .po and the .mo. A module constant
shown later is marked with `N_()` and translated with `_()` where it is shown. Errors from
engines/ and converters/ (which cannot import app) are introduced in the user's language by
`app.errors.user_message` at the front ends. tests/test_i18n.py fails while a string has no
Japanese or the .mo is older than the .po.
"""

from __future__ import annotations

import gettext as _gettext
import os
from functools import lru_cache
from pathlib import Path

DOMAIN = "ippon"
CATALOGS = Path(__file__).resolve().parent


def language() -> str:
    """"ja" or "en": the language Ippon speaks in this process."""
    for name in ("IPPON_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


@lru_cache(maxsize=4)
def _translations(lang: str) -> _gettext.NullTranslations:
    if lang == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir=CATALOGS, languages=[lang], fallback=True)


def _(message: str) -> str:
    """`message` in the user's language (the English text itself when there is no translation)."""
    return _translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for it
    """Marks a string for the catalog without translating it (module constants: translate with `_()` where
    shown, once the language is known)."""
    return message
