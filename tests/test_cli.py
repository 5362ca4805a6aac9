"""`ippon convert` end to end through the CLI entry point."""

from __future__ import annotations

import json

from app.cli import main


def test_convert_json(test_models, tmp_path, capsys):
    out = tmp_path / "r.gguf"
    rc = main(["convert", str(test_models["reranker"]), "--to", "gguf", "--quant", "q8_0", "--out", str(out),
               "--verify", "--json"])
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["output"] == str(out) and payload["kind"] == "reranker" and payload["quant"] == "q8_0"
    assert payload["bytes"] == out.stat().st_size
    assert payload["verification"]["passed"] is True
    assert payload["verification"]["checks"]["max_abs_p_yes_diff"]["value"] <= 0.05


def test_convert_human_output(test_models, tmp_path, capsys):
    rc = main(["convert", str(test_models["embedder"]), "--to", "mlx", "--quant", "8bit", "--out",
               str(tmp_path / "e"), "--verify"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "(embedder, mlx 8bit" in text and "min_cosine" in text


def test_error_is_one_clear_line(tmp_path, capsys):
    rc = main(["convert", str(tmp_path / "missing"), "--to", "gguf", "--out", str(tmp_path / "x.gguf")])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith("ippon: error: ") and "missing: not a folder" in err
    assert not (tmp_path / "x.gguf").exists()


def test_unknown_quant_is_refused(test_models, tmp_path, capsys):
    rc = main(["convert", str(test_models["llm-tied"]), "--to", "gguf", "--quant", "q3_xyz", "--out",
               str(tmp_path / "x.gguf")])
    assert rc == 1
    assert "unknown GGUF type 'q3_xyz'" in capsys.readouterr().err


def test_kind_override(test_models, tmp_path, capsys):
    rc = main(["convert", str(test_models["llm-tied"]), "--to", "gguf", "--kind", "reranker", "--out",
               str(tmp_path / "x.gguf"), "--json"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "reranker"


# --- the library, models and ask commands: what a user reads ------------------------------------

import os  # noqa: E402

from app.core.answer import AskDone, Citation  # noqa: E402
from app.cli.ask import print_sources  # noqa: E402


def _home() -> "os.PathLike[str]":
    from pathlib import Path

    home = Path(os.environ["IPPON_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    return home


def _cells(line: str, start: int, end: int) -> str:
    """The characters of `line` between two terminal columns (a kanji takes two)."""
    from rich.cells import cell_len

    picked, at = [], 0
    for ch in line:
        if start <= at < end:
            picked.append(ch)
        at += cell_len(ch)
    return "".join(picked)


def _column(out: str, header: str, next_header: str | None) -> str:
    """The text of one column of a rich table, rows joined, wherever it wrapped."""
    lines = out.splitlines()
    start = lines[0].index(header)
    end = lines[0].index(next_header) if next_header else 10_000
    return "".join(_cells(line, start, end).strip() for line in lines[1:])


def test_sources_prints_long_paths_and_reasons_whole(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IPPON_LANG", "en")
    folder = tmp_path / ("a-folder-with-a-rather-long-name-" * 3) / "一本の資料フォルダ"
    folder.mkdir(parents=True)
    (folder / "空のファイル.txt").write_text("", encoding="utf-8")
    (folder / "ok.md").write_text("# 題\n\n本文です。", encoding="utf-8")
    assert main(["add", str(tmp_path), "--json"]) == 0
    capsys.readouterr()
    assert main(["sources", "--errors"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    empty = str(folder / "空のファイル.txt")
    assert _column(out, "path", "error") == empty
    assert _column(out, "error", None) == "is empty"  # the row shows the path once
    assert main(["sources"]) == 0
    listing = capsys.readouterr().out
    assert "…" not in listing and str(folder / "ok.md") in _column(listing, "path", "format")


def test_models_list_shows_what_config_toml_sets(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("IPPON_LANG", "en")
    llm = tmp_path / "elsewhere" / "Qwen3-1.7B-Q4_K_M.gguf"
    (_home() / "config.toml").write_text(f'llm = "{llm}"\n', encoding="utf-8")
    assert main(["models", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["configured"] == [{"role": "llm", "value": str(llm), "installed": None}]
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "Configured" in out and "answering model (llm)" in out and "Nothing installed yet" not in out
    assert "Nothing in the models folder yet; config.toml uses the models above." in " ".join(out.split())


def test_reindex_vectors_reports_the_vectors_it_computed(capsys, tmp_path, engine_models, monkeypatch):
    monkeypatch.setenv("IPPON_LANG", "en")
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"d{i}.md").write_text(f"# 文書{i}\n\n設定ファイルの場所は{i}番目の章にあります。", encoding="utf-8")
    (_home() / "config.toml").write_text(f'embedder = "{engine_models("embedder", "gguf")}"\nthreads = 1\n',
                                         encoding="utf-8")
    assert main(["add", str(docs), "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["vectors"] == added["chunks"] > 0
    assert main(["reindex", "--vectors"]) == 0
    line = capsys.readouterr().out.strip()
    # Before: "…; 0 chunks written" after computing every vector.
    assert line.endswith(f"0 chunks and {added['chunks']} vectors written")


def _citation(n: int, name: str) -> Citation:
    return Citation(n=n, path=f"/docs/{name}", page=None, slide=None, heading=None, char_start=0, char_end=1,
                    text="本文", score=1.0)


def test_ask_lists_the_cited_sources_and_names_the_uncited(capsys, monkeypatch):
    monkeypatch.setenv("IPPON_LANG", "en")
    given = [_citation(n, f"doc{n}.md") for n in range(1, 5)]
    print_sources(AskDone(answer="答え[2]", thinking="", citations=[given[1]], sources=given, not_found=False))
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["[2] doc2.md  /docs/doc2.md"]
    assert "Given but not cited:" in captured.err and "[1] doc1.md" in captured.err and "[2]" not in captured.err
    print_sources(AskDone(answer="答え", thinking="", citations=[], sources=given, not_found=False))
    captured = capsys.readouterr()
    assert captured.out == ""  # before: all 4 listed as if cited
    assert "cites none of the 4 sources" in captured.err and "[4] doc4.md" in captured.err
