"""Embedding (POST /v1/embeddings) and reranking (POST /v1/rerank) on an OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import qwen3
from ..base import EmbedKind
from ..errors import RemoteError, UnsupportedError
from .client import DEFAULT_TIMEOUT, HTTPStatusError, RemoteClient, not_openai

# The server enforces its own limit; this is what callers size their chunks by.
DEFAULT_MAX_TOKENS = 8192


class _RemoteModel:
    """A model on a server, asked in batches: the text models here and the vision ones (vision.py)."""

    def __init__(self, model: str, *, url: str, api_key: str | None, timeout: float, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.name = str(model)
        self.batch_size = batch_size
        self._client = RemoteClient(url, api_key=api_key, timeout=timeout)
        self.url = self._client.base

    def close(self) -> None:
        """Nothing to release: every request has its own connection."""


def _by_index(items: object, count: int, endpoint: str, *, what: str) -> list[dict[str, Any]]:
    """The answer's items in request order (servers may sort them, by score for example)."""
    if not isinstance(items, list) or len(items) != count or not all(isinstance(i, dict) for i in items):
        raise not_openai(endpoint, f"expected {count} {what}, got {type(items).__name__}"
                                   f"{f' of {len(items)}' if isinstance(items, list) else ''}")
    indices = [item.get("index", position) for position, item in enumerate(items)]
    if sorted(i for i in indices if isinstance(i, int)) != list(range(count)):
        raise not_openai(endpoint, f"the {what} do not have the indices 0 to {count - 1}")
    ordered: list[dict[str, Any]] = [{}] * count
    for index, item in zip(indices, items, strict=True):
        ordered[index] = item
    return ordered


class RemoteEmbedder(_RemoteModel):
    """Queries get Qwen3-Embedding's instruction here; the server appends the end-of-text token itself."""

    exact_token_counts = False

    def __init__(self, model: str, *, url: str, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 batch_size: int = 32, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        super().__init__(model, url=url, api_key=api_key, timeout=timeout, batch_size=batch_size)
        self.max_tokens = max_tokens
        # One short request at load: the dimension, and an early, clear error when the server cannot embed.
        self.dim = self._embed_batch(["dimension"]).shape[1]
        self.min_dim = min(qwen3.MIN_EMBED_DIM, self.dim)

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "document", instruction: str | None = None,
              dim: int | None = None) -> np.ndarray:
        dim = qwen3.check_embed_dim(dim, full=self.dim, minimum=self.min_dim, model=self.name)
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        inputs = [qwen3.format_embed_query(t, instruction) if kind == "query" else t for t in texts]
        out = np.zeros((len(inputs), self.dim), dtype=np.float32)
        for start in range(0, len(inputs), self.batch_size):
            rows = self._embed_batch(inputs[start:start + self.batch_size])
            if rows.shape[1] != self.dim:
                raise RemoteError(f"the server at {self.url} changed its embedding size from {self.dim} to "
                                  f"{rows.shape[1]}; is another model loaded now?")
            out[start:start + len(rows)] = rows
        return qwen3.normalize_rows(out, dim)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        # The OpenAI API has no tokenizer endpoint, and asking a server per sentence would cost a request each.
        return [n + 1 for n in qwen3.estimate_tokens(texts)]  # + the end-of-text token

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        endpoint = self._client.endpoint("embeddings")
        answer = self._client.post_json("embeddings", {"model": self.name, "input": texts,
                                                       "encoding_format": "float"})
        items = _by_index(answer.get("data") if isinstance(answer, dict) else None, len(texts), endpoint,
                          what="embeddings")
        try:
            rows = np.array([item["embedding"] for item in items], dtype=np.float32)
        except (KeyError, TypeError, ValueError):
            raise not_openai(endpoint, "the embeddings are not lists of numbers of one length") from None
        if rows.ndim != 2 or rows.shape[1] == 0:
            raise not_openai(endpoint, "expected one vector per text (is the model a pooled embedding model?)")
        if not np.isfinite(rows).all():
            raise RemoteError(f"the server at {endpoint} returned embeddings with NaN or infinite values")
        return rows


class RemoteReranker(_RemoteModel):
    """Scores come from the server's /v1/rerank (llama.cpp server, vLLM), which applies Qwen3-Reranker's
    prompt with its default instruction; the score must be P(yes), as those servers give for Qwen3-Reranker."""

    def __init__(self, model: str, *, url: str, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 batch_size: int = 32, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        super().__init__(model, url=url, api_key=api_key, timeout=timeout, batch_size=batch_size)
        self.max_tokens = max_tokens
        self._score_batch("query", ["document"])  # an early, clear error when the server cannot rerank

    def score(self, query: str, documents: Sequence[str], *, instruction: str | None = None) -> np.ndarray:
        if isinstance(documents, str):
            raise TypeError("score() takes a sequence of documents, not one string")
        if instruction not in (None, qwen3.DEFAULT_RERANK_INSTRUCTION):
            raise UnsupportedError(f"{self.name} at {self.url}: a reranking instruction cannot be passed through "
                                   "/v1/rerank; the server uses the default one (rerank with a local model to "
                                   "use your own)")
        out = np.zeros(len(documents), dtype=np.float32)
        for start in range(0, len(documents), self.batch_size):
            batch = list(documents[start:start + self.batch_size])
            out[start:start + len(batch)] = self._score_batch(query, batch)
        return out

    def _score_batch(self, query: str, documents: list[str]) -> np.ndarray:
        endpoint = self._client.endpoint("rerank")
        try:
            answer = self._client.post_json("rerank", {"model": self.name, "query": query, "documents": documents,
                                                       "top_n": len(documents)})
        except HTTPStatusError as exc:
            if exc.status in (404, 405, 501):
                raise UnsupportedError(f"the server at {self.url} offers no reranking (POST {endpoint} answered "
                                       f"HTTP {exc.status}: {exc.message}); use a server with /v1/rerank "
                                       "(llama.cpp server with --reranking, vLLM) or a local reranker") from exc
            raise
        items = _by_index(answer.get("results") if isinstance(answer, dict) else None, len(documents), endpoint,
                          what="results")
        scores = [item.get("relevance_score") for item in items]
        if not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores):
            raise not_openai(endpoint, "a result without a numeric relevance_score")
        out = np.array(scores, dtype=np.float32)
        if not np.isfinite(out).all():
            raise RemoteError(f"the server at {endpoint} returned NaN or infinite scores")
        return out
