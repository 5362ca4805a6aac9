"""The suite's own Qwen3 test models look like the real ones where it matters."""

from __future__ import annotations

import hashlib
import json

import pytest
from transformers import AutoTokenizer

from tests.conftest import load_factory

JAPANESE = "東京都の人口は約1400万人です。「データベース」を再構築してください！"


@pytest.fixture(scope="module")
def tokenizer(test_models):
    return AutoTokenizer.from_pretrained(str(test_models["llm-tied"]))


def test_japanese_round_trips(tokenizer):
    ids = tokenizer.encode(JAPANESE, add_special_tokens=False)
    assert tokenizer.decode(ids) == JAPANESE
    assert len(ids) < len(JAPANESE.encode("utf-8"))  # merges were learned, not bytes only


@pytest.mark.parametrize("token", ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "yes", "no"])
def test_single_tokens(tokenizer, token):
    assert len(tokenizer.encode(token, add_special_tokens=False)) == 1


def test_real_chat_template_switches_thinking(tokenizer):
    messages = [{"role": "user", "content": "富士山の高さは？"}]
    off = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    on = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=True)
    assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert on.endswith("<|im_start|>assistant\n")


def test_embedder_appends_endoftext_exactly_once(test_models):
    tok = AutoTokenizer.from_pretrained(str(test_models["embedder"]))
    ids = tok.encode("検索クエリ")
    assert ids[-1] == tok.convert_tokens_to_ids("<|endoftext|>")
    assert ids.count(ids[-1]) == 1


def test_layouts(test_models):
    emb_index = json.loads((test_models["embedder"] / "config.json").read_text())
    assert (test_models["embedder"] / "1_Pooling" / "config.json").exists()
    pooling = json.loads((test_models["embedder"] / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_lasttoken"] is True
    from converters.checkpoint import open_checkpoint

    raw_keys = open_checkpoint(test_models["embedder"]).tensors  # canonical names
    assert "lm_head.weight" not in raw_keys and emb_index["model_type"] == "qwen3"
    untied = test_models["llm-untied"]
    assert (untied / "model.safetensors.index.json").exists()
    assert len(list(untied.glob("model-0000?-of-00002.safetensors"))) == 2
    tok_size = len(AutoTokenizer.from_pretrained(str(untied)))
    assert json.loads((untied / "config.json").read_text())["vocab_size"] >= tok_size + 5


def test_untied_greedy_path_is_varied(test_models):
    """Greedy parity tests only mean something if the model does not repeat one token."""
    from converters import open_checkpoint
    from converters.verify import VERIFY_TEXTS, _Reference

    ref = _Reference(open_checkpoint(test_models["llm-untied"]))
    tokens = ref.greedy(ref.encode(VERIFY_TEXTS[0]), 32)
    assert len(set(tokens)) >= 8


def test_factory_is_deterministic(tmp_path):
    factory = load_factory()
    a = factory.build_test_models(tmp_path / "a")["reranker"]
    b = factory.build_test_models(tmp_path / "b")["reranker"]
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert hashlib.sha256((a / name).read_bytes()).digest() == hashlib.sha256((b / name).read_bytes()).digest()
