"""Thinking on, off and with a budget, on the tiny model trained to answer one question exactly."""

from __future__ import annotations

import pytest

from engines import ChatSettings, Message, ThinkingDelta, load_chat_model, qwen3

from .conftest import options_for

QUESTION = [Message("user", "富士山の高さは？")]
ANSWER = "富士山の標高は3776メートルです。"
THOUGHT = "富士山は日本で一番高い山です。標高を思い出します。"
EARLY_STOP = ("Considering the limited time by the user, I have to give the solution based on the thinking "
              "directly now.")


@pytest.fixture(scope="module", params=["gguf", "mlx-f32"])
def chat(request, engine_models):
    model = load_chat_model(engine_models("llm-chat", request.param), n_ctx=512, **options_for(request.param))
    yield model
    model.close()


def run(chat, **settings):
    events = list(chat.chat(QUESTION, settings=ChatSettings(temperature=0.0, max_tokens=80, **settings)))
    return events, events[-1]


def test_thinking_off_answers_directly(chat):
    _, done = run(chat, thinking=False)
    assert (done.text, done.thinking) == (ANSWER, "")
    assert done.stats.thinking_tokens == 0 and done.stats.finish_reason == "stop"


def test_thinking_on_streams_the_thinking_then_the_answer(chat):
    events, done = run(chat, thinking=True)
    assert (done.thinking, done.text) == (THOUGHT, ANSWER)
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("AnswerDelta") > max(i for i, k in enumerate(kinds) if k == "ThinkingDelta")
    assert done.stats.thinking_tokens > 5


@pytest.mark.parametrize("budget", [3, 6])
def test_a_thinking_budget_forces_the_early_stop_after_exactly_n_tokens(chat, budget):
    events, done = run(chat, thinking=True, think_budget=budget)
    ids = list(done.token_ids)
    forced = chat._tokenize(qwen3.THINK_BUDGET_STOP, special=True)  # noqa: SLF001
    assert ids[0] == chat.think_open
    # <think>, then exactly `budget` sampled thinking tokens, then the sentence and </think>.
    assert ids[1 + budget:1 + budget + len(forced)] == forced
    assert chat.think_close not in ids[:1 + budget]
    assert done.stats.thinking_tokens == budget
    assert done.thinking.endswith(EARLY_STOP)
    assert done.text == ANSWER  # and then the model answers
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == done.thinking
