"""Embedding (LAST pooling) and reranking (RANK pooling) on GGUF files.

Sequences are packed into one llama.cpp batch, each with its own sequence id, so no padding
exists that could change a vector; a batch holds at most n_batch tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import qwen3
from ..token_models import TokenEmbedder, TokenReranker
from .loading import import_llama_cpp, open_llama


class _PooledModel:
    """One llama.cpp context in embedding mode; decodes packed batches and reads one vector per sequence."""

    def __init__(self, path: Path, *, role: str, max_tokens: int, batch_tokens: int,
                 n_threads: int | None) -> None:
        self.path = Path(path)
        self.name = self.path.name
        # n_ubatch >= max_tokens keeps every sequence inside one micro-batch.
        batch_tokens = max(batch_tokens, max_tokens)
        self._llama = open_llama(path, role=role, n_ctx=batch_tokens, n_batch=batch_tokens,
                                 n_ubatch=max_tokens, n_threads=n_threads)
        self._lib = import_llama_cpp()
        self.max_tokens = max_tokens
        self._batch_tokens = batch_tokens
        self._max_seqs = self._llama.context_params.n_seq_max

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def _pooled(self, batch: list[list[int]], width: int) -> np.ndarray:
        out = np.empty((len(batch), width), dtype=np.float32)
        start = 0
        while start < len(batch):
            stop, tokens = start, 0
            while stop < len(batch) and stop - start < self._max_seqs and tokens + len(batch[stop]) <= self._batch_tokens:
                tokens += len(batch[stop])
                stop += 1
            out[start:stop] = self._decode(batch[start:stop], width)
            start = stop
        return out

    def _decode(self, seqs: list[list[int]], width: int) -> np.ndarray:
        llama, lib = self._llama, self._lib
        llama._batch.reset()  # noqa: SLF001 - the library's own batch, used as Llama.embed uses it
        for seq_id, ids in enumerate(seqs):
            llama._batch.add_sequence(ids, seq_id, True)  # noqa: SLF001
        llama._ctx.kv_cache_clear()  # noqa: SLF001
        llama._ctx.decode(llama._batch)  # noqa: SLF001
        rows = np.empty((len(seqs), width), dtype=np.float32)
        for seq_id in range(len(seqs)):
            ptr = lib.llama_get_embeddings_seq(llama.ctx, seq_id)
            rows[seq_id] = np.ctypeslib.as_array(ptr, shape=(width,))
        return rows

    def close(self) -> None:
        self._llama.close()


class LlamaCppEmbedder(_PooledModel, TokenEmbedder):
    def __init__(self, path: Path, *, max_tokens: int = 2048, batch_size: int = 32, batch_tokens: int = 8192,
                 n_threads: int | None = None) -> None:
        super().__init__(path, role="embedder", max_tokens=max_tokens, batch_tokens=batch_tokens,
                         n_threads=n_threads)
        self.dim = self._llama.n_embd()
        self.batch_size = batch_size
        self.eos_id = _single_token(self, qwen3.END_OF_TEXT)

    def _embed_batch(self, batch: list[list[int]]) -> np.ndarray:
        return self._pooled(batch, self.dim)


class LlamaCppReranker(_PooledModel, TokenReranker):
    def __init__(self, path: Path, *, max_tokens: int = 2048, batch_size: int = 16, batch_tokens: int = 8192,
                 n_threads: int | None = None) -> None:
        super().__init__(path, role="reranker", max_tokens=max_tokens, batch_tokens=batch_tokens,
                         n_threads=n_threads)
        self.batch_size = batch_size

    def _score_batch(self, batch: list[list[int]]) -> np.ndarray:
        # RANK pooling with the ["yes", "no"] head: llama.cpp returns softmax(yes, no), so column 0 is P(yes).
        return self._pooled(batch, 1)[:, 0]


def _single_token(model: Any, text: str) -> int:
    ids = model._tokenize(text, special=True)  # noqa: SLF001
    if len(ids) != 1:
        from ..errors import WrongModelError

        raise WrongModelError(f"{model.path}: the vocabulary has no single {text} token; not a Qwen3 model")
    return ids[0]
