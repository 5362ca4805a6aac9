"""Hybrid retrieval: full-text and vector search fused by reciprocal rank, then Qwen3 reranking.

Each stage works alone: lexical search needs no model at all, vector search needs only the
embedder, and reranking is optional. Filters (folder, file type, date) apply to every stage.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol

import numpy as np

from engines.qwen3 import estimate_tokens

from ..locale import _
from ..errors import IpponError
from .passages import focus_passage
from .pixels import PageRenderer, PixelNote, score_with_pixels
from .store import Hit, LibraryStore, normalize_path

Mode = Literal["lexical", "vector", "hybrid"]


@dataclass(frozen=True, slots=True)
class SearchFilters:
    folders: tuple[str, ...] = ()  # only files under these folders
    formats: tuple[str, ...] = ()  # "pdf", "md", "image", ...
    modified_after: datetime | None = None
    modified_before: datetime | None = None

    def where(self) -> str | None:
        clauses = []
        if self.folders:
            likes = [f"path LIKE '{_like_prefix(normalize_path(f))}%' ESCAPE '\\'" for f in self.folders]
            clauses.append("(" + " OR ".join(likes) + ")")
        if self.formats:
            clauses.append("format IN (" + ", ".join(f"'{_quote(f)}'" for f in self.formats) + ")")
        if self.modified_after:
            clauses.append(f"mtime_ns >= {int(self.modified_after.timestamp() * 1e9)}")
        if self.modified_before:
            clauses.append(f"mtime_ns < {int(self.modified_before.timestamp() * 1e9)}")
        return " AND ".join(clauses) or None


@dataclass(frozen=True, slots=True)
class RetrievalSettings:
    mode: Mode = "hybrid"
    rerank: bool = True
    candidates: int = 50  # fused results that go to the reranker
    top_k: int = 8  # results kept (and given to the LLM)
    rrf_k: int = 60
    filters: SearchFilters = SearchFilters()
    # The latency budget's decisions (app/core/budget.py): only the first `rerank_limit` fused
    # candidates are reranked (the rest keep their fused order below them), each read as its
    # passage of at most `rerank_passage_tokens` tokens; None: all of them, whole.
    rerank_limit: int | None = None
    rerank_passage_tokens: int | None = None
    # Image positions a VL reranker may read (the budget's `pixel_tokens`): images and PDF pages past
    # it, in fused order, are judged by their text (the first one always by its pixels); None: no limit.
    pixel_tokens: int | None = None
    explicit: tuple[str, ...] = ()  # settings the user gave ("top_k", "candidates"): the budget keeps them


@dataclass(frozen=True, slots=True)
class Result:
    hit: Hit
    score: float  # the rerank P(yes) when reranked, else the fused RRF score
    lexical_rank: int | None
    vector_rank: int | None
    rerank_score: float | None = None
    pixels: PixelNote | None = None  # set when a VL reranker judged it: the image it saw, or why none
    image_rank: int | None = None  # its rank among the images found by their pixels (image_vectors.py)


@dataclass(slots=True)
class Retrieval:
    results: list[Result]
    timings: dict[str, Any] = field(default_factory=dict)  # milliseconds per stage (and budget decisions)
    mode: Mode = "hybrid"
    reranked: bool = False
    rerank_count: int = 0  # candidates the reranker scored (the first ones of `results`)
    candidate_count: int = 0  # fused candidates there were


class VectorSearch(Protocol):
    dim: int | None  # None: no vectors to search

    def search(self, vector: np.ndarray, *, limit: int, where: str | None) -> list[Hit]: ...


class LibraryVectors:
    """The library's own vectors, searched in LanceDB."""

    def __init__(self, store: LibraryStore) -> None:
        self.store = store
        current = store.embedder()
        self.dim = current[1] if current else None

    def search(self, vector: np.ndarray, *, limit: int, where: str | None) -> list[Hit]:
        return self.store.search_vector(vector, limit=limit, where=where)


class NoEmbedderError(IpponError):
    """Vector search was asked for, but no embedder is configured or no vectors exist yet."""


