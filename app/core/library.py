"""The library: the folders and files the user added, kept indexed (the facade's library half).

Roots (what the user added, and whether each is watched) live in `library.json` beside the
database, written atomically. Only one process writes to the library at a time: writers
take `library.lock`; readers never wait.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..locale import _
from ..config import Config
from ..errors import IpponError
from .discovery import LinkPolicy, is_under
from .exclusions import ExclusionList
from .ingest import (ChunkingSettings, IngestProgress, IngestSummary, ProgressCallback, embed_pending, ensure_exists,
                     index_paths)
from .store import LibraryStore, SourceRecord, normalize_path


class LibraryBusyError(IpponError):
    """Another Ippon process is writing to the library."""


@dataclass(frozen=True, slots=True)
class Root:
    path: str  # absolute, as on the disk
    watch: bool = False

    @property
    def key(self) -> str:
        return normalize_path(self.path)


class Library:
    def __init__(self, config: Config, *, chunking: ChunkingSettings | None = None,
                 embedder_factory: Callable[[], tuple[str, int, Callable]] | None = None) -> None:
        """`embedder_factory` returns (embedder id, dimension, embed(texts) -> vectors) when one is configured."""
        self.config = config
        self.data_dir = config.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = LibraryStore(self.data_dir)
        self.chunking = chunking or ChunkingSettings(max_tokens=config.chunk_tokens, overlap=config.chunk_overlap)
        self._embedder_factory = embedder_factory
        self._roots_file = self.data_dir / "library.json"
        self.exclusions = ExclusionList(self.data_dir)

    # --- roots ----------------------------------------------------------------------------

    def link_policy(self) -> LinkPolicy:
        """Symbolic links inside the roots stay inside them unless the configuration says otherwise."""
        return LinkPolicy(follow_external=self.config.follow_external_links,
                          added=frozenset(r.path for r in self.roots()))

    def roots(self) -> list[Root]:
        if not self._roots_file.exists():
            return []
        try:
            data = json.loads(self._roots_file.read_text(encoding="utf-8"))
            return [Root(r["path"], bool(r.get("watch"))) for r in data["roots"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IpponError(_("{file}: the list of library folders is damaged ({reason}); fix or delete it and add "
                               "the folders again").format(file=self._roots_file, reason=exc)) from exc

    def _save_roots(self, roots: Iterable[Root]) -> None:
        tmp = self._roots_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"roots": [{"path": r.path, "watch": r.watch} for r in roots]},
                                  ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, self._roots_file)

    @contextmanager
    def writing(self) -> Iterator[None]:
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.data_dir / "library.lock"))
        try:
            lock.acquire(timeout=0.5)
        except Timeout as exc:
            raise LibraryBusyError(_("another Ippon process (an ingest or `ippon watch`) is updating the library; "
                                     "wait for it to finish or stop it")) from exc
        try:
            self.store.repair()  # what a killed writer left half-done
            yield
        finally:
            lock.release()

    # --- operations -----------------------------------------------------------------------

    def add(self, paths: Iterable[Path], *, watch: bool = False, vectors: bool = True,
            progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> IngestSummary:
        paths = list(paths)
        ensure_exists(paths)
        new = [str(Path(p).expanduser().absolute()) for p in paths]
        with self.writing():
            if not self._upgrade_index(progress, cancel):
                return IngestSummary(cancelled=True)
            roots = {r.key: r for r in self.roots()}
            for path in new:
                key = normalize_path(path)
                roots[key] = Root(path, watch or (key in roots and roots[key].watch))
            self._save_roots(roots.values())
            self.exclusions.readmit(new)
            summary = index_paths(self.store, new, chunking=self.chunking, max_bytes=self.config.max_file_bytes,
                                  progress=progress, cancel=cancel, excluded=self.exclusions.matcher(),
                                  links=self.link_policy())
            if vectors and not summary.cancelled:
                summary.vectors = self._embed(progress, cancel)
        return summary

    def set_watch(self, path: Path, watch: bool) -> None:
        """Follow (or stop following) a folder already in the library."""
        key = normalize_path(path)
        with self.writing():
            roots = self.roots()
            if not any(r.key == key for r in roots):
                raise IpponError(_("{path}: not in the library").format(path=path))
            self._save_roots(Root(r.path, watch) if r.key == key else r for r in roots)

    def remove(self, paths: Iterable[Path]) -> int:
        targets = [normalize_path(p) for p in paths]
        with self.writing():
            kept = [r for r in self.roots() if not any(is_under(r.key, t) for t in targets)]
            self._save_roots(kept)
            # A file taken out of a folder that stays would come back on the next scan: remember it.
            self.exclusions.exclude(t for t in targets if any(is_under(t, r.key) for r in kept))
            gone = [s.source_id for s in self.store.sources() if any(is_under(s.path, t) for t in targets)]
            if not gone:
                raise IpponError(_("{paths}: not in the library (see `ippon sources`)").format(paths=", ".join(targets)))
            return self.store.remove_sources(gone)

    def refresh(self, *, vectors: bool = True, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> IngestSummary:
        """Bring every root up to date (what `ippon add` does for new paths)."""
        with self.writing():
            if not self._upgrade_index(progress, cancel):
                return IngestSummary(cancelled=True)
            summary = index_paths(self.store, [r.path for r in self.roots()], chunking=self.chunking,
                                  max_bytes=self.config.max_file_bytes, progress=progress, cancel=cancel,
                                  excluded=self.exclusions.matcher(), links=self.link_policy())
            if vectors and not summary.cancelled:
                summary.vectors = self._embed(progress, cancel)
        return summary

    def reindex(self, *, vectors_only: bool = False, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> IngestSummary:
        """Parse everything again (or, with vectors_only, recompute every vector with the current embedder)."""
        with self.writing():
            if not self._upgrade_index(progress, cancel):
                return IngestSummary(cancelled=True)
            summary = IngestSummary()
            if not vectors_only:
                self.store.remove_sources(s.source_id for s in self.store.sources())
                summary = index_paths(self.store, [r.path for r in self.roots()], chunking=self.chunking,
                                      max_bytes=self.config.max_file_bytes, progress=progress, cancel=cancel,
                                      excluded=self.exclusions.matcher(), links=self.link_policy())
            if not summary.cancelled:
                summary.vectors = self._embed(progress, cancel, replace=True)
        return summary

    def upgrade_index(self, *, progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None) -> bool:
        """Rebuild the keyword index of a library made by older code (store.upgrade_index); False if cancelled."""
        with self.writing():
            return self._upgrade_index(progress, cancel)

    def _upgrade_index(self, progress: ProgressCallback | None, cancel: threading.Event | None) -> bool:
        # Every write needs the current chunk columns, so each writer upgrades first (a no-op once done).
        on_progress = None if progress is None else (
            lambda done, total: progress(IngestProgress("analyse", done, total, chunks=done)))
        self.store.upgrade_index(progress=on_progress, cancel=cancel)
        return not self.store.index_outdated()

    def embed_pending(self, *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                      batch_size: int = 32) -> int:
        with self.writing():
            return self._embed(progress, cancel, batch_size=batch_size)

    def embed_pending_locked(self, progress: ProgressCallback | None = None,
                             cancel: threading.Event | None = None) -> int:
        """embed_pending for a caller that already holds the library lock (the watcher)."""
        return self._embed(progress, cancel)

    def _embed(self, progress: ProgressCallback | None, cancel: threading.Event | None, *,
               replace: bool = False, batch_size: int = 32) -> int:
        if self._embedder_factory is None:
            return 0  # no embedder yet: keyword search works, vectors wait (`ippon reindex --vectors`)
        embedder_id, dim, embed = self._embedder_factory()
        self.store.use_embedder(embedder_id, dim, replace=replace)
        return embed_pending(self.store, embed, progress=progress, cancel=cancel, batch_size=batch_size)

    def sources(self, *, errors_only: bool = False) -> list[SourceRecord]:
        records = self.store.sources()
        return [s for s in records if s.status != "indexed"] if errors_only else records  # failed or skipped
