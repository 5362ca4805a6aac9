"""What the HTTP API and the MCP tools both call: the one IpponService, its models on workers, the limits.

Nothing here knows HTTP or MCP; both front ends turn these results and errors into their own shapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import engines
import numpy as np
from engines import ChatSettings

from ..core.answer import AskEvent
from ..core.conversation import EarlierTurn
from ..core.retrieval import Retrieval, RetrievalSettings
from ..core.service import IpponService
from ..core.store import SourceRecord, normalize_path, source_id_for
from ..errors import IpponError
from ..locale import _
from .workers import ModelWorker, WorkerBoundModel, WorkerStatus, admitted, role_label

RAG_MODEL = "ippon-rag"  # the model id that answers from the library
MAX_SOURCE_TEXT = 50_000  # characters get_source_text returns at most
_CHUNK_ID = re.compile(r"[0-9a-f]{16}-\d{6}")
_SOURCE_ID = re.compile(r"[0-9a-f]{16}")


class ModelUnavailableError(IpponError, LookupError):
    """The request names a model this server does not have (or needs one that is not configured)."""


class RequestLimitError(IpponError, ValueError):
    """The request asks for more than the server's limits allow."""


class NotInLibraryError(IpponError, LookupError):
    """An id or path that is not a document of the library (nothing else is ever read)."""


@dataclass(frozen=True, slots=True)
class SourceText:
    source_id: str
    path: str
    page: int | None
    chunk_id: str | None
    text: str
    truncated: bool


