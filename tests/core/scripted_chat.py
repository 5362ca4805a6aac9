"""A ChatModel that answers from a script: follow-up tests see every prompt it was given, and a
child process can be killed while it streams. And a library whose answers come from it."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from app.config import Config
from app.core.answer import SYSTEM_EN, SYSTEM_JA
from app.core.conversation import REWRITE_SYSTEM_EN, REWRITE_SYSTEM_JA
from app.core.service import IpponService
from engines import AnswerDelta, ChatDone, ChatSettings, ChatStats, Message


class ScriptedChat:
    name = "scripted"

    def __init__(self, *, answers: Sequence[str] = ("答えです[1]。",), rewrites: Sequence[str] = (),
                 context_length: int = 4096, hang_after_first_piece: bool = False) -> None:
        self.context_length = context_length
        self.answers = list(answers)
        self.rewrites = list(rewrites)
        self.hang = hang_after_first_piece
        self.calls: list[list[Message]] = []  # every prompt, in order

    @property
    def rewrite_calls(self) -> list[list[Message]]:
        return [m for m in self.calls if m[0].content in (REWRITE_SYSTEM_JA, REWRITE_SYSTEM_EN)]

    @property
    def answer_calls(self) -> list[list[Message]]:
        return [m for m in self.calls if m[0].content in (SYSTEM_JA, SYSTEM_EN)]

    def count_tokens(self, text: str) -> int:
        return len(text)

    def chat(self, messages: Sequence[Message], *, settings: ChatSettings = ChatSettings(),
             cancel=None) -> Iterator:  # noqa: ANN001
        self.calls.append(list(messages))
        rewrite = messages[0].content in (REWRITE_SYSTEM_JA, REWRITE_SYSTEM_EN)
        answer = messages[0].content in (SYSTEM_JA, SYSTEM_EN)
        if rewrite:
            text = self.rewrites.pop(0) if self.rewrites else ""
        elif answer:
            text = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        else:
            text = "はい。"  # anything else the app asks of the model (a speed measurement, say)
        pieces = [text[i:i + 3] for i in range(0, len(text), 3)]
        for n, piece in enumerate(pieces):
            if answer:
                yield AnswerDelta(piece)
                if self.hang and n == 0:
                    print("STREAMING", flush=True)
                    sys.stdout.flush()
                    time.sleep(120)  # the parent kills the process here
        stats = ChatStats(len(messages), len(pieces), 0, 0.01, 100.0, 1000.0, "stop")
        yield ChatDone(text, "", stats)

    def close(self) -> None:
        pass


def scripted_library(tmp_path: Path, docs: dict[str, str]) -> IpponService:
    """`docs` (name -> text) added from tmp_path/docs to a library in tmp_path/home; the test sets its
    answering model (service._llm = ScriptedChat(...)) before asking."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    home = tmp_path / "home"
    service = IpponService(Config(data_dir=home, models_dir=home / "models", llm="scripted"))
    service.add([folder])
    return service
