"""The Qwen3 conventions of engines.qwen3, checked against the tokenizer and template the models ship."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tokenizers import Tokenizer

from engines import AnswerDelta, ChatSettings, EngineError, Message, ThinkingDelta
from engines import qwen3


@pytest.fixture(scope="module")
def hf_tokenizer(test_models):
    import transformers

    return transformers.AutoTokenizer.from_pretrained(str(test_models["llm-untied"]))


@pytest.fixture(scope="module")
def template(test_models):
    return json.loads((test_models["llm-untied"] / "tokenizer_config.json").read_text())["chat_template"]


CONVERSATIONS = [
    [Message("user", "こんにちは")],
    [Message("system", "あなたは親切なアシスタントです。"), Message("user", "富士山の高さは？")],
    [Message("user", "Hi"), Message("assistant", "<think>\nhmm\n</think>\n\nHello!"), Message("user", "Again")],
]


@pytest.mark.parametrize("thinking", [True, False])
@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_prompt_matches_transformers_apply_chat_template(hf_tokenizer, template, messages, thinking):
    expected = hf_tokenizer.apply_chat_template([{"role": m.role, "content": m.content} for m in messages],
                                                tokenize=False, add_generation_prompt=True,
                                                enable_thinking=thinking)
    assert qwen3.render_chat_prompt(template, messages, thinking=thinking) == expected
    # Model files without a template get the same prompt for plain conversations.
    if "<think>" not in messages[-1].content and len(messages) < 3:
        assert qwen3.render_chat_prompt(None, messages, thinking=thinking) == expected


def test_prompt_must_end_with_a_user_message(template):
    with pytest.raises(EngineError, match="user message"):
        qwen3.render_chat_prompt(template, [Message("assistant", "hi")], thinking=False)


def test_recommended_sampling_per_mode_and_overrides():
    assert qwen3.resolve_sampling(ChatSettings(thinking=True)) == qwen3.Sampling(0.6, 0.95, 20)
    assert qwen3.resolve_sampling(ChatSettings(thinking=False)) == qwen3.Sampling(0.7, 0.8, 20)
    custom = qwen3.resolve_sampling(ChatSettings(temperature=0.0, presence_penalty=1.5))
    assert custom.greedy and custom.presence_penalty == 1.5 and custom.top_p == 0.8


def test_byte_level_token_bytes_rebuild_any_text(test_models):
    tok = Tokenizer.from_file(str(test_models["llm-untied"] / "tokenizer.json"))
    special = {i for i, t in tok.get_added_tokens_decoder().items() if t.special}
    text = "日本語の文章と English, 記号「！」😀 and <|im_end|>"
    ids = tok.encode(text, add_special_tokens=False).ids
    rebuilt = b"".join(qwen3.byte_level_token_bytes(tok.id_to_token(i), special=i in special) for i in ids)
    assert rebuilt.decode("utf-8") == text


def _split(tokens: list[tuple[int, bytes]]) -> tuple[list, qwen3.ThinkingSplitter]:
    splitter = qwen3.ThinkingSplitter(think_open=1, think_close=2)
    events = [e for token, piece in tokens for e in splitter.feed(token, piece)]
    events += list(splitter.finish())
    return events, splitter


def test_thinking_splitter_separates_parts_and_trims_template_newlines():
    events, splitter = _split([(1, b""), (9, b"\nLet me "), (9, b"think.\n"), (9, b"\n"), (2, b""),
                               (9, b"\n\n"), (9, b"The answer\n\nis 42.")])
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "Let me think."
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)) == "The answer\n\nis 42."
    assert "".join(splitter.thinking) == "Let me think." and "".join(splitter.answer) == "The answer\n\nis 42."


def test_thinking_splitter_never_breaks_a_character_across_tokens():
    data = "富士山".encode()
    events, _ = _split([(9, data[:2]), (9, data[2:4]), (9, data[4:])])
    assert "".join(e.text for e in events) == "富士山"
    assert all("\ufffd" not in e.text for e in events)


def test_thinking_splitter_keeps_inner_newlines_of_the_thinking_part():
    events, _ = _split([(1, b""), (9, b"a\n\n"), (9, b"b"), (2, b""), (9, b"c")])
    assert [type(e).__name__ for e in events] == ["ThinkingDelta", "ThinkingDelta", "AnswerDelta"]
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "a\n\nb"


def test_matryoshka_helpers():
    rng = np.random.default_rng(0)
    full = rng.normal(size=(3, 64)).astype(np.float32)
    small = qwen3.normalize_rows(full, 32)
    np.testing.assert_allclose(np.linalg.norm(small, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(small * np.linalg.norm(full[:, :32], axis=1, keepdims=True), full[:, :32], rtol=1e-5)
    assert qwen3.check_embed_dim(None, full=64, minimum=32, model="m") == 64
    with pytest.raises(EngineError, match="dimension 16 is not supported; choose between 32 and 64"):
        qwen3.check_embed_dim(16, full=64, minimum=32, model="m")


def test_p_yes_is_the_softmax_over_yes_and_no():
    p = qwen3.p_yes(np.array([2.0, 0.0, -800.0]), np.array([0.0, 0.0, 800.0]))
    np.testing.assert_allclose(p, [np.exp(2) / (np.exp(2) + 1), 0.5, 0.0], atol=1e-7)
    assert p.dtype == np.float32


def test_reranker_prompt_is_the_official_one():
    prompt = qwen3.RERANK_PREFIX + qwen3.rerank_body("質問", "文書", None) + qwen3.RERANK_SUFFIX
    assert prompt == (
        "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the "
        "Instruct provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n"
        "<Instruct>: Given a web search query, retrieve relevant passages that answer the query\n"
        "<Query>: 質問\n<Document>: 文書<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert qwen3.format_embed_query("東京", "Find manuals") == "Instruct: Find manuals\nQuery:東京"


def test_a_thinking_part_opened_by_the_prompt_is_thinking():
    splitter = qwen3.ThinkingSplitter(think_open=1, think_close=2, thinking=True)
    events = [e for t, p in [(9, b"\nhmm"), (2, b""), (9, b"\n\nok")] for e in splitter.feed(t, p)]
    events += list(splitter.finish())
    assert [(type(e).__name__, e.text) for e in events] == [("ThinkingDelta", "hmm"), ("AnswerDelta", "ok")]
