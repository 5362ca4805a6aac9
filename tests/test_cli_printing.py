"""Names from the disk print as what they are: no rich markup crash, no raw terminal control characters."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.cli import main
from app.cli.terminal import markup_safe, visible

from .core.test_hostile_files import attack_corpus

ESCAPE_NAME = "esc\x1b[31mred\x1b[0m.txt"
BELL_NAME = "bell\x07tab\tcr\r.txt"


@pytest.fixture()
def named_folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("COLUMNS", "400")  # one row per file in rich's tables
    monkeypatch.setenv("IPPON_HOME", str(tmp_path / "home"))
    folder = tmp_path / "docs"
    attack_corpus.write_corpus(folder, only=["names"])
    # A broken link is a problem found while listing: `ippon add` names it among the failures.
    os.symlink(folder / "nowhere", folder / "a[" / "]broken\x1b]0;pwned\x07.txt")
    return folder


def _no_raw_controls(text: str) -> None:
    for ch in ("\x1b", "\x07", "\r", "\t"):
        assert ch not in text, repr(text)


def test_ippon_add_and_sources_print_brackets_and_control_characters_safely(named_folder, capsys):
    assert main(["add", str(named_folder), "--no-vectors"]) == 0
    out, err = capsys.readouterr()
    _no_raw_controls(out + err)
    assert "4 added" in out
    assert f"failed: {named_folder}/a[/]broken\\x1b]0;pwned\\x07.txt: " in err

    assert main(["sources"]) == 0  # a rich table: "a[/]b.txt" once crashed it with a MarkupError
    out = capsys.readouterr().out
    _no_raw_controls(out)
    for shown in ("a[/]b.txt", "[bold red]markup.txt", "esc\\x1b[31mred\\x1b[0m.txt", "bell\\x07tab\\tcr\\r.txt"):
        assert f"{named_folder}/{shown}" in out

    assert main(["sources", "--errors"]) == 0
    out = capsys.readouterr().out
    _no_raw_controls(out)
    assert "a[/]broken\\x1b]0;pwned\\x07.txt" in out and "broken symbolic link" in out


def test_json_output_keeps_the_names_exactly(named_folder, capsys):
    assert main(["add", str(named_folder), "--no-vectors", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 4
    assert main(["sources", "--json"]) == 0
    names = {Path(row["path"]).name for row in json.loads(capsys.readouterr().out)}
    assert {"]b.txt", "[bold red]markup.txt", ESCAPE_NAME, BELL_NAME} <= names


def test_an_error_naming_a_hostile_path_prints_on_one_safe_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IPPON_HOME", str(tmp_path / "home"))
    assert main(["add", str(tmp_path / "gone\x1b[2J\r.txt")]) == 1
    err = capsys.readouterr().err
    _no_raw_controls(err)
    assert err.endswith("gone\\x1b[2J\\r.txt: no such file or folder\n")


def test_visible_and_markup_safe():
    assert visible("a\x1b[31mb\x9bc\x7f") == "a\\x1b[31mb\\x9bc\\x7f"
    assert visible("right\u202eleft") == "right\\u202eleft"  # a right-to-left override would reverse the rest
    assert visible("bad-\udcff-name") == "bad-\ufffd-name"  # undecodable bytes; print() would raise on these
    assert visible("two\nlines") == "two\\nlines"
    assert visible("two\nlines\t", keep_newlines=True) == "two\nlines\\t"
    assert visible("日本語 [ok]") == "日本語 [ok]"
    assert markup_safe("a[/]b [bold]x") == "a\\[/]b \\[bold]x"


def test_a_streamed_answer_shows_escape_codes_a_model_echoes(capsys):
    import engines
    from app.cli.options import print_delta

    print_delta(engines.AnswerDelta("答え\x1b]0;title\x07です\n次の行"))
    assert capsys.readouterr().out == "答え\\x1b]0;title\\x07です\n次の行"
