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
