"""The facade both front ends use: every CLI command and GUI action is one call here."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import converters
import engines
from converters import ConversionProgress, ConversionResult
from engines import ChatSettings

from ..config import Config
from ..errors import IpponError
from .answer import AskEvent, answer_question
from .ingest import ChunkingSettings, IngestSummary, ProgressCallback
from .library import Library
from .retrieval import Retrieval, RetrievalSettings, Retriever
from .store import Hit, SourceRecord


class IpponService:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._library: Library | None = None
        self._embedder: Any = None
        self._reranker: Any = None
        self._llm: Any = None

    # --- library --------------------------------------------------------------------------

    @property
    def library(self) -> Library:
        """The library, chunked with the configured embedder's tokenizer when there is one."""
        if self._library is None:
            chunking = ChunkingSettings(max_tokens=self.config.chunk_tokens, overlap=self.config.chunk_overlap)
            factory = None
            if self.config.embedder:
                embedder = self._library_embedder()
                # Every Qwen3-Embedding size shares one tokenizer, so chunks survive a change of size;
                # a remote embedder only estimates, and a switch between the two re-chunks.
                chunking = replace(chunking, count_tokens=embedder.count_tokens,
                                   tokenizer="qwen3" if embedder.exact_token_counts else "estimate")
                factory = self._embedder_factory
            self._library = Library(self.config, chunking=chunking, embedder_factory=factory)
        return self._library

    def _library_embedder(self) -> Any:
        if self._embedder is None:
            self._embedder = self.load_engine("embedder", self.config.embedder)
        return self._embedder

    def _embedder_factory(self) -> tuple[str, int, Callable[[list[str]], Any]]:
        embedder = self._library_embedder()
        dim = self.config.embed_dim or embedder.dim
        name = Path(str(self.config.embedder)).name
        return name, dim, lambda texts: embedder.embed(texts, kind="document", dim=dim)

    def add(self, paths: list[Path], *, watch: bool = False, vectors: bool = True,
            progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> IngestSummary:
        return self.library.add(paths, watch=watch, vectors=vectors, progress=progress, cancel=cancel)

    def remove(self, paths: list[Path]) -> int:
        return self.library.remove(paths)

    def sources(self, *, errors_only: bool = False) -> list[SourceRecord]:
        return self.library.sources(errors_only=errors_only)

    def reindex(self, *, vectors_only: bool = False, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> IngestSummary:
        return self.library.reindex(vectors_only=vectors_only, progress=progress, cancel=cancel)

    def search_keywords(self, query: str, *, limit: int = 10) -> list[Hit]:
        return self.library.store.search_lexical(query, limit=limit)

    # --- search and ask -------------------------------------------------------------------

    def retriever(self, *, rerank: bool = True) -> Retriever:
        embedder = self._library_embedder() if self.config.embedder else None
        reranker = None
        if rerank and self.config.reranker:
            if self._reranker is None:
                self._reranker = self.load_engine("reranker", self.config.reranker)
            reranker = self._reranker
        return Retriever(self.library.store, embedder=embedder, reranker=reranker)

    def retrieval_settings(self, **overrides: Any) -> RetrievalSettings:
        values = {"top_k": self.config.top_k, "candidates": self.config.candidates}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return RetrievalSettings(**values)

    def search(self, query: str, settings: RetrievalSettings) -> Retrieval:
        return self.retriever(rerank=settings.rerank).search(query, settings)

    def ask(self, question: str, *, retrieval: RetrievalSettings, chat: ChatSettings,
            cancel: engines.CancelToken | None = None) -> Iterator[AskEvent]:
        """Retrieve, then stream a cited answer. Without an LLM configured this is an error, not a guess."""
        if not self.config.llm:
            raise IpponError("no answering model: set `llm` in config.toml to a Qwen3 GGUF file or MLX folder "
                             "(`ippon search` works without one)")
        found = self.search(question, retrieval)
        if self._llm is None:
            self._llm = self.load_engine("chat", self.config.llm)
        yield from answer_question(question, found, self._llm, settings=chat, cancel=cancel)

    # --- models ---------------------------------------------------------------------------

    def convert_model(self, src: Path, *, to: str, out: Path, quant: str | None = None, group_size: int = 64,
                      kind: str | None = None, force: bool = False, verify: bool = False,
                      progress: converters.events.ProgressCallback | None = None,
                      cancel: threading.Event | None = None) -> ConversionResult:
        """Convert a Hugging Face Qwen3 checkpoint to GGUF or MLX (see `converters.convert`)."""
        return converters.convert(src, to=to, out=out, quant=quant, group_size=group_size, kind=kind,
                                  force=force, verify=verify, progress=progress, cancel=cancel)

    def load_engine(self, role: Literal["chat", "embedder", "reranker"], model: str | Path, *,
                    backend: str | None = None, url: str | None = None, **options: Any) -> Any:
        """A chat model, embedder or reranker. The configured server is used only for names that are not
        local files, so a local model always runs locally."""
        backend = backend or self.config.backend
        if url is None and backend in ("auto", "remote") and not Path(model).expanduser().exists():
            url = self.config.remote_url
        chosen = engines.choose_backend(model, backend=backend, url=url)
        if chosen == "llamacpp" and self.config.threads:
            options.setdefault("n_threads", self.config.threads)
        loader = {"chat": engines.load_chat_model, "embedder": engines.load_embedder,
                  "reranker": engines.load_reranker}[role]
        return loader(model, backend=chosen, url=url, **options)


__all__ = ["IpponService", "ConversionProgress", "ConversionResult"]
