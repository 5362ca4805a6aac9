"""Embedding and reranking on MLX folders, batched with right padding.

Qwen3Model takes no attention mask; with causal attention and padding on the right, no real
token ever attends to a pad, so padding cannot change a vector or a score. A reranker's
documents share the prompt and the query: those run once, into a cache every row continues.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import qwen3
from ..token_models import TokenEmbedder, TokenReranker
from .loading import MlxFolder, Role, import_mlx, load_network


class _MlxPooled:
    def __init__(self, path: Path, *, role: Role, max_tokens: int, batch_size: int) -> None:
        self._mx = import_mlx()
        self.folder = MlxFolder(path, role)
        self.path, self.name = self.folder.path, self.folder.path.name
        self.max_tokens = min(max_tokens, int(self.folder.config.get("max_position_embeddings", max_tokens)))
        self.batch_size = batch_size
        self.pad_id = self.folder.single_token(qwen3.END_OF_TEXT)

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        return self.folder.tokenize(text, special=special)

    def _last_hidden(self, network: Any, batch: list[list[int]], *, shared: int = 0) -> Any:
        """The final-norm hidden state at each sequence's last real token, shape (batch, hidden).

        The first `shared` tokens, the same in every sequence (a reranker's prompt and query),
        run once into a KV cache that every row of the batch then continues from. One sequence
        alone takes the same path, so its result does not depend on the batch.
        """
        mx = self._mx
        cache = None
        if shared:
            from mlx_lm.models.cache import KVCache

            prefix = [KVCache() for _ in network.layers]
            network(mx.array([batch[0][:shared]]), cache=prefix)
            cache = []
            for layer in prefix:
                keys, values = layer.keys[..., :layer.offset, :], layer.values[..., :layer.offset, :]
                tiled = KVCache()
                tiled.state = (mx.repeat(keys, len(batch), axis=0), mx.repeat(values, len(batch), axis=0),
                               layer.offset)
                cache.append(tiled)
        rest = [s[shared:] for s in batch]
        width = max(len(s) for s in rest)
        padded = mx.array([s + [self.pad_id] * (width - len(s)) for s in rest])
        hidden = network(padded, cache=cache)
        last = mx.array([len(s) - 1 for s in rest])
        return hidden[mx.arange(len(batch)), last]

    def close(self) -> None:
        self._network = None


class MlxEmbedder(_MlxPooled, TokenEmbedder):
    def __init__(self, path: Path, *, max_tokens: int = 2048, batch_size: int = 16) -> None:
        super().__init__(path, role="embedder", max_tokens=max_tokens, batch_size=batch_size)
        self._network = load_network(self.folder, causal_lm=False)
        self.dim = int(self.folder.config["hidden_size"])
        self.eos_id = self.pad_id

    def _embed_batch(self, batch: list[list[int]]) -> np.ndarray:
        rows = self._last_hidden(self._network, batch).astype(self._mx.float32)
        return np.array(rows)


class MlxReranker(_MlxPooled, TokenReranker):
    def __init__(self, path: Path, *, max_tokens: int = 2048, batch_size: int = 8) -> None:
        super().__init__(path, role="reranker", max_tokens=max_tokens, batch_size=batch_size)
        self._network = load_network(self.folder, causal_lm=True)
        self._yes = self.folder.single_token("yes")
        self._no = self.folder.single_token("no")

    def _score_batch(self, batch: list[list[int]], *, shared: int) -> np.ndarray:
        mx, model = self._mx, self._network
        rows = self._last_hidden(model.model, batch, shared=shared)
        # Only the last position's logits matter: project just those rows through the head.
        logits = (model.model.embed_tokens.as_linear(rows) if model.args.tie_word_embeddings
                  else model.lm_head(rows)).astype(mx.float32)
        pair = np.array(logits[:, mx.array([self._yes, self._no])])
        return qwen3.p_yes(pair[:, 0], pair[:, 1])
