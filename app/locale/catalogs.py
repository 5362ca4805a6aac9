"""Building the translation catalogs: gettext for the core and the CLI, Qt Linguist for the window.

Used by `scripts/i18n.py` (extract, update, compile) and by the tests that fail when a string
has no Japanese or a compiled catalog is older than its source. Never imported at run time:
Babel and the Qt tools are build-time needs.

- Core and CLI: Babel extracts `_()`, `N_()` and `ngettext()` from app/ (the window excepted)
  into `ippon.pot`; `update` merges it into every `<lang>/LC_MESSAGES/ippon.po` (translations
  and entries others appended are kept; strings no longer in the code stay as `#~` comments);
  `compile` writes `ippon.mo` beside each `.po`.
- The window: pyside6-lupdate extracts `self.tr()` from app/gui into `ippon_<lang>.ts`
  (translations kept); pyside6-lrelease compiles it to `ippon_<lang>.qm`.
"""

from __future__ import annotations

import gettext
import io
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from . import CATALOGS, DOMAIN

APP = CATALOGS.parent
GUI = APP / "gui"
LANGUAGES = ("ja",)
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def po_path(lang: str) -> Path:
    return CATALOGS / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def ts_path(lang: str) -> Path:
    return CATALOGS / f"{DOMAIN}_{lang}.ts"


# --- gettext (core and CLI) ------------------------------------------------------------------


def extract_template() -> Catalog:
    """Every `_()`/`N_()`/`ngettext()` string under app/, the window excepted (it uses self.tr)."""
    template = Catalog(project="Ippon", charset="utf-8")
    keep_out = {"gui", "__pycache__"}
    results = extract_from_dir(APP, method_map=[("**.py", "python")], keywords=KEYWORDS,
                               directory_filter=lambda path: Path(path).name not in keep_out)
    for filename, lineno, message, comments, context in results:
        template.add(message, locations=[(f"app/{filename}", lineno)], auto_comments=comments, context=context)
    return template


def write_template(template: Catalog, path: Path) -> None:
    with path.open("wb") as out:
        write_po(out, template, width=0, sort_output=True)


def read_catalog(path: Path, lang: str) -> Catalog:
    with path.open("rb") as src:
        return read_po(src, locale=lang, domain=DOMAIN)


def update_po(template: Catalog, lang: str) -> Catalog:
    """Merge the code's strings into the .po: new ones arrive empty, every translation the code still uses is
    kept, and those it no longer uses are dropped (babel would keep them as #~ lines; git keeps their history)."""
    catalog = read_catalog(po_path(lang), lang)
    catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, no_location=True, sort_output=True, ignore_obsolete=True)
    po_path(lang).write_bytes(buffer.getvalue())
    return catalog


def compile_po(lang: str) -> Path:
    catalog = read_catalog(po_path(lang), lang)
    target = po_path(lang).with_suffix(".mo")
    with target.open("wb") as out:
        write_mo(out, catalog)
    return target


def untranslated(template: Catalog, lang: str) -> list[str]:
    """The code's strings the .po gives no translation for."""
    catalog = read_catalog(po_path(lang), lang)
    missing = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        strings = entry.string if entry is not None else ""
        if entry is None or entry.fuzzy or not all(strings if isinstance(strings, tuple) else (strings,)):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def mo_differences(lang: str) -> list[str]:
    """Messages whose compiled .mo translation is not the .po's (the .mo is stale when non-empty)."""
    catalog = read_catalog(po_path(lang), lang)
    expected = io.BytesIO()
    write_mo(expected, catalog)
    expected.seek(0)
    want = gettext.GNUTranslations(expected)._catalog  # noqa: SLF001 - the parsed table is the truth here
    mo = po_path(lang).with_suffix(".mo")
    if not mo.exists():
        return sorted(str(k) for k in want if k)
    with mo.open("rb") as src:
        have = gettext.GNUTranslations(src)._catalog  # noqa: SLF001
    keys = {k for k in set(want) | set(have) if k}
    return sorted(str(k) for k in keys if want.get(k) != have.get(k))


# --- Qt Linguist (the window) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TsMessage:
    context: str
    source: str
    translation: str
    finished: bool


def qt_tool(name: str) -> str:
    """pyside6-lupdate / pyside6-lrelease from this interpreter's environment (they ship with PySide6)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: it ships with PySide6 (pip install PySide6)")
    return found


def gui_sources() -> list[Path]:
    return sorted(p for p in GUI.glob("*.py") if p.name != "i18n.py")


def lupdate(ts: Path, *, sources: list[Path] | None = None) -> None:
    """Add the window's new self.tr() strings to `ts`, keeping every translation it has."""
    files = [str(p) for p in (sources or gui_sources())]
    subprocess.run([qt_tool("pyside6-lupdate"), "-silent", "-locations", "none", *files, "-ts", str(ts)],
                   check=True, capture_output=True)


def lrelease(ts: Path, qm: Path) -> None:
    subprocess.run([qt_tool("pyside6-lrelease"), "-silent", str(ts), "-qm", str(qm)],
                   check=True, capture_output=True)


def ts_messages(ts: Path) -> list[TsMessage]:
    messages = []
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            kind = translation.get("type", "") if translation is not None else "unfinished"
            if kind in ("obsolete", "vanished"):
                continue
            messages.append(TsMessage(context=name, source=message.findtext("source") or "",
                                      translation=(translation.text or "") if translation is not None else "",
                                      finished=kind != "unfinished" and bool(translation.text)))
    return messages
