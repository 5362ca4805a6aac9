"""Running core work off the main thread, and handing results back to it as Qt signals.

As in Anki's taskman: `Op(runner, fn).success(cb).failure(cb).progress(cb).run()`. Model work
(asking, embedding) goes to a single worker, because an engine holds one model context that
must not be used from two threads; library work (ingest, listing) goes to another single
worker, so two ingests never race for the library lock. Callbacks always run on the main
thread: the relay object lives there and the worker only emits its signals.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Relay(QObject):
    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(object)
    finished = Signal()


class Op:
    """One background operation. `fn` is called with `progress=` and `cancel=` when it accepts them."""

    def __init__(self, runner: TaskRunner, fn: Callable[..., Any], *, model: bool = False,
                 passes: tuple[str, ...] = ()) -> None:
        self.runner = runner
        self.fn = fn
        self.model = model
        self.passes = passes  # which of "progress", "cancel" to pass to fn
        self.cancel = threading.Event()
        self.relay = _Relay()
        self.done = threading.Event()
        self.runnable: QRunnable | None = None  # kept by the op: see TaskRunner.start

    def success(self, callback: Callable[[Any], None]) -> Op:
        self.relay.succeeded.connect(callback)
        return self

    def failure(self, callback: Callable[[BaseException], None]) -> Op:
        self.relay.failed.connect(callback)
        return self

    def progress(self, callback: Callable[[Any], None]) -> Op:
        """Progress events, or the items of a stream when `fn` returns an iterator."""
        self.relay.progressed.connect(callback)
        return self

    def finally_(self, callback: Callable[[], None]) -> Op:
        self.relay.finished.connect(callback)
        return self

    def run(self) -> Op:
        self.runner.start(self)
        return self

    def _work(self) -> None:
        kwargs: dict[str, Any] = {}
        if "progress" in self.passes:
            kwargs["progress"] = self.relay.progressed.emit
        if "cancel" in self.passes:
            kwargs["cancel"] = self.cancel
        try:
            result = self.fn(**kwargs)
            if isinstance(result, Iterator):  # a stream: every item is a progress event
                for item in result:
                    if self.cancel.is_set():
                        result.close()
                        break
                    self.relay.progressed.emit(item)
                result = None
            self.relay.succeeded.emit(result)
        except BaseException as exc:  # noqa: BLE001 - shown to the user, never lost in a thread
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            self.relay.failed.emit(exc)
        finally:
            self.done.set()
            self.relay.finished.emit()


class _Runnable(QRunnable):
    def __init__(self, op: Op) -> None:
        super().__init__()
        self.op = op

    def run(self) -> None:
        self.op._work()  # noqa: SLF001


class TaskRunner(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pools = {True: QThreadPool(self), False: QThreadPool(self)}
        for pool in self._pools.values():
            pool.setMaxThreadCount(1)
        self._active: set[Op] = set()

    def start(self, op: Op) -> None:
        # Nothing of an operation may be freed on a worker thread or by chance at exit. A runnable Qt deletes
        # itself (autoDelete) dropped the last references to the op, its relay and their Python slots on the
        # worker thread, and quitting after a few dozen operations crashed or warned ("QObject: shared
        # QObject was deleted directly"). So Python keeps the runnable (with the op, freed on this thread)
        # and Qt owns the relay, deleted here once its last signal was delivered.
        op.relay.setParent(self)
        self._active.add(op)
        op.relay.finished.connect(lambda: self._over(op))
        op.runnable = _Runnable(op)
        op.runnable.setAutoDelete(False)
        self._pools[op.model].start(op.runnable)

    def _over(self, op: Op) -> None:
        self._active.discard(op)
        op.relay.deleteLater()  # after this last signal's other slots, on the main thread

    def op(self, fn: Callable[..., Any], *, model: bool = False, takes: tuple[str, ...] = ()) -> Op:
        """`takes`: which of "progress" and "cancel" fn accepts as keyword arguments."""
        return Op(self, fn, model=model, passes=takes)

    def cancel_all(self) -> None:
        for op in list(self._active):
            op.cancel.set()

    def wait(self, msecs: int = 30_000) -> bool:
        """Wait for every running operation (after cancel_all, when closing)."""
        return all(pool.waitForDone(msecs) for pool in self._pools.values())

    @property
    def busy(self) -> bool:
        """Whether any operation is still working (its callbacks may still be queued)."""
        return any(not op.done.is_set() for op in self._active)
