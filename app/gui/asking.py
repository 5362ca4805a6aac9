"""Asking from a window: runs IpponService.ask on the model worker and re-emits its events as signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engines import AnswerDelta, ChatSettings, ThinkingDelta

from ..core.answer import AskDone, AskSources, Citation
from ..core.service import IpponService
from .tasks import Op, TaskRunner

THINKING_MODES = ("off", "on", "budget")


class AskController(QObject):
    sources = Signal(object)  # list[Citation]
    answer = Signal(str)  # the next piece of the answer
    thinking = Signal(str)  # the next piece of the thinking
    finished = Signal(object)  # AskDone
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, service: IpponService, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.runner = runner
        self._op: Op | None = None

    @property
    def busy(self) -> bool:
        return self._op is not None

    def ask(self, question: str, *, thinking: str = "off", budget: int = 512, max_tokens: int = 1024) -> None:
        question = question.strip()
        if not question or self._op is not None:
            return
        settings = ChatSettings(thinking=thinking != "off", think_budget=budget if thinking == "budget" else None,
                                max_tokens=max_tokens)
        service = self.service
        if service.config.llm:
            def work():  # noqa: ANN202 - a stream of events; closing it (on cancel) stops the model
                return service.ask(question, retrieval=service.retrieval_settings(), chat=settings)
        else:
            # No answering model yet: search still works, and its results are the sources shown.
            def work():  # noqa: ANN202
                found = service.search(question, service.retrieval_settings(rerank=False))
                sources = [Citation(n, r.hit.path, r.hit.page, r.hit.slide, r.hit.heading, r.hit.char_start,
                                    r.hit.char_end, r.hit.text, r.score) for n, r in enumerate(found.results, 1)]
                return iter([AskSources(sources, 0), AskDone("", "", [], sources, not_found=not sources,
                                                             timings=found.timings)])
        self._op = self.runner.op(work, model=True)
        self._op.progress(self._on_event).failure(self._on_failure).finally_(self._on_finished).run()
        self.busy_changed.emit(True)

    def cancel(self) -> None:
        if self._op is not None:
            self._op.cancel.set()

    def _on_event(self, event: object) -> None:
        if isinstance(event, AskSources):
            self.sources.emit(event.sources)
        elif isinstance(event, AnswerDelta):
            self.answer.emit(event.text)
        elif isinstance(event, ThinkingDelta):
            self.thinking.emit(event.text)
        elif isinstance(event, AskDone):
            self.finished.emit(event)

    def _on_failure(self, exc: BaseException) -> None:
        self.failed.emit(str(exc))

    def _on_finished(self) -> None:
        self._op = None
        self.busy_changed.emit(False)
