"""`ippon engine chat|embed|rerank` through the CLI entry point."""

from __future__ import annotations

import json

import numpy as np


def test_chat_json(engine_models, engine_cli):
    rc, out, _ = engine_cli("chat", "--model", str(engine_models("llm-untied", "gguf")), "--temperature", "0",
                            "--max-tokens", "6", "--n-ctx", "256", "こんにちは", "--json")
    payload = json.loads(out)
    assert rc == 0 and set(payload) == {"text", "thinking", "stats"}
    assert payload["stats"]["generated_tokens"] == 6 and payload["stats"]["finish_reason"] == "length"
    assert payload["thinking"] == ""


def test_chat_streams_the_answer_to_stdout(engine_models, engine_cli):
    rc, out, err = engine_cli("chat", "--model", str(engine_models("llm-untied", "mlx")), "--seed", "1",
                              "--max-tokens", "5", "--n-ctx", "256", "--system", "短く答えて", "こんにちは")
    assert rc == 0 and out.strip() and "5 generated" in err


def test_embed_json(engine_models, engine_cli):
    rc, out, _ = engine_cli("embed", "--model", str(engine_models("embedder", "gguf")), "--query", "--dim", "32",
                            "東京", "大阪", "--json")
    vectors = np.array(json.loads(out)["vectors"])
    assert rc == 0 and vectors.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_rerank_json_matches_the_engine(engine_models, engine_cli):
    from engines import load_reranker

    path = engine_models("reranker", "gguf")
    rc, out, _ = engine_cli("rerank", "--model", str(path), "--query", "富士山の高さ", "富士山は3776m", "東京駅", "--json")
    scores = json.loads(out)["scores"]
    expected = load_reranker(path, n_threads=1).score("富士山の高さ", ["富士山は3776m", "東京駅"])
    assert rc == 0 and np.allclose(scores, expected, atol=1e-6)


def test_errors_are_one_line_messages(engine_models, engine_cli, tmp_path):
    rc, _, err = engine_cli("chat", "--model", str(engine_models("embedder", "gguf")), "hi")
    assert rc == 1 and err.startswith("ippon: error: ") and "Qwen3-Embedding" in err
    rc, _, err = engine_cli("embed", "--model", str(tmp_path / "missing.gguf"), "x")
    assert rc == 1 and "missing.gguf: no such model file" in err
    rc, _, err = engine_cli("embed", "--model", str(engine_models("embedder", "gguf")), "--dim", "8", "x")
    assert rc == 1 and "dimension 8 is not supported" in err


def test_engine_info_reports_each_backend_and_its_device(capsys):
    from app.cli import main

    assert main(["engine", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    # These machines have no GPU: both local backends compute on the CPU, and say so.
    assert info["backends"]["llamacpp"] == {"installed": True, "version": "0.3.36", "device": "cpu"}
    assert info["backends"]["mlx"]["device"] == "cpu" and info["default_backend"] == "llamacpp"
