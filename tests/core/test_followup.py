"""Follow-up questions: rewritten for retrieval only when they lean on the conversation, and the
answer sees the earlier turns that fit the window, newest kept first."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Config
from app.core.answer import AskDone
from app.core.conversation import (AskTurn, EarlierTurn, clean_rewrite, needs_rewrite, pack_history, rewrite_messages)
from app.core.service import IpponService
from app.core.threads import ThreadStore
from app.errors import IpponError
from engines import ChatSettings

from .scripted_chat import ScriptedChat, scripted_library

DOCS = {"tower.txt": "東京タワーの高さは333メートルです。",
        "kaika.txt": "東京タワーの完成は1958年のことでした。",
        "castle.txt": "大阪城はいつ何年に完成したのか、それについては諸説あります。"}
LEXICAL = {"mode": "lexical", "top_k": 1}


@pytest.fixture()
def service(tmp_path) -> IpponService:
    return scripted_library(tmp_path, DOCS)


def _ask(service: IpponService, question: str, thread: str | None = None) -> tuple[AskTurn, AskDone]:
    events = list(service.ask(question, retrieval=service.retrieval_settings(**LEXICAL), chat=ChatSettings(),
                              thread=thread))
    (turn,) = [e for e in events if isinstance(e, AskTurn)]
    return turn, events[-1]


def test_only_follow_ups_that_lean_on_the_conversation_need_a_rewrite():
    assert not needs_rewrite("それは何年ですか？", has_history=False)  # a first question stands alone
    for question in ("それは何年ですか？", "その高さは？", "じゃあ大阪は？", "他にありますか？", "When was it built?"):
        assert needs_rewrite(question, has_history=True), question
    for question in ("大阪城の高さは？", "How tall is Tokyo Tower?", "Is Italy in Europe?"):
        assert not needs_rewrite(question, has_history=True), question


def test_a_pronoun_follow_up_is_rewritten_and_finds_what_the_plain_one_misses(service):
    service._llm = llm = ScriptedChat(answers=["東京タワーの高さは333メートルです[1]。", "1958年です[1]。"],
                                      rewrites=["「東京タワーは何年に完成しましたか？」"])
    first, _ = _ask(service, "東京タワーの高さは？")
    assert not llm.rewrite_calls  # the first question costs no rewrite
    follow = "それは何年に完成しましたか？"
    turn, done = _ask(service, follow, thread=first.thread_id)

    (rewrite,) = llm.rewrite_calls
    assert "東京タワーの高さは？" in rewrite[1].content and follow in rewrite[1].content  # Japanese in
    assert turn.search_question == "東京タワーは何年に完成しましたか？" and turn.rewritten
    assert any("東京タワーは何年に完成しましたか？" in note for note in turn.notes)  # shown to the user
    assert [Path(s.path).name for s in done.sources] == ["kaika.txt"]
    plain = service.search(follow, service.retrieval_settings(**LEXICAL))
    assert [Path(r.hit.path).name for r in plain.results] != ["kaika.txt"]  # as typed, it finds the wrong file
    stored = service.threads.get(first.thread_id).turns[1]
    assert stored.search_question == turn.search_question and stored.question == follow
    assert "rewrite_ms" in stored.timings
    # The answer sees the first turn as plain messages, its citation marks taken out.
    (_, prompt) = llm.answer_calls
    assert [(m.role, m.content) for m in prompt[1:3]] == [("user", "東京タワーの高さは？"),
                                                          ("assistant", "東京タワーの高さは333メートルです。")]


def test_a_follow_up_without_markers_costs_no_extra_call(service):
    service._llm = llm = ScriptedChat(answers=["333メートルです[1]。"])
    first, _ = _ask(service, "東京タワーの高さは？")
    before = len(llm.calls)
    turn, _ = _ask(service, "東京タワーの完成年は？", thread=first.thread_id)
    assert len(llm.calls) == before + 1 and llm.calls[-1] == llm.answer_calls[-1]  # the answer, nothing more
    assert not llm.rewrite_calls and not turn.rewritten
    assert turn.history_turns == 1 and turn.history_dropped == 0


def test_a_useless_rewrite_falls_back_to_the_question_as_typed():
    assert clean_rewrite("", "それは？") == "それは？"
    assert clean_rewrite("書き換えた質問: 東京タワーの高さは？\n余計な説明", "それは？") == "東京タワーの高さは？"
    assert clean_rewrite("x" * 500, "それは？") == "それは？"
    assert rewrite_messages("What about it?", [])[0].content.startswith("Rewrite the follow-up")


def _turns(tmp_path: Path, n: int):
    store = ThreadStore(tmp_path)
    thread = store.create("長い会話")
    for i in range(1, n + 1):
        turn = store.begin_turn(thread.id, question=f"質問{i}", search_question=f"質問{i}", retrieval={},
                                sources=[], models={})
        store.finish_turn(turn.id, answer=f"回答{i}です。" * 5, thinking="", timings={})
    return store, thread.id


def test_history_is_packed_within_the_budget_and_the_oldest_turns_go_first(tmp_path):
    store, thread_id = _turns(tmp_path, 5)
    turns = store.get(thread_id).turns
    per_turn = len("質問1") + len("回答1です。" * 5) + 8
    messages, dropped = pack_history(turns, count_tokens=len, budget=per_turn * 2 + 1)
    assert dropped == 3 and [m.content for m in messages if m.role == "user"] == ["質問4", "質問5"]
    assert [m.role for m in messages] == ["user", "assistant"] * 2
    assert all(m.content == "回答4です。" * 5 for m in messages[1:2])  # whole answers, never cut
    everything, none_dropped = pack_history(turns, count_tokens=len, budget=10**6)
    assert none_dropped == 0 and [m.content for m in everything[::2]] == [f"質問{i}" for i in range(1, 6)]
    assert pack_history(turns, count_tokens=len, budget=1) == ([], 5)


def test_the_answer_says_how_many_turns_did_not_fit_the_window(service):
    service._llm = llm = ScriptedChat(answers=["長い答えです。" * 40], context_length=1400)
    chat = ChatSettings(max_tokens=200)
    thread = None
    for question in ("東京タワーの高さは？", "東京タワーの完成年は？", "大阪城の完成年は？", "東京タワーは何メートル？"):
        events = list(service.ask(question, retrieval=service.retrieval_settings(**LEXICAL), chat=chat,
                                  thread=thread))
        (turn,) = [e for e in events if isinstance(e, AskTurn)]
        thread = turn.thread_id
    # (1400 - 200) * 0.3 = 360 characters of history: one earlier answer of 280 fits, not two.
    assert turn.history_turns == 1 and turn.history_dropped == 2
    assert any("2 earlier turn(s)" in note for note in turn.notes)
    prompt = llm.answer_calls[-1]
    assert [m.content for m in prompt if m.role == "user"][0] == "大阪城の完成年は？"  # the newest earlier turn
    assert service.threads.get(thread).turns[-1].notes == turn.notes


def test_without_an_llm_follow_ups_are_searched_as_typed_and_say_so(tmp_path, service):
    keyword = IpponService(Config(data_dir=service.config.data_dir, models_dir=tmp_path / "m"))
    settings = keyword.retrieval_settings(**LEXICAL)
    events = list(keyword.search_turn("東京タワーの高さは？", retrieval=settings))
    (first,) = [e for e in events if isinstance(e, AskTurn)]
    assert not first.notes and [Path(s.path).name for s in events[-1].sources] == ["tower.txt"]
    events = list(keyword.search_turn("それは何年に完成しましたか？", retrieval=settings, thread=first.thread_id))
    (turn,) = [e for e in events if isinstance(e, AskTurn)]
    assert turn.search_question == "それは何年に完成しましたか？" and len(turn.notes) == 1
    assert "searched as typed" in turn.notes[0]
    assert len(keyword.threads.get(first.thread_id).turns) == 2


def test_an_unrecorded_ask_understands_a_given_history_and_keeps_no_thread(service):
    service._llm = llm = ScriptedChat(answers=["1958年です[1]。"], rewrites=["東京タワーは何年に完成しましたか？"])
    history = [EarlierTurn("東京タワーの高さは？", "333メートルです[1]。")]
    events = list(service.ask("それは何年に完成しましたか？", retrieval=service.retrieval_settings(**LEXICAL),
                              chat=ChatSettings(), record=False, history=history))
    (turn,) = [e for e in events if isinstance(e, AskTurn)]
    assert turn.thread_id is None and turn.turn_id is None and turn.position == 2 and turn.history_turns == 1
    assert turn.search_question == "東京タワーは何年に完成しましたか？"
    assert [Path(s.path).name for s in events[-1].sources] == ["kaika.txt"] and "rewrite_ms" in events[-1].timings
    assert service.threads.list() == []
    with pytest.raises(IpponError):  # a thread is kept, or it is not: both at once is a caller's mistake
        list(service.ask("それは？", retrieval=service.retrieval_settings(**LEXICAL), chat=ChatSettings(),
                         record=False, thread="0123abcd"))
