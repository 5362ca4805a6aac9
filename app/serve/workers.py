"""One worker thread per model, with a bounded number of admitted requests.

A model (llama.cpp context, MLX graph) is not safe to drive from two threads at once, and
a request that waits forever is worse than one told to come back later. So each model runs
every call on its own thread, in arrival order, and a request is admitted only while the
model has room (one running plus `queue` waiting); otherwise it gets ServerBusyError, which
the API answers with 429 and Retry-After. Everything else (lexical search, fusion, packing
the prompt) runs on the caller's thread, concurrently with the models.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from engines import CancelToken, ChatDone

from ..errors import IpponError
from ..locale import _


class ServerBusyError(IpponError):
    """A model has no room for another request right now; `retry_after` seconds is a fair wait."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    role: str
    name: str
    admitted: int  # requests holding a place (running or waiting)
    capacity: int
    cancelled: int  # generations stopped by their cancel token (a client gone)
    max_tokens_after_cancel: int  # the most tokens any of them produced after the token was set


_STOP = object()


def role_label(role: str) -> str:
    """A model's role as users read it."""
    return {"chat": _("LLM"), "embedder": _("embedder"), "reranker": _("reranker")}.get(role, role)


class ModelWorker:
    """Runs every call to one model on one thread, in order."""

    def __init__(self, role: str, model: Any, *, queue_size: int) -> None:
        self.role = role
        self.model = model
        self.capacity = queue_size + 1  # the one running, and those waiting behind it
        self._admitted = 0
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._mean_s = 1.0  # a running mean of a request's time, for Retry-After
        self._cancelled = 0
        self._max_late = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"ippon-{role}", daemon=True)
        self._thread.start()

    @property
    def name(self) -> str:
        return str(getattr(self.model, "name", self.role))

    def status(self) -> WorkerStatus:
        return WorkerStatus(self.role, self.name, self._admitted, self.capacity, self._cancelled, self._max_late)

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold a place for one request, or raise ServerBusyError at once (never wait for one)."""
        with self._lock:
            if self._admitted >= self.capacity:
                retry = max(1, math.ceil(self._mean_s * self._admitted))
                raise ServerBusyError(_("the {role} is busy with {n} requests; try again in {s} s")
                                      .format(role=role_label(self.role), n=self._admitted, s=retry),
                                      retry_after=retry)
            self._admitted += 1
        start = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._admitted -= 1
                self._mean_s = 0.8 * self._mean_s + 0.2 * (time.monotonic() - start)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run model.method(*args, **kwargs) on the worker thread and wait for its result."""
        if self._closed:  # the server stopped; whoever still holds the model (the window) calls it directly
            return getattr(self.model, method)(*args, **kwargs)
        future: Future = Future()
        self._jobs.put((future, lambda: getattr(self.model, method)(*args, **kwargs)))
        return future.result()

    def stream(self, method: str, *args: Any, cancel: CancelToken | None = None, **kwargs: Any) -> Iterator[Any]:
        """Iterate model.method(...) on the worker thread; the events come back through a queue.

        The caller's `cancel` token is passed to the model, which checks it between tokens, so a
        cancelled stream frees the worker after at most one more token.
        """
        if self._closed:
            yield from getattr(self.model, method)(*args, cancel=cancel, **kwargs)
            return
        events: queue.SimpleQueue = queue.SimpleQueue()
        done = object()

        def produce() -> None:
            late = 0  # tokens after the cancel token was set: the promise is at most one
            try:
                for event in getattr(self.model, method)(*args, cancel=cancel, **kwargs):
                    late += cancel is not None and cancel.cancelled and not isinstance(event, ChatDone)
                    events.put(event)
            except BaseException as exc:  # handed to the consumer, who raises it where it can be reported
                events.put(_Failure(exc))
            if cancel is not None and cancel.cancelled:
                with self._lock:
                    self._cancelled += 1
                    self._max_late = max(self._max_late, late)
            events.put(done)

        future: Future = Future()
        self._jobs.put((future, produce))
        while (event := events.get()) is not done:
            if isinstance(event, _Failure):
                raise event.exc
            yield event

    def close(self) -> None:
        """Stop the thread after the calls already queued."""
        self._closed = True
        self._jobs.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not _STOP:
            future, work = job
            try:
                future.set_result(work())
            except BaseException as exc:
                future.set_exception(exc)


@dataclass(frozen=True, slots=True)
class _Failure:
    exc: BaseException


class WorkerBoundModel:
    """A model whose every method call runs on its worker: what the service holds while serving."""

    _STREAMING = frozenset({"chat"})

    def __init__(self, worker: ModelWorker) -> None:
        self._worker = worker

    def unbound(self) -> Any:
        """The model itself, for whoever keeps using it once the server stops."""
        return self._worker.model

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._worker.model, name)
        if not callable(value):
            return value
        if name in self._STREAMING:
            return lambda *args, **kwargs: self._worker.stream(name, *args, **kwargs)
        return lambda *args, **kwargs: self._worker.call(name, *args, **kwargs)


@contextmanager
def admitted(*workers: ModelWorker | None) -> Iterator[None]:
    """A place on each of these workers (None: a model not configured, so not needed), or ServerBusyError."""
    with ExitStack() as stack:
        for worker in workers:
            if worker is not None:
                stack.enter_context(worker.admitted())
        yield
