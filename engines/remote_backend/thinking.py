"""Thinking and answer text from a streamed reply, however the server delivers the thinking part."""

from __future__ import annotations

from collections.abc import Iterator

from .. import qwen3
from ..base import AnswerDelta, ThinkingDelta

# Stand-ins for the <think>, </think> and text "tokens" fed to qwen3.ThinkingSplitter.
_OPEN, _CLOSE, _TEXT = -1, -2, -3
_TAGS = (qwen3.THINK_OPEN, qwen3.THINK_CLOSE)


class ReplySplitter:
    """Servers with a reasoning parser (vLLM, llama.cpp server) send the thinking part as
    `reasoning_content` or `reasoning`; the others leave <think>…</think> in the content, where
    a tag may be cut between two chunks. Both are turned into the token stream that
    qwen3.ThinkingSplitter reads, so the newlines around the thinking part are dropped exactly
    as the local backends drop them.
    """

    def __init__(self) -> None:
        self._tokens = qwen3.ThinkingSplitter(think_open=_OPEN, think_close=_CLOSE)
        self._held = ""  # the end of the content so far that may be the start of a tag
        self._reasoning = False  # inside a thinking part the server sent as reasoning

    @property
    def thinking_now(self) -> bool:
        return self._tokens.thinking_now

    @property
    def thinking(self) -> str:
        return "".join(self._tokens.thinking)

    @property
    def answer(self) -> str:
        return "".join(self._tokens.answer)

    def reasoning(self, text: str) -> Iterator[AnswerDelta | ThinkingDelta]:
        yield from self._flush_held()
        if not self._tokens.thinking_now:
            yield from self._tokens.feed(_OPEN, b"")
            self._reasoning = True
        yield from self._text(text)

    def content(self, text: str) -> Iterator[AnswerDelta | ThinkingDelta]:
        if self._reasoning:
            self._reasoning = False
            yield from self._tokens.feed(_CLOSE, b"")
        pending = self._held + text
        while True:
            found = [(pending.find(tag), tag) for tag in _TAGS if tag in pending]
            if not found:
                break
            at, tag = min(found)
            yield from self._text(pending[:at])
            yield from self._tokens.feed(_OPEN if tag == qwen3.THINK_OPEN else _CLOSE, b"")
            pending = pending[at + len(tag):]
        keep = _partial_tag_length(pending)
        self._held = pending[len(pending) - keep:] if keep else ""
        yield from self._text(pending[:len(pending) - keep])

    def finish(self) -> Iterator[AnswerDelta | ThinkingDelta]:
        yield from self._flush_held()
        yield from self._tokens.finish()

    def _flush_held(self) -> Iterator[AnswerDelta | ThinkingDelta]:
        held, self._held = self._held, ""
        yield from self._text(held)

    def _text(self, text: str) -> Iterator[AnswerDelta | ThinkingDelta]:
        if text:
            yield from self._tokens.feed(_TEXT, text.encode("utf-8"))


def _partial_tag_length(text: str) -> int:
    """How many trailing characters of `text` could be the beginning of a tag."""
    for size in range(min(len(text), max(map(len, _TAGS)) - 1), 0, -1):
        if any(tag.startswith(text[-size:]) for tag in _TAGS):
            return size
    return 0
