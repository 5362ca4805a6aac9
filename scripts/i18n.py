#!/usr/bin/env python
"""Translation catalogs: `extract` the core's and CLI's strings to a .pot, `update` the .po and
.ts catalogs from the code, `compile` them to .mo and .qm (both committed beside their sources).

    .venv/bin/python scripts/i18n.py update    # then write the Japanese of every new entry
    .venv/bin/python scripts/i18n.py compile   # after any change to a .po or .ts
    .venv/bin/python scripts/i18n.py check     # what the tests check: nothing untranslated or stale
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.locale import CATALOGS, catalogs  # noqa: E402


def extract(args: argparse.Namespace) -> int:
    target = args.output or CATALOGS / "ippon.pot"
    template = catalogs.extract_template()
    catalogs.write_template(template, target)
    print(f"{len(template)} messages -> {target}")
    return 0


def update(args: argparse.Namespace) -> int:
    template = catalogs.extract_template()
    for lang in catalogs.LANGUAGES:
        catalogs.update_po(template, lang)
        catalogs.lupdate(catalogs.ts_path(lang))
        missing = catalogs.untranslated(template, lang)
        unfinished = [m for m in catalogs.ts_messages(catalogs.ts_path(lang)) if not m.finished]
        print(f"{lang}: {len(missing)} core/CLI and {len(unfinished)} window strings to translate")
    return 0


def compile_(args: argparse.Namespace) -> int:
    for lang in catalogs.LANGUAGES:
        print(catalogs.compile_po(lang))
        ts = catalogs.ts_path(lang)
        catalogs.lrelease(ts, ts.with_suffix(".qm"))
        print(ts.with_suffix(".qm"))
    return 0


def check(args: argparse.Namespace) -> int:
    template = catalogs.extract_template()
    problems = []
    for lang in catalogs.LANGUAGES:
        problems += [f"{lang}: no translation in the .po: {m!r}" for m in catalogs.untranslated(template, lang)]
        problems += [f"{lang}: ippon.mo is stale (run compile): {m!r}" for m in catalogs.mo_differences(lang)]
        with tempfile.TemporaryDirectory() as tmp:
            ts = Path(tmp) / "check.ts"
            ts.write_bytes(catalogs.ts_path(lang).read_bytes())
            catalogs.lupdate(ts)
            problems += [f"{lang}: no translation in the .ts: [{m.context}] {m.source!r}"
                         for m in catalogs.ts_messages(ts) if not m.finished]
    print("\n".join(problems) or "every string has its translation; the compiled catalogs are current")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="write the core's and CLI's strings to a .pot template")
    ex.add_argument("--output", type=Path)
    ex.set_defaults(run=extract)
    sub.add_parser("update", help="merge the code's strings into the .po and .ts catalogs").set_defaults(run=update)
    sub.add_parser("compile", help="compile .po to .mo and .ts to .qm").set_defaults(run=compile_)
    sub.add_parser("check", help="fail when a string has no translation or a compiled catalog is stale"
                   ).set_defaults(run=check)
    args = parser.parse_args()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
