"""Asking inside a thread: follow-ups rewritten for retrieval, earlier turns packed into the window.

A follow-up such as 「それは何年ですか？」 means nothing to a search index. When a question
has earlier turns and shows a sign of leaning on them (a pronoun, an ellipsis marker: the
list below, kept in one place), the LLM rewrites it into a standalone question with a short
prompt and thinking off; retrieval searches the rewrite, and the rewrite is shown and
stored. Anything else goes to retrieval as typed, with no extra LLM call. The answer then
sees the latest turns as plain messages (never chat markup), newest kept first, as many as
fit their share of the window; the number left out is said, never hidden. The same holds for
a conversation a client holds itself (the API): its turns come in as `history`, and nothing
is recorded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engines import AnswerDelta, CancelToken, ChatDone, ChatSettings, Message, ThinkingDelta

from ..locale import _
from .answer import AskDone, AskEvent, AskSources, Citation, answer_question, is_japanese
from .retrieval import Retrieval
from .threads import Thread, ThreadStore, Turn

# Signs that a question leans on what was said before. Japanese: demonstratives, "the same",
# "other", conversational openers and bare question words that lost their subject.
FOLLOWUP_MARKERS_JA = ("それ", "その", "そこ", "そちら", "そっち", "これ", "この", "ここ", "こちら", "あれ", "あの",
                       "あそこ", "彼", "彼女", "同じ", "他に", "ほかに", "他の", "ほかの", "では", "じゃあ", "じゃ",
                       "何年", "いつ", "前者", "後者", "上記", "さっき", "先ほど", "さらに", "もっと", "詳しく")
FOLLOWUP_MARKERS_EN = ("it", "its", "that", "those", "this", "these", "they", "them", "their", "he", "she", "him",
                       "her", "his", "same", "else", "other", "former", "latter", "above", "more")
_EN_MARKER = re.compile(r"\b(" + "|".join(FOLLOWUP_MARKERS_EN) + r")\b", re.IGNORECASE)
_CITATION_MARK = re.compile(r"\s?\[\d{1,3}\]")

HISTORY_SHARE = 0.3  # of the prompt's room: earlier turns may take this much, sources the rest
REWRITE_MAX_CHARS = 200  # a rewritten question is a search query; a longer reply is not one
REWRITE_SETTINGS = ChatSettings(thinking=False, temperature=0.0, max_tokens=96)
REWRITE_TURNS = 3  # earlier turns the rewrite prompt sees
REWRITE_ANSWER_CHARS = 300  # of each earlier answer in the rewrite prompt (the answer prompt gets them whole)

REWRITE_SYSTEM_JA = ("会話の続きの質問を、前の会話を読まなくても意味が通る1つの質問に書き換えてください。"
                     "指示語（それ・その・あれなど）は具体的な語に置き換え、省略された主語を補ってください。"
                     "書き換えた質問文だけを日本語で1行で出力してください。")
REWRITE_SYSTEM_EN = ("Rewrite the follow-up question so that it makes sense without the conversation: replace "
                     "pronouns with what they refer to and add what was left out. Output only the rewritten "
                     "question, in English, on one line.")


def needs_rewrite(question: str, *, has_history: bool) -> bool:
    """Cheap: a first question never does; a follow-up does when it shows a marker of leaning on the past."""
    if not has_history:
        return False
    return any(m in question for m in FOLLOWUP_MARKERS_JA) or bool(_EN_MARKER.search(question))


def _history_pair(turn: Turn | EarlierTurn) -> tuple[Message, Message]:
    # An earlier answer's [n] pointed at that turn's sources; left in, it would read as this turn's.
    return Message("user", turn.question), Message("assistant", _CITATION_MARK.sub("", turn.answer).strip())


@dataclass(frozen=True, slots=True)
class EarlierTurn:
    """A question and its answer from before the one asked, as a client holds them (an API conversation)."""

    question: str
    answer: str
    status: str = "done"  # as a thread's Turn says it: it has its answer


def answered(turns: Sequence[Turn | EarlierTurn]) -> list[Turn | EarlierTurn]:
    """The turns that can be history: finished with an answer."""
    return [t for t in turns if t.status == "done" and t.answer.strip()]


def pack_history(turns: Sequence[Turn | EarlierTurn], *, count_tokens: Callable[[str], int], budget: int
                 ) -> tuple[list[Message], int]:
    """The newest whole turns that fit `budget` tokens, in their order; and how many older ones were left out."""
    kept: list[tuple[Message, Message]] = []
    used = 0
    for turn in reversed(turns):
        pair = _history_pair(turn)
        cost = sum(count_tokens(m.content) for m in pair) + 8  # each message's role markers
        if used + cost > budget:
            break
        kept.append(pair)
        used += cost
    messages = [m for pair in reversed(kept) for m in pair]
    return messages, len(turns) - len(kept)


def rewrite_messages(question: str, turns: Sequence[Turn | EarlierTurn]) -> list[Message]:
    japanese = is_japanese(question)
    lines = []
    for turn in turns[-REWRITE_TURNS:]:
        answer = _CITATION_MARK.sub("", turn.answer).strip()
        if len(answer) > REWRITE_ANSWER_CHARS:
            answer = answer[:REWRITE_ANSWER_CHARS] + "…"
        lines.append(("質問: " if japanese else "Q: ") + turn.question)
        lines.append(("回答: " if japanese else "A: ") + answer)
    if japanese:
        user = "会話:\n" + "\n".join(lines) + f"\n\n続きの質問: {question}\n書き換えた質問:"
    else:
        user = "Conversation:\n" + "\n".join(lines) + f"\n\nFollow-up question: {question}\nRewritten question:"
    return [Message("system", REWRITE_SYSTEM_JA if japanese else REWRITE_SYSTEM_EN), Message("user", user)]


def clean_rewrite(reply: str, question: str) -> str:
    """The first line of the model's reply as a question; the question as typed if the reply is no question."""
    line = next((ln.strip() for ln in reply.splitlines() if ln.strip()), "")
    line = re.sub(r"^(書き換えた質問|質問|Rewritten question|Question)\s*[:：]\s*", "", line, flags=re.IGNORECASE)
    line = line.strip("「」\"' ")
    if not line or len(line) > REWRITE_MAX_CHARS:
        return question
    return line