class Retriever:
    def __init__(self, store: LibraryStore, *, embedder: Any = None, reranker: Any = None,
                 vectors: VectorSearch | None = None, vision_reranker: Any = None,
                 page_renderer: PageRenderer | None = None, image_search: Any = None) -> None:
        """`vectors` replaces the library's own vector index (evaluation compares other embedders).
        `vision_reranker` (Qwen3-VL-Reranker), when given, reranks instead of `reranker`: images and
        PDF pages (rendered by `page_renderer`) by their pixels, other hits by their text."""
        self.store = store
        self.embedder = embedder
        self.reranker = reranker
        self.vision_reranker = vision_reranker
        self.page_renderer = page_renderer
        self.image_search = image_search  # image_vectors.ImageSearch: images by their pixels, fused as a third list
        self.vectors = vectors or LibraryVectors(store)

    def search(self, query: str, settings: RetrievalSettings = RetrievalSettings()) -> Retrieval:
        if not query.strip():
            raise IpponError(_("the query is empty"))
        mode = settings.mode
        has_vectors = self.embedder is not None and self.vectors.dim is not None
        if mode == "hybrid" and not has_vectors:
            mode = "lexical"  # before any embedder or vectors exist, keywords are what there is
        if mode == "vector" and not has_vectors:
            raise NoEmbedderError(_("vector search needs an embedder and the library's vectors: set `embedder` in "
                                    "config.toml and run `ippon reindex --vectors`, or use --mode lexical"))
        where = settings.filters.where()
        timings: dict[str, float] = {}
        lexical: list[Hit] = []
        vector: list[Hit] = []
        if mode in ("lexical", "hybrid"):
            start = time.perf_counter()
            lexical = self.store.search_lexical(query, limit=settings.candidates, where=where)
            timings["lexical_ms"] = _ms(start)
        if mode in ("vector", "hybrid"):
            start = time.perf_counter()
            query_vector = self.embedder.embed([query], kind="query", dim=self.vectors.dim)[0]
            timings["embed_ms"] = _ms(start)
            start = time.perf_counter()
            vector = self.vectors.search(query_vector, limit=settings.candidates, where=where)
            timings["vector_ms"] = _ms(start)
        images: list[Hit] = []
        if self.image_search is not None and settings.mode != "lexical":
            start = time.perf_counter()
            images = self.image_search.search(query, limit=settings.candidates)
            timings["images_ms"] = _ms(start)
        start = time.perf_counter()
        fused = fuse(lexical, vector, k=settings.rrf_k, images=images)[:settings.candidates]
        timings["fusion_ms"] = _ms(start)
        head: list[Result] = []
        if settings.rerank and (self.reranker is not None or self.vision_reranker is not None) and fused:
            limit = len(fused) if settings.rerank_limit is None else max(0, settings.rerank_limit)
            head, tail = fused[:limit], fused[limit:]
            if head:
                start = time.perf_counter()
                texts = [_rerank_text(query, r.hit, settings) for r in head]
                notes: list[PixelNote | None] = [None] * len(head)
                if self.vision_reranker is not None:
                    scores, notes = score_with_pixels(self.vision_reranker, query, [r.hit for r in head], texts,
                                                      self.page_renderer, pixel_tokens=settings.pixel_tokens)
                else:
                    scores = self.reranker.score(query, texts)
                head = sorted((replace(r, score=float(s), rerank_score=float(s), pixels=n)
                               for r, s, n in zip(head, scores, notes, strict=True)), key=lambda r: -r.score)
                timings["rerank_ms"] = _ms(start)
            fused = head + tail
        return Retrieval(fused[:settings.top_k], timings, mode, reranked=bool(head), rerank_count=len(head),
                         candidate_count=len(fused))


def _rerank_text(query: str, hit: Hit, settings: RetrievalSettings) -> str:
    if settings.rerank_passage_tokens is None:
        return hit.text
    return focus_passage(hit.text, query, max_tokens=settings.rerank_passage_tokens,
                         count_tokens=estimate_tokens).text


def fuse(lexical: Sequence[Hit], vector: Sequence[Hit], *, k: int = 60, images: Sequence[Hit] = ()) -> list[Result]:
    """Reciprocal rank fusion: each list adds 1 / (k + rank) to a chunk's score (ranks from 1)."""
    table: dict[str, dict[str, Any]] = {}
    for name, hits in (("lexical", lexical), ("vector", vector), ("image", images)):
        for rank, hit in enumerate(hits, 1):
            entry = table.setdefault(hit.chunk_id, {"hit": hit, "score": 0.0, "lexical": None, "vector": None,
                                                    "image": None})
            entry["score"] += 1.0 / (k + rank)
            entry[name] = rank
    results = [Result(e["hit"], e["score"], e["lexical"], e["vector"], image_rank=e["image"]) for e in table.values()]
    # Ties (same fused score) keep the better lexical rank first, then the better vector rank.
    return sorted(results, key=lambda r: (-r.score, r.lexical_rank or 10**9, r.vector_rank or 10**9))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def _quote(value: str) -> str:
    return value.replace("'", "''")


def _like_prefix(path: str) -> str:
    escaped = path.rstrip("/").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return _quote(escaped) + "/"
