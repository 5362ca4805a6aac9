"""Follow the watched folders (watchdog) and keep the library in step with edits, renames and deletions.

Events are collected, and once the folders have been quiet for `settle` seconds the burst is
handled as one update: a save that writes a temp file, renames it and touches it again is one
re-index, not three. The library lock is taken per update, so `ippon add` can run between.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .discovery import is_under
from .ingest import IngestSummary, index_paths
from .library import Library, LibraryBusyError
from .store import normalize_path


class _Collector:
    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.last_event = 0.0
        self.lock = threading.Lock()

    def dispatch(self, event) -> None:  # noqa: ANN001 - a watchdog FileSystemEvent
        if event.event_type in ("opened", "closed_no_write") or (event.is_directory and event.event_type == "modified"):
            return  # reads, and a folder's own timestamp changing when a file in it is saved
        with self.lock:
            for attr in ("src_path", "dest_path"):
                path = getattr(event, attr, None)
                if path:
                    self.paths.add(str(Path(os.fsdecode(path)).absolute()))
            self.last_event = time.monotonic()

    def take_if_settled(self, settle: float) -> set[str]:
        with self.lock:
            if not self.paths or time.monotonic() - self.last_event < settle:
                return set()
            paths, self.paths = self.paths, set()
            return paths

    def put_back(self, paths: set[str]) -> None:
        with self.lock:
            self.paths |= paths


def apply_changes(library: Library, paths: set[str]) -> IngestSummary:
    """Index what exists among `paths`; drop what is gone (a file, or a folder with everything in it)."""
    gone = {normalize_path(p) for p in paths if not os.path.lexists(p)}
    existing = sorted(p for p in paths if os.path.lexists(p) and not os.path.basename(p).startswith("."))
    summary = IngestSummary()
    if gone:
        ids = [s.source_id for s in library.store.sources() if any(is_under(s.path, g) for g in gone)]
        summary.removed = library.store.remove_sources(ids)
    if existing:
        done = index_paths(library.store, existing, chunking=library.chunking,
                           max_bytes=library.config.max_file_bytes, excluded=library.exclusions.matcher(),
                           links=library.link_policy())
        done.removed += summary.removed
        summary = done
    return summary


def watch_library(library: Library, *, on_update: Callable[[IngestSummary], None], stop: threading.Event,
                  settle: float = 1.0) -> None:
    """Run until `stop` is set: catch up once, then follow the watched roots."""
    from watchdog.observers import Observer

    roots = [r.path for r in library.roots() if r.watch]
    collector = _Collector()
    observer = Observer()
    for root in roots:
        if os.path.isdir(root):
            observer.schedule(collector, root, recursive=True)
    observer.start()  # before catching up, so nothing changed meanwhile is missed
    try:
        on_update(library.refresh())
        while not stop.wait(0.2):
            paths = collector.take_if_settled(settle)
            if not paths:
                continue
            try:
                with library.writing():
                    summary = apply_changes(library, paths)
                    library.embed_pending_locked()
            except LibraryBusyError:
                collector.put_back(paths)  # another writer is busy; try again after it
                continue
            on_update(summary)
    finally:
        observer.stop()
        observer.join(timeout=5)
