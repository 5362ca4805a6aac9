"""The window's language: Qt Linguist catalogs, loaded through Qt's own translators.

Adding or changing a string in the window (read this):
  1. write English in the widget: `self.tr("Add folder…")` (inside the class, so its context is
     the class name; outside one, `QCoreApplication.translate("ClassName", "…")` written out in
     full: lupdate reads calls literally, so never `parent.tr()` or a `tr` alias, whose context
     Qt would not look under); format after translating: `self.tr("{n} files").format(n=n)`,
     never concatenate sentences;
  2. `.venv/bin/python scripts/i18n.py update` adds it to app/locale/ippon_ja.ts (the one place
     the window's Japanese lives), then write its Japanese there: the <translation> element,
     removing `type="unfinished"` (or use pyside6-linguist);
  3. `.venv/bin/python scripts/i18n.py compile` writes ippon_ja.qm (commit both).
tests/test_i18n.py fails while a self.tr() string has no Japanese or the .qm is older than the .ts.

Qt's own strings (the buttons of standard dialogs, the file dialog, shortcut names) come from
Qt's qtbase_ja catalog. Japanese is chosen when IPPON_LANG=ja, or when it is unset and the
system locale is Japanese; the core's messages (app.locale) then follow the same choice.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from ..locale import CATALOGS


def wants_japanese() -> bool:
    chosen = os.environ.get("IPPON_LANG")
    if chosen:
        return chosen.lower().startswith("ja")
    return QLocale.system().language() == QLocale.Language.Japanese


def _loaded(name: str, folder: str) -> QTranslator | None:
    translator = QTranslator()
    return translator if translator.load(name, folder) else None


def translators(lang: str) -> list[QTranslator]:
    """Ippon's catalog and Qt's own for `lang` (none for English: the code's text is English)."""
    if lang == "en":
        return []
    found = [_loaded(f"ippon_{lang}", str(CATALOGS)),
             _loaded(f"qtbase_{lang}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))]
    return [t for t in found if t is not None]


def install_translations(app: QCoreApplication) -> str:
    """Install the window's translators on `app`; returns the language chosen ("ja" or "en")."""
    lang = "ja" if wants_japanese() else "en"
    # Errors from the core are translated by app.locale, which reads IPPON_LANG: keep both in one language
    # (a Mac app started from the Finder has no LANG, only the system locale Qt reads).
    os.environ.setdefault("IPPON_LANG", lang)
    kept = []
    for translator in translators(lang):
        app.installTranslator(translator)
        kept.append(translator)
    app._ippon_translators = kept  # a QTranslator must outlive its installation  # noqa: SLF001
    return lang
