"""A library watched on a thread for the length of a `with` block, and waiting for the update a test expects."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app.core.ingest import IngestSummary
from app.core.library import Library
from app.core.watch import watch_library


@contextmanager
def watching(library: Library) -> Iterator[queue.Queue]:
    """Yields the queue each of the watcher's updates arrives on; the watcher has stopped when the block ends."""
    updates: queue.Queue = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=watch_library, args=(library,),
                              kwargs={"on_update": updates.put, "stop": stop, "settle": 0.3}, daemon=True)
    thread.start()
    try:
        yield updates
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive(), "the watcher did not stop"


def wait_for(updates: queue.Queue, predicate: Callable[[IngestSummary], bool],
             timeout: float = 30.0) -> IngestSummary:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            summary = updates.get(timeout=0.5)
        except queue.Empty:
            continue
        if predicate(summary):
            return summary
    raise AssertionError("the watcher did not report the change in time")
