"""Translations: every string in both languages, compiled catalogs current, Qt's own strings never blank."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractButton, QApplication, QDialogButtonBox, QFileDialog

from app import locale
from app.locale import catalogs


@pytest.fixture(autouse=True)
def _fresh_catalogs():
    locale._translations.cache_clear()  # noqa: SLF001 - the language is read per test
    yield
    locale._translations.cache_clear()  # noqa: SLF001


# --- the core and the CLI (gettext) ----------------------------------------------------------


def test_every_core_and_cli_string_has_japanese():
    template = catalogs.extract_template()
    assert len(template) > 50  # the extraction found the code's strings
    missing = catalogs.untranslated(template, "ja")
    assert not missing, ("strings with no Japanese in app/locale/ja/LC_MESSAGES/ippon.po "
                         "(run scripts/i18n.py update, translate, compile):\n" + "\n".join(missing))


def test_the_compiled_mo_matches_the_po():
    stale = catalogs.mo_differences("ja")
    assert not stale, "ippon.mo is older than ippon.po: run scripts/i18n.py compile\n" + "\n".join(stale)


def test_untranslated_and_stale_are_detected(tmp_path, monkeypatch):
    po = tmp_path / "ja" / "LC_MESSAGES" / "ippon.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "known"\nmsgstr "既知"\n\nmsgid "empty"\nmsgstr ""\n', encoding="utf-8")
    monkeypatch.setattr(catalogs, "CATALOGS", tmp_path)
    template = catalogs.Catalog()
    for text in ("known", "empty", "absent"):
        template.add(text)
    assert catalogs.untranslated(template, "ja") == ["empty", "absent"]
    assert catalogs.mo_differences("ja") == ["known"]  # no .mo yet
    catalogs.compile_po("ja")
    assert catalogs.mo_differences("ja") == []
    po.write_text(po.read_text(encoding="utf-8").replace("既知", "既知の文字列"), encoding="utf-8")
    assert catalogs.mo_differences("ja") == ["known"]


def test_update_keeps_the_code_s_translations_and_drops_the_rest(tmp_path, monkeypatch):
    po = tmp_path / "ja" / "LC_MESSAGES" / "ippon.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "kept"\nmsgstr "残る"\n\nmsgid "gone"\nmsgstr "消えた"\n\n'
                  '#~ msgid "long gone"\n#~ msgstr "とうに消えた"\n', encoding="utf-8")
    monkeypatch.setattr(catalogs, "CATALOGS", tmp_path)
    template = catalogs.Catalog()
    for text in ("kept", "new"):
        template.add(text)
    catalogs.update_po(template, "ja")
    text = po.read_text(encoding="utf-8")
    assert 'msgstr "残る"' in text and 'msgid "new"' in text
    assert "消えた" not in text and "#~" not in text
    assert catalogs.untranslated(template, "ja") == ["new"]


@pytest.mark.parametrize(("env", "expected"), [({"IPPON_LANG": "ja"}, "ja"), ({"LANG": "ja_JP.UTF-8"}, "ja"),
                                                ({"IPPON_LANG": "en", "LANG": "ja_JP.UTF-8"}, "en"),
                                                ({"LANG": "C.UTF-8"}, "en")])
def test_the_language_follows_the_system_and_ippon_lang_overrides(monkeypatch, env, expected):
    for name in ("IPPON_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert locale.language() == expected


def test_messages_are_japanese_from_the_compiled_catalog(monkeypatch):
    message = "The library is empty: add folders with `ippon add PATH`."
    monkeypatch.setenv("IPPON_LANG", "ja")
    japanese = locale._(message)
    assert japanese != message and "ライブラリは空です" in japanese and "ippon add PATH" in japanese
    monkeypatch.setenv("IPPON_LANG", "en")
    assert locale._(message) == message


def test_the_cli_speaks_japanese(monkeypatch, tmp_path):
    env = {"IPPON_LANG": "ja", "IPPON_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    help_text = subprocess.run([sys.executable, "-m", "app.launcher", "--help"], env=env, capture_output=True,
                               text=True, check=True).stdout
    assert "ライブラリ" in help_text and "add" in help_text
    empty = subprocess.run([sys.executable, "-m", "app.launcher", "sources"], env=env, capture_output=True,
                           text=True, check=True).stdout
    assert "ライブラリは空です" in empty
    missing = subprocess.run([sys.executable, "-m", "app.launcher", "add", str(tmp_path / "nowhere")], env=env,
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "エラー" in missing.stderr and "nowhere" in missing.stderr


def test_a_file_s_reason_is_japanese(monkeypatch, tmp_path):
    from app.core.sources import ParseError, parse_file

    empty = tmp_path / "空.txt"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("IPPON_LANG", "ja")
    with pytest.raises(ParseError) as raised:
        parse_file(empty)
    assert str(raised.value) == f"{empty}: 空です"


def test_engine_errors_are_introduced_in_japanese_at_the_boundary(monkeypatch):
    import engines

    from app.errors import IpponError, user_message

    error = engines.errors.ModelFileError("/models/x.gguf: no such file")
    monkeypatch.setenv("IPPON_LANG", "ja")
    assert user_message(error) == "モデルファイルを使えません: /models/x.gguf: no such file"
    assert user_message(IpponError("そのまま")) == "そのまま"
    monkeypatch.setenv("IPPON_LANG", "en")
    assert user_message(error) == "/models/x.gguf: no such file"


def test_no_function_hides_the_translator_behind_a_local_underscore():
    """`_, x = …` inside a function makes every `_()` call there an UnboundLocalError."""
    import ast
    from pathlib import Path

    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
              ast.DictComp, ast.GeneratorExp)
    bad = []
    for path in sorted(Path(catalogs.APP).rglob("*.py")):
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            assigns = calls = False
            stack = list(ast.iter_child_nodes(function))
            while stack:
                node = stack.pop()
                if isinstance(node, scopes):
                    continue  # a scope of its own
                assigns |= isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store)
                calls |= isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
                stack.extend(ast.iter_child_nodes(node))
            if assigns and calls:
                bad.append(f"{path}:{function.lineno} {function.name}")
    assert not bad


def test_argparse_speaks_japanese_too(monkeypatch, capsys):
    from app.cli import main

    monkeypatch.setenv("IPPON_LANG", "ja")
    with pytest.raises(SystemExit):
        main(["sources", "--no-such-option"])
    err = capsys.readouterr().err
    assert "使い方: ippon" in err and "認識できない引数: --no-such-option" in err


# --- the window (Qt Linguist) ----------------------------------------------------------------


def test_every_window_string_has_japanese(tmp_path):
    ts = tmp_path / "check.ts"
    shutil.copyfile(catalogs.ts_path("ja"), ts)
    catalogs.lupdate(ts)  # the code's strings as they are now, with the committed translations
    messages = catalogs.ts_messages(ts)
    assert len(messages) > 50
    missing = [f"[{m.context}] {m.source}" for m in messages if not m.finished]
    assert not missing, ("self.tr() strings with no Japanese in app/locale/ippon_ja.ts "
                         "(run scripts/i18n.py update, translate, compile):\n" + "\n".join(missing))


def test_the_compiled_qm_matches_the_ts(tmp_path):
    fresh = tmp_path / "fresh.qm"
    catalogs.lrelease(catalogs.ts_path("ja"), fresh)
    committed = catalogs.ts_path("ja").with_suffix(".qm")
    assert committed.exists() and fresh.read_bytes() == committed.read_bytes(), \
        "ippon_ja.qm is older than ippon_ja.ts: run scripts/i18n.py compile"


@pytest.fixture()
def japanese(qapp, monkeypatch):
    """The window in Japanese for one test (the app object is shared by the whole suite)."""
    from app.gui.i18n import translators

    monkeypatch.setenv("IPPON_LANG", "ja")
    installed = translators("ja")
    assert len(installed) == 2  # Ippon's own and Qt's qtbase_ja
    for translator in installed:
        qapp.installTranslator(translator)
    yield qapp
    for translator in installed:
        qapp.removeTranslator(translator)


def test_unknown_strings_come_back_as_their_source(japanese):
    assert QCoreApplication.translate("MainWindow", "a string no catalog knows") == "a string no catalog knows"
    assert QCoreApplication.translate("NoSuchContext", "Ctrl") == "Ctrl"
    assert QCoreApplication.translate("MainWindow", "Settings…") == "設定…"


def test_qt_dialogs_and_shortcuts_keep_their_text_in_japanese(japanese, qtbot):
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    qtbot.addWidget(box)
    texts = [b.text() for b in box.buttons()]
    assert all(texts) and "キャンセル" in texts
    assert "Ctrl" in QKeySequence("Ctrl+O").toString(QKeySequence.SequenceFormat.NativeText)
    dialog = QFileDialog(None, "", "", "")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    qtbot.addWidget(dialog)
    buttons = dialog.findChildren(QAbstractButton)
    labelled = [b for b in buttons if b.icon().isNull()]
    assert labelled and all(b.text() for b in labelled)
    assert any(b.text().startswith("選択") for b in labelled)  # the folder dialog's Choose button


def test_no_button_of_the_app_is_blank_in_japanese(japanese, qtbot, tmp_path):
    from app.config import Config
    from app.core.service import IpponService
    from app.gui.main_window import MainWindow
    from app.gui.models_dialog import ModelsDialog
    from app.gui.settings_dialog import SettingsDialog

    home = tmp_path / "home"
    service = IpponService(Config(data_dir=home, models_dir=home / "models", threads=1))
    window = MainWindow(service, settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    settings = SettingsDialog(service.config, window)
    models = ModelsDialog(service, window.runner, window)
    try:
        blank = [f"{type(top).__name__}: {type(b).__name__} {b.objectName()!r}"
                 for top in (window, settings, models, window.quick_ask)
                 for b in top.findChildren(QAbstractButton)
                 if not b.text() and b.icon().isNull() and b.objectName() != "qt_tableview_cornerbutton"]
        assert not blank
        ok = settings.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        assert ok.text() == "OK"
        menus = [a.text() for a in window.menuBar().actions()]
        assert "ファイル(&F)" in menus
        from PySide6.QtGui import QAction

        shortcuts = [a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                     for a in window.findChildren(QAction) if not a.shortcut().isEmpty()]
        # Before, Qt's own "Ctrl" came back "" from the translator: 「O」 instead of 「Ctrl+O」.
        assert shortcuts and all(s and not s.startswith("+") for s in shortcuts)
        assert any(s.startswith("Ctrl+") for s in shortcuts)
    finally:
        window.runner.cancel_all()
        window.runner.wait()
        service.close()


def test_translators_install_nothing_in_english(qapp):
    from app.gui.i18n import translators

    assert translators("en") == []
    assert QApplication.translate("MainWindow", "Settings…") == "Settings…"


def test_source_labels_are_shown_in_japanese_but_the_prompt_keeps_its_form(monkeypatch):
    from app.core.answer import shown_source_label, source_label

    monkeypatch.setenv("IPPON_LANG", "ja")
    assert shown_source_label("/d/資料.pptx", None, 3) == "資料.pptx（スライド 3）"
    assert shown_source_label("/d/仕様.pdf", 12, None) == "仕様.pdf（12 ページ）"
    assert source_label("/d/資料.pptx", None, 3) == "資料.pptx (slide 3)"  # what the model reads, in any language


def _fields(text: str) -> list[str]:
    from string import Formatter

    try:
        return sorted({name for _, name, _, _ in Formatter().parse(text) if name is not None})
    except ValueError as exc:
        return [f"<unparsable: {exc}>"]


def test_every_translation_keeps_its_placeholders():
    """A Japanese string missing `{path}` (or naming it `{file}`) would raise in .format() in Japanese only."""
    catalog = catalogs.read_catalog(catalogs.po_path("ja"), "ja")
    broken = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        english = message.id if isinstance(message.id, str) else message.id[0]
        japanese = message.string if isinstance(message.string, str) else message.string[0]
        if "%(" not in english and _fields(english) != _fields(japanese):
            broken.append(f"{english!r} -> {japanese!r}")
    broken += [f"[{m.context}] {m.source!r} -> {m.translation!r}" for m in catalogs.ts_messages(catalogs.ts_path("ja"))
               if m.finished and _fields(m.source) != _fields(m.translation)]
    assert not broken


def test_stored_reasons_are_shown_in_today_s_language(monkeypatch):
    from app.locale.stored import shown_reason, shown_warnings

    path = "/docs/仕様.pdf"
    monkeypatch.setenv("IPPON_LANG", "ja")  # indexed in English, opened in Japanese
    assert shown_reason(path, f"{path}: is empty") == "空です"
    assert shown_reason(path, f"{path}: is damaged or not a PDF (EOF marker not found)") == \
        "壊れているか、PDF ではありません（EOF marker not found）"
    assert shown_warnings("no OCR engine: install tesseract with Japanese data (tesseract-ocr-jpn) to search text "
                          "in images; 何か別の注意").startswith("OCR エンジンがありません")
    assert shown_reason(path, f"{path}: Input/output error") == "Input/output error"  # not Ippon's: as stored
    monkeypatch.setenv("IPPON_LANG", "en")  # and the other way round
    assert shown_reason(path, f"{path}: 空です") == "is empty"
    assert shown_reason(path, None) == "" and shown_warnings(None) == ""


def test_every_window_string_is_looked_up_under_the_context_it_is_stored_under(tmp_path):
    """lupdate names a context after the class around self.tr(); `parent.tr()` or a tr alias gives it
    another ("parent", "") than the one Qt looks under at run time, and the Japanese is never found."""
    import ast

    classes = {node.name for path in catalogs.gui_sources()
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.ClassDef)}
    ts = tmp_path / "check.ts"
    shutil.copyfile(catalogs.ts_path("ja"), ts)
    catalogs.lupdate(ts)
    contexts = {m.context for m in catalogs.ts_messages(ts)}
    assert contexts and contexts <= classes, f"contexts that are no class of app/gui: {sorted(contexts - classes)}"
