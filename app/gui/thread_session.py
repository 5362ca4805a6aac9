"""The window's side of conversations: which thread the ask panel continues, the sidebar kept in step,
citations clicked in any turn, and the answer's actions (copy with sources, regenerate, stop)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from ..core.answer import AskDone
from ..core.conversation import AskTurn
from ..core.service import IpponService
from ..core.threads import export_markdown
from .citations import answer_with_sources, usage_label
from .threads_panel import ThreadsPanel


class AnswerActions(QWidget):
    """Under the conversation: copy the last answer with its sources, ask it again, stop it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.copy_button = QPushButton(self.tr("Copy answer with sources"))
        self.regenerate_button = QPushButton(self.tr("Regenerate"))
        self.stop_button = QPushButton(self.tr("Stop"))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for button in (self.copy_button, self.regenerate_button, self.stop_button):
            row.addWidget(button)
        row.addStretch()
        self.set_state(busy=False, has_answer=False)

    def set_state(self, *, busy: bool, has_answer: bool) -> None:
        self.stop_button.setEnabled(busy)
        self.copy_button.setEnabled(has_answer and not busy)
        self.regenerate_button.setEnabled(has_answer and not busy)


class ThreadSession(QObject):
    """Keeps the ask panel, its controller and the sidebar on one thread."""

    changed = Signal()  # the list of threads changed (tests wait on it)

    def __init__(self, *, service: Callable[[], IpponService], panel: ThreadsPanel, ask_panel,  # noqa: ANN001
                 actions: AnswerActions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self.panel = panel
        self.ask_panel = ask_panel
        self.view = ask_panel.answer_view
        self.controller = ask_panel.controller
        self.actions = actions
        self.last_turn_id: str | None = None
        panel.new_requested.connect(self.new_thread)
        panel.thread_selected.connect(self.open_thread)
        panel.rename_requested.connect(self.rename)
        panel.delete_requested.connect(self.delete)
        panel.export_requested.connect(self.export)
        panel.search_changed.connect(lambda _text: self.refresh())
        self.view.citation_clicked.connect(self.show_citation)
        self.controller.turn.connect(self._on_turn)
        self.controller.finished.connect(self._on_finished)
        self.controller.busy_changed.connect(self._update_actions)
        self.controller.stopped.connect(self.refresh)
        actions.copy_button.clicked.connect(self.copy_answer)
        actions.regenerate_button.clicked.connect(self.regenerate)
        actions.stop_button.clicked.connect(self.controller.cancel)
        self.refresh()

    @property
    def service(self) -> IpponService:
        return self._service()

    @property
    def thread_id(self) -> str | None:
        return self.controller.thread_id

    def refresh(self) -> None:
        try:
            threads = self.service.threads.list(search=self.panel.search.text())
        except Exception as exc:  # noqa: BLE001 - a ThreadError: say it where the list would be
            self.panel.empty.setText(str(exc))
            threads = []
        self.panel.set_threads(threads, current=self.thread_id)
        self.changed.emit()

    # --- threads --------------------------------------------------------------------------------

    def new_thread(self) -> None:
        if self.controller.busy:
            return
        self.controller.thread_id = None
        self.last_turn_id = None
        self.view.clear_turns()
        self.ask_panel.show_sources([])
        self.panel.list.clearSelection()
        self.panel.list.setCurrentItem(None)
        self.ask_panel.question.setFocus()
        self._update_actions()

    def open_thread(self, thread_id: str) -> None:
        if self.controller.busy:
            return
        thread = self.service.threads.get(thread_id)
        self.controller.thread_id = thread.id
        self.view.set_turns(thread.turns)
        self.last_turn_id = thread.turns[-1].id if thread.turns else None
        last = self.view.current
        self.ask_panel.show_sources(last.sources if last else [])
        self._label_usage()
        self._update_actions()

    def rename(self, thread_id: str, title: str) -> None:
        self.service.threads.rename(thread_id, title)
        self.refresh()

    def delete(self, thread_id: str) -> None:
        self.service.threads.delete(thread_id)
        if thread_id == self.thread_id:
            self.new_thread()
        self.refresh()

    def export(self, thread_id: str) -> Path | None:
        """Write the thread as Markdown where the user chooses; its source links relative to that folder."""
        thread = self.service.threads.get(thread_id)
        path = self.panel.ask_export_path(thread.title)
        if path is None:
            return None
        try:
            path.write_text(export_markdown(thread, base=path.resolve().parent), encoding="utf-8")
        except OSError as exc:
            self.panel.show_error(self.tr("{path}: cannot write the export: {reason}").format(
                path=path, reason=exc.strerror or exc))
            return None
        return path

    # --- the turn being answered ----------------------------------------------------------------------

    def _on_turn(self, turn: AskTurn) -> None:
        self.last_turn_id = turn.turn_id
        self.view.set_notes(turn.notes)
        self.refresh()

    def _on_finished(self, done: AskDone) -> None:
        self.view.finish(done)
        self._label_usage()
        self.refresh()
        self._update_actions()

    def _update_actions(self, *_args: object) -> None:
        current = self.view.current
        self.actions.set_state(busy=self.controller.busy, has_answer=bool(current and current.answer))

    def _label_usage(self) -> None:
        """Say in the source list which sources the answer cited and which it was given but did not use."""
        current = self.view.current
        if current is None or not current.answer:
            return
        self.ask_panel.label_sources(lambda c: usage_label(c, current.cited))

    def show_citation(self, turn_index: int, n: int) -> None:
        """A [n] clicked in any turn: that turn's sources in the list, source n selected, its place shown."""
        turn = self.view.turns[turn_index]
        self.ask_panel.show_sources(turn.sources, select=n)
        if turn.answer:
            self.ask_panel.label_sources(lambda c: usage_label(c, turn.cited))

    # --- actions --------------------------------------------------------------------------------------

    def copy_answer(self) -> str:
        current = self.view.current
        text = answer_with_sources(current) if current else ""
        QGuiApplication.clipboard().setText(text)
        return text

    def regenerate(self) -> None:
        """Ask the last question again in its thread; the new answer replaces the old turn."""
        current = self.view.current
        if current is None or self.controller.busy:
            return
        if self.last_turn_id is not None:
            self.service.threads.delete_turn(self.last_turn_id)
        self.view.drop_current()
        self.ask_panel.question.setText(current.question)
        self.ask_panel.submit()