class ServeRuntime:
    def __init__(self, service: IpponService, *, owns_models: bool = True) -> None:
        """`owns_models`: free the models when the server stops (the CLI); the window keeps using them."""
        self.service = service
        self.owns_models = owns_models
        self.config = service.config
        self.workers: dict[str, ModelWorker] = {}

        def on_worker(role: str, model: Any) -> WorkerBoundModel:
            waiting = self.config.serve_chat_queue if role == "chat" else self.config.serve_queue
            self.workers[role] = ModelWorker(role, model, queue_size=waiting)
            return WorkerBoundModel(self.workers[role])

        service.load_models(wrap=on_worker)
        _ = service.library  # opened now: its lazy creation is not meant for many threads at once

    def close(self) -> None:
        if self.owns_models:
            self.service.close()  # each model's close runs on its own worker, after the calls before it
        else:
            self.service.load_models(wrap=lambda _role, model: model.unbound()
                                     if isinstance(model, WorkerBoundModel) else model)
        for worker in self.workers.values():
            worker.close()

    # --- models ---------------------------------------------------------------------------

    def model_ids(self) -> dict[str, str]:
        """Public model id -> role ("rag", "chat", "embedder", "reranker")."""
        ids = {RAG_MODEL: "rag"}
        for role, key in (("chat", "llm"), ("embedder", "embedder"), ("reranker", "reranker")):
            value = getattr(self.config, key)
            if value:
                ids[Path(str(value)).name] = role
        return ids

    def role_of(self, model: str) -> str:
        role = self.model_ids().get(model)
        if role is None:
            raise ModelUnavailableError(_("no model named {model}: GET /v1/models lists what this server has")
                                        .format(model=model))
        return role

    def _worker(self, role: str) -> ModelWorker:
        worker = self.workers.get(role)
        if worker is None:
            key = {"chat": "llm"}.get(role, role)
            raise ModelUnavailableError(_("no {role} is configured: set `{key}` in config.toml")
                                        .format(role=role_label(role), key=key))
        return worker

    def chat_settings(self, *, max_tokens: int | None, **options: Any) -> ChatSettings:
        limit = self.config.serve_max_tokens
        if max_tokens is not None and max_tokens > limit:
            raise RequestLimitError(_("max_tokens {n} is over this server's limit of {limit} (serve_max_tokens)")
                                    .format(n=max_tokens, limit=limit))
        return ChatSettings(max_tokens=max_tokens or min(1024, limit), **options)

    def chat_slot(self) -> AbstractContextManager[None]:
        """A place on the LLM's worker for one whole generation, or ServerBusyError now."""
        return self._worker("chat").admitted()

    # --- library --------------------------------------------------------------------------

    def search(self, query: str, settings: RetrievalSettings) -> Retrieval:
        uses_vectors = settings.mode != "lexical" and self.config.embedder
        with admitted(self.workers.get("embedder") if uses_vectors else None,
                      self.workers.get("reranker") if settings.rerank else None):
            return self.service.search(query, settings)

    def ask(self, question: str, *, retrieval: RetrievalSettings, chat: ChatSettings, cancel: engines.CancelToken,
            history: Sequence[EarlierTurn] = (), instructions: str = "", thread: str | None = None
            ) -> Iterator[AskEvent]:
        """The cited answer's events; the caller holds chat_slot() for as long as it iterates.

        The client holds the conversation (`history`), so nothing is kept in the user's threads unless
        `thread` asks: "new" starts a thread, an id continues one (its id comes back in the AskTurn).
        """
        self._worker("chat")
        if thread is None:
            return self.service.ask(question, retrieval=retrieval, chat=chat, cancel=cancel, record=False,
                                    history=list(history), instructions=instructions)
        # A client that sends only its question continues the thread from the thread's own turns.
        return self.service.ask(question, retrieval=retrieval, chat=chat, cancel=cancel,
                                thread=None if thread == "new" else thread, history=list(history) or None,
                                instructions=instructions)

    def chat(self, messages: list[engines.Message], *, chat: ChatSettings,
             cancel: engines.CancelToken) -> Iterator[engines.ChatEvent]:
        self._worker("chat")
        return self.service.chat(messages, settings=chat, cancel=cancel)

    def embed(self, texts: list[str], *, kind: str, instruction: str | None,
              dim: int | None) -> tuple[np.ndarray, int]:
        """The vectors, and the tokens the texts took (the model's own count, for the usage figures)."""
        worker = self._worker("embedder")
        model = worker.model
        if dim is not None and not model.min_dim <= dim <= model.dim:
            raise RequestLimitError(_("dimensions must be from {low} to {high} for {model}")
                                    .format(low=model.min_dim, high=model.dim, model=worker.name))
        with worker.admitted():
            vectors = worker.call("embed", texts, kind=kind, instruction=instruction, dim=dim)
            return vectors, sum(worker.call("count_tokens", texts))

    def rerank(self, query: str, documents: list[str], *, instruction: str | None) -> np.ndarray:
        worker = self._worker("reranker")
        with worker.admitted():
            return worker.call("score", query, documents, instruction=instruction)

    def sources(self, *, folder: str | None = None) -> list[SourceRecord]:
        records = self.service.sources()
        if folder:
            prefix = normalize_path(folder).rstrip("/") + "/"
            records = [r for r in records if r.path.startswith(prefix)]
        return records

    def source_text(self, ident: str, *, page: int | None = None) -> SourceText:
        """A chunk (by chunk id) or a document or one of its pages (by source id or library path), as stored.

        The text comes from the library database, never from the disk, so only what was added to the
        library can be read; any other id or path is refused.
        """
        store = self.service.library.store
        ident = ident.strip()
        chunk_id = ident if _CHUNK_ID.fullmatch(ident) else None
        source_id = ident[:16] if chunk_id else ident if _SOURCE_ID.fullmatch(ident) else None
        if source_id is None and ident and "\x00" not in ident:
            source_id = source_id_for(normalize_path(ident))
        source = store.source(source_id) if source_id else None
        chunks = store.chunks_of(source.source_id) if source else []
        if chunk_id:
            chunks = [c for c in chunks if c.chunk_id == chunk_id]
        if page is not None:
            chunks = [c for c in chunks if c.page == page]
        if not chunks:
            shown = ident[:200]
            raise NotInLibraryError(_("{ident}: not in the library (only documents added to the library can be read)")
                                    .format(ident=shown) if page is None else
                                    _("{ident}: the library holds no page {page} of it").format(ident=shown, page=page))
        text = _stitch(chunks)
        return SourceText(source.source_id, source.path, page if page is not None else chunks[0].page if chunk_id else None,
                          chunk_id, text[:MAX_SOURCE_TEXT], len(text) > MAX_SOURCE_TEXT)

    def health(self) -> dict[str, Any]:
        def describe(status: WorkerStatus) -> dict[str, Any]:
            return {"name": status.name, "loaded": True, "busy": status.admitted, "capacity": status.capacity,
                    "cancelled": status.cancelled, "max_tokens_after_cancel": status.max_tokens_after_cancel}

        models = {role: describe(worker.status()) for role, worker in self.workers.items()}
        for role in ("chat", "embedder", "reranker"):
            models.setdefault(role, {"name": None, "loaded": False})
        return {"status": "ok", "models": models, "library": {"chunks": self.service.library.store.count_chunks()}}


def _stitch(chunks: list[Any]) -> str:
    """Chunks of one document back into its text: neighbours overlap, so each overlap is kept once."""
    parts: list[str] = []
    end = None
    page = object()
    for chunk in chunks:
        text = chunk.text
        if chunk.page == page and end is not None and chunk.char_start < end <= chunk.char_end:
            text = text[end - chunk.char_start:]
        elif parts:
            parts.append("\n\n")
        parts.append(text)
        end, page = chunk.char_end, chunk.page
    return "".join(parts)
