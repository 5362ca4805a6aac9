"""Embedding (LAST pooling) and reranking (RANK pooling) on GGUF files.

Each sequence is decoded on its own. Packing several into one llama.cpp batch shares one KV
buffer across them: with flash attention the vectors then depend on the batch (4e-4 here),
and without it attention spans every cell; one at a time with flash attention was both
exact and the fastest on the CPU (169 tokens/s against 123 packed and 88 packed without flash
attention, Qwen3-Embedding-0.6B q8_0, 256-token chunks, 2 cores). A reranker's documents
share the prompt and the query: those tokens are decoded once per batch and kept in the cache.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import qwen3
from ..token_models import TokenEmbedder, TokenReranker
from .loading import Role, import_llama_cpp, open_llama, single_token


class _PooledModel:
    """One llama.cpp context in embedding mode, reading one pooled vector per sequence."""

    def __init__(self, path: Path, *, role: Role, max_tokens: int, n_threads: int | None) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self._llama = open_llama(path, role=role, n_ctx=max_tokens, n_batch=max_tokens, n_ubatch=max_tokens,
                                 n_threads=n_threads)
        self._lib = import_llama_cpp()
        self.max_tokens = min(max_tokens, self._llama.context_params.n_ctx)

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def _pooled(self, batch: list[list[int]], width: int, *, shared: int = 0) -> np.ndarray:
        """One pooled vector per sequence. The first `shared` tokens, the same in every sequence
        (a reranker's prompt and query), are decoded once and kept in the KV cache; each
        sequence then decodes only the rest (LAST and RANK pooling read its final token, which
        attends to the cached tokens as to its own). One sequence alone takes the same path, so
        its result does not depend on the batch."""
        llama, lib = self._llama, self._lib
        rows = np.empty((len(batch), width), dtype=np.float32)
        llama._ctx.kv_cache_clear()  # noqa: SLF001
        if shared:
            self._decode(batch[0][:shared], start=0)
        for row, ids in enumerate(batch):
            if shared:
                llama._ctx.kv_cache_seq_rm(0, shared, -1)  # noqa: SLF001 - the previous sequence's own tokens
            else:
                llama._ctx.kv_cache_clear()  # noqa: SLF001
            self._decode(ids[shared:], start=shared)
            rows[row] = np.ctypeslib.as_array(lib.llama_get_embeddings_seq(llama.ctx, 0), shape=(width,))
        return rows

    def _decode(self, ids: list[int], *, start: int) -> None:
        """Decode `ids` as sequence 0 at positions start, start + 1, ... (every token an output)."""
        llama = self._llama
        llama._batch.reset()  # noqa: SLF001 - the library's own batch, used as Llama.embed uses it
        llama._batch.add_sequence(ids, 0, True)  # noqa: SLF001
        for i in range(len(ids)):
            llama._batch.batch.pos[i] = start + i  # noqa: SLF001 - add_sequence numbers from 0
        llama._ctx.decode(llama._batch)  # noqa: SLF001

    def close(self) -> None:
        self._llama.close()


class LlamaCppEmbedder(_PooledModel, TokenEmbedder):
    def __init__(self, path: Path, *, max_tokens: int = 2048, batch_size: int = 32,
                 n_threads: int | None = None) -> None:
        super().__init__(path, role="embedder", max_tokens=max_tokens, n_threads=n_threads)
        self.dim = self._llama.n_embd()
        self.batch_size = batch_size
        self.eos_id = single_token(self._llama, qwen3.END_OF_TEXT, self.path)

    def _embed_batch(self, batch: list[list[int]]) -> np.ndarray:
        return self._pooled(batch, self.dim)


class LlamaCppReranker(_PooledModel, TokenReranker):
    def __init__(self, path: Path, *, max_tokens: int = 2048, batch_size: int = 16,
                 n_threads: int | None = None) -> None:
        super().__init__(path, role="reranker", max_tokens=max_tokens, n_threads=n_threads)
        self.batch_size = batch_size

    def _score_batch(self, batch: list[list[int]], *, shared: int) -> np.ndarray:
        # RANK pooling with the ["yes", "no"] head: llama.cpp returns softmax(yes, no), so column 0 is P(yes).
        return self._pooled(batch, 1, shared=shared)[:, 0]

