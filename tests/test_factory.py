"""The suite's own Qwen3 test models look like the real ones where it matters."""

from __future__ import annotations

import json

import pytest
from transformers import AutoTokenizer

from tests.conftest import load_factory

JAPANESE = "東京都の人口は約1400万人です。「データベース」を再構築してください！"
CHAT_EXAMPLES = json.loads(load_factory().CHAT_EXAMPLES_FILE.read_text(encoding="utf-8"))


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
    a = factory.build_test_models(tmp_path / "a")
    b = factory.build_test_models(tmp_path / "b")
    files = [("reranker", n) for n in ("model.safetensors", "tokenizer.json", "config.json")]
    files += [("llm-chat", f"model-0000{k}-of-00002.safetensors") for k in (1, 2)]  # trained, not drawn
    for model, name in files:
        assert (a[model] / name).read_bytes() == (b[model] / name).read_bytes(), (model, name)


@pytest.fixture(scope="module")
def chat_model(test_models):
    import torch
    from transformers import AutoModelForCausalLM

    folder = str(test_models["llm-chat"])
    return AutoTokenizer.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)


@pytest.mark.parametrize("example", CHAT_EXAMPLES)
def test_chat_model_says_its_lines(chat_model, example):
    """Greedy decoding after the prompt (and any given text) yields the completion, token for token."""
    import torch

    tok, model = chat_model
    prompt = tok.apply_chat_template(example["messages"], tokenize=False, add_generation_prompt=True,
                                     enable_thinking=example["enable_thinking"])
    given = example.get("given", "")
    # Tokenized apart, as engines do: the prompt, the text they force, then token after token.
    context = tok.encode(prompt, add_special_tokens=False) + tok.encode(given, add_special_tokens=False)
    expected = tok.encode(example["completion"][len(given):], add_special_tokens=False)
    out = model.generate(torch.tensor([context]), max_new_tokens=len(expected) + 8, do_sample=False,
                         temperature=None, top_p=None, top_k=None)
    assert tok.decode(out[0, len(context):]) == example["completion"][len(given):]
    assert out[0, len(context):].tolist() == expected


def test_chat_budget_examples_are_what_a_budget_produces(chat_model):
    """Each budget example is the free thinking's first N tokens plus the engines' forced sentence,
    so a chat with think_budget=N must end with that example's answer."""
    from engines.qwen3 import THINK_BUDGET_STOP

    tok = chat_model[0]

    def ids(text):
        return tok.encode(text, add_special_tokens=False)

    budgeted = [ex for ex in CHAT_EXAMPLES if ex.get("given", "").endswith(THINK_BUDGET_STOP)]
    assert len(budgeted) >= 1
    for ex in budgeted:
        free = next(e for e in CHAT_EXAMPLES if e["messages"] == ex["messages"] and e["enable_thinking"]
                    and "given" not in e)
        cut = ex["given"][:-len(THINK_BUDGET_STOP)]
        assert ids(free["completion"])[:len(ids(cut))] == ids(cut)
        assert ids(ex["given"]) == ids(cut) + ids(THINK_BUDGET_STOP)
