"""Qwen3-VL-Reranker and Qwen3-VL-Embedding served by vLLM (`vllm serve ... --runner pooling`): POST
/v1/rerank for the reranker, POST /v1/embeddings with chat `messages` for the embedder.

Embedding: vLLM's embeddings request also takes `messages` (the chat form, for multimodal
pooling models), rendered with the served model's chat template; Ippon sends the official
Qwen3-VL-Embedding conversation (the instruction as the system turn, the image then the text
as the user turn), one item per request, and normalises and cuts the vector here (Matryoshka).

Reranking:

vLLM's rerank request (vllm/entrypoints/pooling/score/protocol.py, RerankRequest) takes
`documents` either as a list of strings or as one multimodal parameter, `{"content": [...]}`,
whose parts are the documents, each one part (an `image_url`, here a data: URL). So text
candidates go in one request and image candidates in another; the query is a string, or the
same multimodal shape when it carries images (its images, then its text, as the official prompt
orders them). A candidate with both text and an image is sent by its image alone: one content
part cannot hold both. Images are resized here exactly as the reference resizes them and sent
as PNG, so the server's own resizing (the same rule) leaves them as they are. The instruction is
the server's template's: /v1/rerank has no field for it.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import qwen3, qwen3_vl
from ..base import Candidate, CandidateFailure
from ..errors import EngineError, RemoteError, UnsupportedError
from .client import DEFAULT_TIMEOUT, not_openai
from .pooled import _by_index, _RemoteModel


def image_part(path: str | Path) -> dict[str, Any]:
    """One image as an OpenAI-style content part: a PNG data: URL of the pixels the reference sees."""
    image = qwen3_vl.load_image(path)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": url}}


class RemoteVisionReranker(_RemoteModel):
    def __init__(self, model: str, *, url: str, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 batch_size: int = 8) -> None:
        super().__init__(model, url=url, api_key=api_key, timeout=timeout, batch_size=batch_size)

    def score(self, query: str, candidates: Sequence[Candidate], *, instruction: str | None = None,
              query_images: Sequence[str | Path] = (), failures: list[CandidateFailure] | None = None) -> np.ndarray:
        if instruction not in (None, qwen3_vl.DEFAULT_VL_RERANK_INSTRUCTION):
            raise UnsupportedError(f"{self.name} at {self.url}: /v1/rerank takes no instruction; the server's "
                                   "template uses its own (rerank with a local model to use yours)")
        if query_images:
            parts = [image_part(p) for p in query_images] + ([{"type": "text", "text": query}] if query else [])
            query_field: Any = {"content": parts}
        else:
            query_field = query
        scores = np.full(len(candidates), np.nan, dtype=np.float32)
        texts = [i for i, c in enumerate(candidates) if c.image is None]
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            scores[batch] = self._rerank(query_field, [candidates[i].text or "" for i in batch])
        images: list[tuple[int, dict[str, Any]]] = []
        for i, candidate in enumerate(candidates):
            if candidate.image is None:
                continue
            try:
                images.append((i, image_part(candidate.image)))
            except EngineError as exc:
                if failures is None:
                    raise
                failures.append(CandidateFailure(i, str(exc)))
        for start in range(0, len(images), self.batch_size):
            batch = images[start:start + self.batch_size]
            scores[[i for i, _ in batch]] = self._rerank(query_field, {"content": [part for _, part in batch]})
        return scores

    def _rerank(self, query: Any, documents: Any) -> np.ndarray:
        count = len(documents["content"]) if isinstance(documents, dict) else len(documents)
        endpoint = self._client.endpoint("rerank")
        answer = self._client.post_json("rerank", {"model": self.name, "query": query, "documents": documents,
                                                   "top_n": count})
        items = _by_index(answer.get("results") if isinstance(answer, dict) else None, count, endpoint,
                          what="results")
        scores = [item.get("relevance_score") for item in items]
        if not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores):
            raise not_openai(endpoint, "a result without a numeric relevance_score")
        out = np.array(scores, dtype=np.float32)
        if not np.isfinite(out).all() or (out < 0).any() or (out > 1).any():
            raise RemoteError(f"the server at {endpoint} returned scores outside [0, 1]; is it serving "
                              "Qwen3-VL-Reranker with its yes/no head?")
        return out


class RemoteVisionEmbedder(_RemoteModel):
    def __init__(self, model: str, *, url: str, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 batch_size: int = 8) -> None:
        super().__init__(model, url=url, api_key=api_key, timeout=timeout, batch_size=batch_size)
        self.dim = len(self._vector(Candidate(text="dimension"), None))  # an early, clear error when it cannot embed
        self.min_dim = min(qwen3.MIN_EMBED_DIM, self.dim)

    def embed(self, items: Sequence[Candidate], *, instruction: str | None = None, dim: int | None = None,
              failures: list[CandidateFailure] | None = None) -> np.ndarray:
        return qwen3_vl.embed_each(items, lambda item: self._vector(item, instruction), full=self.dim, dim=dim,
                                   model=self.name, failures=failures)

    def _vector(self, item: Candidate, instruction: str | None) -> np.ndarray:
        system = qwen3_vl.vl_embed_instruction(instruction)
        content: list[dict[str, Any]] = [image_part(item.image)] if item.image is not None else []
        if item.text or not content:
            content.append({"type": "text", "text": item.text or "NULL"})
        endpoint = self._client.endpoint("embeddings")
        answer = self._client.post_json("embeddings", {
            "model": self.name, "encoding_format": "float",
            "messages": [{"role": "system", "content": [{"type": "text", "text": system}]},
                         {"role": "user", "content": content}]})
        data = answer.get("data") if isinstance(answer, dict) else None
        try:
            vector = np.array(data[0]["embedding"], dtype=np.float32)
        except (IndexError, KeyError, TypeError, ValueError):
            raise not_openai(endpoint, "expected data[0].embedding, a list of numbers") from None
        if vector.ndim != 1 or not vector.size or not np.isfinite(vector).all():
            raise RemoteError(f"the server at {endpoint} returned an unusable embedding")
        if getattr(self, "dim", vector.size) != vector.size:
            raise RemoteError(f"the server at {self.url} changed its embedding size from {self.dim} to {vector.size}")
        return vector
