"""Asking from a window: runs IpponService.ask on the model worker and re-emits its events as signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engines import AnswerDelta, ChatSettings, ThinkingDelta

from ..core.answer import AskDone, AskSources, Citation
from ..core.conversation import AskTurn
from ..core.retrieval import Retrieval
from ..core.service import IpponService
from ..errors import user_message
from .tasks import Op, TaskRunner

THINKING_MODES = ("off", "on", "budget")


class AskController(QObject):
    sources = Signal(object)  # list[Citation]
    answer = Signal(str)  # the next piece of the answer
    thinking = Signal(str)  # the next piece of the thinking
    finished = Signal(object)  # AskDone
    failed = Signal(str)
    turn = Signal(object)  # AskTurn: the thread the question went to, its rewrite, the notes
    stopped = Signal()  # cancelled before the answer was done (what streamed so far stays)
    busy_changed = Signal(bool)

    def __init__(self, service: IpponService, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.runner = runner
        self._op: Op | None = None
        self.thread_id: str | None = None  # the thread questions continue; None starts a new one
        self._question = ""
        self._got_sources = False
        self._done = False

    @property
    def busy(self) -> bool:
        return self._op is not None

    def ask(self, question: str, *, thinking: str = "off", budget: int = 512, max_tokens: int = 1024) -> None:
        question = question.strip()
        if not question or self._op is not None:
            return
        self._question, self._got_sources, self._done = question, False, False
        settings = ChatSettings(thinking=thinking != "off", think_budget=budget if thinking == "budget" else None,
                                max_tokens=max_tokens)
        service, thread = self.service, self.thread_id
        if service.config.llm:
            def work():  # noqa: ANN202 - a stream of events; closing it (on cancel) stops the model
                return service.ask(question, retrieval=service.retrieval_settings(), chat=settings, thread=thread)
        else:
            # No answering model yet: search still works, and its results are the sources shown (kept as a turn).
            def work():  # noqa: ANN202
                return service.search_turn(question, retrieval=service.retrieval_settings(rerank=False), thread=thread)
        self._op = self.runner.op(work, model=True)
        self._op.progress(self._on_event).failure(self._on_failure).finally_(self._on_finished).run()
        self.busy_changed.emit(True)

    def cancel(self) -> None:
        if self._op is not None:
            self._op.cancel.set()

    def _on_event(self, event: object) -> None:
        if isinstance(event, AskSources):
            self._got_sources = True
            self.sources.emit(event.sources)
        elif isinstance(event, AskTurn):
            self.thread_id = event.thread_id
            self.turn.emit(event)
        elif isinstance(event, AnswerDelta):
            self.answer.emit(event.text)
        elif isinstance(event, ThinkingDelta):
            self.thinking.emit(event.text)
        elif isinstance(event, AskDone):
            self._done = True
            self.finished.emit(event)

    def _on_failure(self, exc: BaseException) -> None:
        self.failed.emit(user_message(exc))  # an engine's error, introduced in the user's language
        if not self._got_sources:
            # The model failed before the sources were shown (loading it, say): the search alone still
            # works, and what it found is worth showing beside the error.
            service, question = self.service, self._question
            self.runner.op(lambda: search_citations(service.search(question, service.retrieval_settings(rerank=False)))
                           ).success(self.sources.emit).run()

    def _on_finished(self) -> None:
        op, self._op = self._op, None
        if op is not None and op.cancel.is_set() and not self._done:
            self.stopped.emit()
        self.busy_changed.emit(False)


def search_citations(found: Retrieval) -> list[Citation]:
    """Search results numbered as citations, for showing them where an answer would cite them."""
    return [Citation.of(n, r) for n, r in enumerate(found.results, 1)]