def rewrite_followup(question: str, turns: Sequence[Turn | EarlierTurn], llm: Any, *, cancel: CancelToken | None = None) -> str:
    reply = ""
    for event in llm.chat(rewrite_messages(question, turns), settings=REWRITE_SETTINGS, cancel=cancel):
        if isinstance(event, ChatDone):
            reply = event.text
    return clean_rewrite(reply, question)


@dataclass(frozen=True, slots=True)
class AskTurn:
    """Sent right after the sources: where this question is kept and how it was understood."""

    thread_id: str | None  # None when the question was not recorded (an API client holds its conversation)
    turn_id: str | None
    position: int  # 1, 2, … in the conversation, recorded or not
    question: str
    search_question: str  # the rewrite of a follow-up; else the question itself
    history_turns: int  # earlier turns the answer sees
    history_dropped: int  # earlier turns left out (they did not fit the window)
    notes: list[str] = field(default_factory=list)  # what to tell the user, in their language

    @property
    def rewritten(self) -> bool:
        return self.search_question != self.question


ThreadEvent = AskSources | AskTurn | AnswerDelta | ThinkingDelta | AskDone


def ask_in_thread(store: ThreadStore | None, question: str, *, thread_id: str | None, llm: Any,
                  search: Callable[[str], Retrieval], retrieval: dict[str, Any], chat: ChatSettings,
                  models: dict[str, str], cancel: CancelToken | None = None,
                  history: Sequence[Turn | EarlierTurn] | None = None, instructions: str = ""
                  ) -> Iterator[ThreadEvent]:
    """Answer `question` as the next turn of a thread (a new thread when `thread_id` is None).

    `history`: the earlier turns as the caller holds them, in place of the thread's own. `store` None:
    nothing is written (the AskTurn names no thread), yet follow-ups are understood the same way.
    `instructions`: a client's own, placed after the answer's rule, never instead of it.
    """
    if store is None and thread_id:
        raise ValueError("a thread needs the store to record in")
    thread = store.get(thread_id) if store is not None and thread_id else None
    if history is None:
        history = thread.turns if thread else []
    history = answered(history)
    notes: list[str] = []
    search_question = question
    rewrite_ms = None
    if needs_rewrite(question, has_history=bool(history)):
        start = time.perf_counter()
        search_question = rewrite_followup(question, history, llm, cancel=cancel)
        rewrite_ms = round((time.perf_counter() - start) * 1000, 3)
        if search_question != question:
            notes.append(_("Searched for: {question}").format(question=search_question))
    found = search(search_question)
    budget = int((llm.context_length - chat.max_tokens) * HISTORY_SHARE)
    messages, dropped = pack_history(history, count_tokens=llm.count_tokens, budget=budget)
    if dropped:
        notes.append(_("{n} earlier turn(s) did not fit the model's window and were left out").format(n=dropped))
    events = answer_question(search_question, found, llm, settings=chat, cancel=cancel, history=messages,
                             instructions=instructions)
    extra_timings = {"rewrite_ms": rewrite_ms} if rewrite_ms else {}
    if store is None:
        yield from _unrecorded(events, turn=AskTurn(None, None, len(history) + 1, question, search_question,
                                                    len(history) - dropped, dropped, notes),
                               extra_timings=extra_timings)
        return
    if thread is None:
        thread = store.create(question)
    yield from _recorded(store, events, thread=thread, question=question, search_question=search_question,
                         retrieval=retrieval, models=models, notes=notes, history_turns=len(history) - dropped,
                         history_dropped=dropped, extra_timings=extra_timings)


