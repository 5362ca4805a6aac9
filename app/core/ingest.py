"""Ingest: files -> parsed sections -> chunks -> the store, in two phases.

Phase 1 (`index_paths`) parses, chunks and stores text, so every file is searchable by
keyword within seconds. Phase 2 (`embed_pending`) computes vectors for the chunks that have
none (or have one from older text), in batches; it can stop at any point and resume.

An unchanged file costs a stat and a hash. Bad files are recorded with their reason and
never stop the run. Work is committed in batches of whole files (see store.py for why a kill
at any point is safe).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import IpponError
from ..locale import _
from . import sources
from .chunking import TokenCounter, chunk_sections, estimate_tokens
from .discovery import Found, LinkPolicy, Problem, discover, is_under
from .sources.base import ParsedDocument
from .store import (ChunkRecord, FileUpdate, LibraryStore, SourceRecord, normalize_path, search_text, source_id_for,
                    text_hash)

_BATCH_FILES = 64
_BATCH_CHUNKS = 4000


@dataclass(frozen=True, slots=True)
class ChunkingSettings:
    max_tokens: int = 400
    overlap: float = 0.15
    count_tokens: TokenCounter = estimate_tokens
    tokenizer: str = "estimate"  # names what count_tokens counts; a change re-chunks every file

    @property
    def chunker_id(self) -> str:
        return f"{self.tokenizer}/{self.max_tokens}/{self.overlap:g}"


@dataclass(frozen=True, slots=True)
class IngestProgress:
    phase: str  # "scan" | "index" | "embed"
    done: int  # files (scan, index) or chunks (embed)
    total: int
    path: str = ""
    chunks: int = 0
    eta_s: float | None = None


ProgressCallback = Callable[[IngestProgress], None]


@dataclass(slots=True)
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    skipped: int = 0  # files of unknown types, and links not followed
    chunks: int = 0  # chunks written in this run
    vectors: int = 0  # vectors computed in this run
    cancelled: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped_paths: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) of links not followed

    def as_dict(self) -> dict[str, int | bool]:
        data = asdict(self)
        del data["failures"], data["skipped_paths"]
        return data


class _Eta:
    def __init__(self, total: int) -> None:
        self.total, self.start = total, time.monotonic()

    def __call__(self, done: int) -> float | None:
        elapsed = time.monotonic() - self.start
        return elapsed / done * (self.total - done) if done and elapsed > 0.5 else None


def file_hash(path: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    # Discovery has just found it a regular file; a swap since is caught on the open file.
    with sources.reading.open_regular_file(path, just_listed=True) as fh:
        while block := os.read(fh.fd, 1 << 20):
            digest.update(block)
    return digest.hexdigest()


def index_paths(store: LibraryStore, roots: Sequence[str], *, chunking: ChunkingSettings,
                max_bytes: int = 200 * 2**20, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None, prune: bool = True,
                excluded: Callable[[str], bool] | None = None, links: LinkPolicy = LinkPolicy()) -> IngestSummary:
    """Phase 1 for everything under `roots` (absolute paths as on the disk). With `prune`, stored files
    under a root that are gone from the disk lose their chunks. `excluded` names files the user removed
    from inside a root: they are passed over (and pruned) as if gone."""
    summary = IngestSummary()
    found: list[Found] = []
    listed: set[str] = set()
    for root in roots:
        for item in discover(root, links=links):
            if excluded is not None and excluded(item.path):
                continue
            if isinstance(item, Problem):
                (summary.skipped_paths if item.skipped else summary.failures).append((item.path, item.reason))
                continue
            listed.add(item.path)
            if sources.format_for(Path(item.path)) is None:
                summary.skipped += 1
            else:
                found.append(item)
    # A link skipped under one root may be a root of its own, which the user chose to follow.
    summary.failures = [(path, reason) for path, reason in summary.failures if path not in listed]
    summary.skipped_paths = [(path, reason) for path, reason in summary.skipped_paths if path not in listed]
    stored = {s.path: s for s in store.sources()}
    chunk_counts = store.chunk_counts()
    present = {f.path for f in found} | {p for p, _ in summary.failures + summary.skipped_paths}
    if prune:
        normalized = [normalize_path(root) for root in roots]
        gone = [s.source_id for path, s in stored.items()
                if path not in present and any(is_under(path, root) for root in normalized)]
        summary.removed = store.remove_sources(gone)

    pending: list[FileUpdate] = []
    eta = _Eta(len(found))
    for done, item in enumerate(found, 1):
        if cancel is not None and cancel.is_set():
            summary.cancelled = True
            break
        previous = stored.get(item.path)
        held = chunk_counts.get(previous.source_id, 0) if previous is not None else 0
        update = _index_file(item, previous, chunking, max_bytes, summary, stored_chunks=held)
        if update is not None:
            pending.append(update)
            summary.chunks += len(update.chunks)
        if len(pending) >= _BATCH_FILES or sum(len(u.chunks) for u in pending) >= _BATCH_CHUNKS:
            store.write_files(pending)
            pending = []
        if progress is not None:
            progress(IngestProgress("index", done, len(found), item.path, summary.chunks, eta(done)))
    store.write_files(pending)
    new_problems = (_record_problems(store, summary.failures, stored)
                    + _record_problems(store, summary.skipped_paths, stored, status="skipped"))
    summary.failed += len(summary.failures)
    summary.skipped += len(summary.skipped_paths)
    if summary.added or summary.updated or summary.removed or summary.chunks or new_problems:
        store.optimize()
    return summary


def _index_file(item: Found, previous: SourceRecord | None, chunking: ChunkingSettings, max_bytes: int,
                summary: IngestSummary, *, stored_chunks: int) -> FileUpdate | None:
    fmt = sources.format_for(Path(item.path))
    version = sources.PARSER_VERSION
    try:
        digest = file_hash(item.fs_path) if item.size <= max_bytes else f"size:{item.size}:{item.mtime_ns}"
    except OSError as exc:
        digest = None
        error = f"{item.path}: {_os_reason(exc)}"
    except sources.ParseError as exc:
        digest, error = None, str(exc)
    if (digest is not None and previous is not None and previous.content_hash == digest
            and previous.parser_version == version and previous.chunker == chunking.chunker_id
            and stored_chunks == previous.chunks):  # unchanged means its chunks are really there
        summary.unchanged += 1
        return None
    record = SourceRecord(source_id=source_id_for(item.path), path=item.path, format=fmt or "", size=item.size,
                          mtime_ns=item.mtime_ns, content_hash=digest or "", status="indexed",
                          parser_version=version, chunker=chunking.chunker_id,
                          indexed_at=datetime.now(timezone.utc))
    if digest is None:
        return _failed(record, error, summary)
    try:
        doc = sources.parse_file(Path(item.fs_path), max_bytes=max_bytes)
    except sources.ParseError as exc:
        return _failed(record, str(exc), summary)
    chunks = _chunks_for(record, doc, chunking)
    record.chunks = len(chunks)
    record.title = doc.title
    record.warnings = "; ".join(doc.warnings) or None
    if doc.image is not None:
        record.image_width, record.image_height = doc.image.width, doc.image.height
        record.taken_at, record.thumbnail = doc.image.taken_at, doc.image.thumbnail_png
    if previous is None:
        summary.added += 1
    else:
        summary.updated += 1
    return FileUpdate(record, chunks)


def _failed(record: SourceRecord, error: str, summary: IngestSummary) -> FileUpdate:
    record.status, record.error = "failed", error
    summary.failed += 1
    return FileUpdate(record, [])


def _chunks_for(record: SourceRecord, doc: ParsedDocument, chunking: ChunkingSettings) -> list[ChunkRecord]:
    sections = doc.sections
    if doc.image is not None:
        # An image competes by its text: its name, description and OCR text.
        name = Path(record.path).stem
        sections = [type(s)(f"{name}\n{s.text}".strip(), s.page, s.slide, s.heading, s.kind) for s in sections] \
            or [sources.base.Section(name, kind="image")]
    pieces = chunk_sections(sections, count_tokens=chunking.count_tokens, max_tokens=chunking.max_tokens,
                            overlap=chunking.overlap)
    out = []
    for ordinal, piece in enumerate(pieces):
        normalized = search_text(piece.text)
        out.append(ChunkRecord(chunk_id=f"{record.source_id}-{ordinal:06d}", source_id=record.source_id,
                               ordinal=ordinal, path=record.path, format=record.format, text=piece.text,
                               search_text=normalized, text_hash=text_hash(normalized), page=piece.page,
                               slide=piece.slide, heading=piece.heading, kind=piece.kind,
                               char_start=piece.start, char_end=piece.end, mtime_ns=record.mtime_ns))
    return out


def _record_problems(store: LibraryStore, problems: list[tuple[str, str]],
                     stored: dict[str, SourceRecord], *, status: str = "failed") -> int:
    """Files that could not even be listed (broken links, loops, bad names), and links not followed, are shown
    as sources with `status` ("failed" or "skipped") and the reason. Returns how many were new or changed."""
    now = datetime.now(timezone.utc)
    updates = [FileUpdate(SourceRecord(source_id=source_id_for(path), path=path, format="", size=0, mtime_ns=0,
                                       content_hash="", status=status, error=f"{path}: {reason}",
                                       indexed_at=now))
               for path, reason in problems
               if path not in stored or stored[path].error != f"{path}: {reason}" or stored[path].status != status]
    store.write_files(updates)
    return len(updates)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "disappeared while reading"
    return exc.strerror or str(exc)


def embed_pending(store: LibraryStore, embed: Callable[[list[str]], np.ndarray], *, batch_size: int = 32,
                  progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> int:
    """Phase 2: vectors for every chunk without one. Returns how many were written; resumable."""
    total = store.count_pending_vectors()
    eta = _Eta(total)
    done = 0
    while rows := store.pending_vectors(limit=_BATCH_CHUNKS):
        for start in range(0, len(rows), batch_size):
            if cancel is not None and cancel.is_set():
                return done
            ids, texts, hashes = zip(*rows[start:start + batch_size], strict=True)
            store.write_vectors(ids, hashes, embed(list(texts)))
            done += len(ids)
            if progress is not None:
                progress(IngestProgress("embed", done, max(total, done), eta_s=eta(done)))
    if done:
        store.optimize()
    return done


def stored_under(store: LibraryStore, roots: Iterable[str]) -> list[SourceRecord]:
    roots = list(roots)
    return [s for s in store.sources() if any(is_under(s.path, r) for r in roots)]


def ensure_exists(paths: Iterable[Path]) -> None:
    for path in paths:
        if not os.path.lexists(path):
            raise IpponError(_("{path}: no such file or folder").format(path=path))
