"""Image vectors from pixels (Qwen3-VL-Embedding): a photo with no text at all is found by a text question.

Optional per library (`image_embedder` in config.toml): it costs one vision pass per image. The
vectors live beside the library, one set per embedder (`image-vectors/<name>.npy` and a JSON list
of what each row is), apart from the text embedder's: the two models' spaces differ, so each is
searched with its own query vector and the ranks meet in reciprocal rank fusion. An image is
embedded again when its content changes; a removed one drops out; an unreadable one is skipped
with its reason, and the rest are still embedded.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engines import Candidate, CandidateFailure

from .store import Hit, LibraryStore

# The official examples' query task for mixed text and image retrieval; documents keep the default.
QUERY_INSTRUCTION = "Retrieve images or text relevant to the user's query."


@dataclass(frozen=True, slots=True)
class ImageIndexReport:
    embedded: int  # images embedded now
    kept: int  # unchanged since the last run
    failed: list[CandidateFailure]  # index: position in `paths`, reason names the file
    paths: list[str]  # every image of the library


class ImageVectors:
    """The image vectors of one library and one embedder, read from and written to `folder`."""

    def __init__(self, folder: Path, embedder_name: str) -> None:
        safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in embedder_name)[:120] or "embedder"
        self.matrix_path = Path(folder) / f"{safe}.npy"
        self.rows_path = Path(folder) / f"{safe}.json"
        self.rows: list[dict[str, Any]] = []
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        if self.rows_path.is_file() and self.matrix_path.is_file():
            try:
                self.rows = json.loads(self.rows_path.read_text(encoding="utf-8"))
                self.matrix = np.load(self.matrix_path, allow_pickle=False)
            except (OSError, ValueError):
                self.rows, self.matrix = [], np.zeros((0, 0), dtype=np.float32)  # rebuilt by the next update
            if len(self.rows) != len(self.matrix):
                self.rows, self.matrix = [], np.zeros((0, 0), dtype=np.float32)

    @property
    def dim(self) -> int | None:
        return int(self.matrix.shape[1]) if len(self.rows) else None

    def update(self, store: LibraryStore, embedder: Any, *, progress: Callable[[int, int], None] | None = None,
               cancel: threading.Event | None = None) -> ImageIndexReport:
        """Embed the library's images that are new or changed; forget the ones that are gone."""
        images = [s for s in store.sources() if s.format == "image" and s.status == "indexed"]
        known = {(r["source_id"], r["content_hash"]): i for i, r in enumerate(self.rows)}
        rows, vectors, todo = [], [], []
        for source in images:
            i = known.get((source.source_id, source.content_hash))
            if i is not None and self.matrix.shape[1] == embedder.dim:
                rows.append(self.rows[i])
                vectors.append(self.matrix[i])
            else:
                todo.append(source)
        kept, failed, done, embedded = len(rows), [], 0, 0
        position = {s.source_id: i for i, s in enumerate(images)}
        for source in todo:
            if cancel is not None and cancel.is_set():
                break
            chunks = store.chunks_of(source.source_id)
            if not chunks:
                continue
            chunk = chunks[0]  # an image is one record, with one chunk
            failures: list[CandidateFailure] = []
            vector = embedder.embed([Candidate(image=Path(source.path))], failures=failures)[0]
            done += 1
            if progress is not None:
                progress(done, len(todo))
            if failures:
                failed.append(CandidateFailure(position[source.source_id], failures[0].reason))
                continue
            embedded += 1
            hit = Hit(chunk.chunk_id, source.source_id, source.path, chunk.text, chunk.page, chunk.slide,
                      chunk.heading, chunk.char_start, chunk.char_end, 0.0)
            rows.append({**asdict(hit), "content_hash": source.content_hash})
            vectors.append(vector)
        self.rows = rows
        self.matrix = np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, embedder.dim), np.float32)
        self._save()
        return ImageIndexReport(embedded, kept, failed, [s.path for s in images])

    def search(self, vector: np.ndarray, *, limit: int) -> list[Hit]:
        """The closest images (cosine on unit rows), best first."""
        if not self.rows:
            return []
        scores = self.matrix @ np.asarray(vector, dtype=np.float32)[: self.matrix.shape[1]]
        order = np.argsort(-scores)[:limit]
        fields = Hit.__dataclass_fields__
        return [Hit(**{**{k: v for k, v in self.rows[i].items() if k in fields}, "score": float(scores[i])})
                for i in order]

    def _save(self) -> None:
        self.matrix_path.parent.mkdir(parents=True, exist_ok=True)
        for path, write in ((self.matrix_path, lambda f: np.save(f, self.matrix, allow_pickle=False)),
                            (self.rows_path, lambda f: f.write(json.dumps(self.rows, ensure_ascii=False).encode()))):
            partial = path.with_name(f".{path.name}.{os.getpid()}")
            with open(partial, "wb") as f:
                write(f)
            partial.replace(path)  # a reader sees the old set or the new one, never half of one


class ImageSearch:
    """What retrieval asks: the query embedded by the VL embedder, then the closest images."""

    def __init__(self, vectors: ImageVectors, embedder: Any) -> None:
        self.vectors = vectors
        self.embedder = embedder

    def search(self, query: str, *, limit: int) -> list[Hit]:
        if not self.vectors.rows:
            return []
        vector = self.embedder.embed([Candidate(text=query)], instruction=QUERY_INSTRUCTION)[0]
        # Images removed since the last `update` drop out here (the next update forgets them).
        return [hit for hit in self.vectors.search(vector, limit=limit) if Path(hit.path).is_file()]