def search_in_thread(store: ThreadStore, question: str, *, thread_id: str | None, search: Callable[[str], Retrieval],
                     retrieval: dict[str, Any]) -> Iterator[ThreadEvent]:
    """With no answering model: keyword search of the question as typed, kept as a turn without an answer."""
    thread = store.get(thread_id) if thread_id else None
    notes = []
    if thread is not None and needs_rewrite(question, has_history=bool(thread.turns)):
        notes.append(_("No answering model: follow-ups are searched as typed, without the conversation"))
    found = search(question)
    sources = [Citation.of(n, r) for n, r in enumerate(found.results, 1)]
    if thread is None:
        thread = store.create(question)
    events = iter([AskSources(sources, 0),
                   AskDone("", "", [], sources, not_found=not sources, timings=dict(found.timings))])
    yield from _recorded(store, events, thread=thread, question=question, search_question=question,
                         retrieval=retrieval, models={}, notes=notes, history_turns=0, history_dropped=0,
                         extra_timings={})


def _unrecorded(events: Iterator[AskEvent], *, turn: AskTurn, extra_timings: dict[str, Any]
                ) -> Iterator[ThreadEvent]:
    """The answer's events with the turn after the sources, as `_recorded` sends them, and nothing written."""
    yield next(events)
    yield turn
    for event in events:
        yield replace(event, timings={**event.timings, **extra_timings}) if isinstance(event, AskDone) else event


def _recorded(store: ThreadStore, events: Iterator[AskEvent], *, thread: Thread, question: str, search_question: str,
              retrieval: dict[str, Any], models: dict[str, str], notes: list[str], history_turns: int,
              history_dropped: int, extra_timings: dict[str, Any]) -> Iterator[ThreadEvent]:
    """Pass the answer's events on, with the turn written before the answer starts and finished after it."""
    first = next(events)
    assert isinstance(first, AskSources)
    turn = store.begin_turn(thread.id, question=question, search_question=search_question, retrieval=retrieval,
                            sources=first.sources, models=models, notes=notes)
    yield first
    yield AskTurn(thread.id, turn.id, turn.position, question, search_question, history_turns, history_dropped,
                  list(notes))
    answer: list[str] = []
    thinking: list[str] = []
    finished = False
    status = "failed"
    try:
        for event in events:
            if isinstance(event, AskDone):
                timings = {**event.timings, **extra_timings}
                status = "cancelled" if timings.get("finish_reason") == "cancelled" else "done"
                store.finish_turn(turn.id, answer=event.answer, thinking=event.thinking, timings=timings,
                                  status=status)
                finished = True
                event = replace(event, timings=timings)
            elif isinstance(event, AnswerDelta):
                answer.append(event.text)
            elif isinstance(event, ThinkingDelta):
                thinking.append(event.text)
            yield event
    except GeneratorExit:
        status = "cancelled"  # the reader stopped (Stop in the window): keep what was written so far
        raise
    finally:
        if not finished:
            store.finish_turn(turn.id, answer="".join(answer), thinking="".join(thinking), timings=extra_timings,
                              status=status)
