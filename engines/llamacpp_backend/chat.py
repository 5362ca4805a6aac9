"""Qwen3 chat on a GGUF file: our own prompt rendering, llama.cpp's sampler."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .. import qwen3
from ..token_models import TokenChatModel
from .loading import open_llama, single_token


class LlamaCppChatModel(TokenChatModel):
    def __init__(self, path: Path, *, n_ctx: int = 8192, n_threads: int | None = None, n_batch: int = 512) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self._llama = open_llama(path, role="chat", n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_batch,
                                 n_threads=n_threads)
        # llama.cpp rounds its context up to a multiple of 256; llama-cpp-python's buffers keep n_ctx.
        self.context_length = min(self._llama.context_params.n_ctx, self._llama.n_ctx())
        self.chat_template = self._llama.metadata.get("tokenizer.chat_template")
        self.think_open = single_token(self._llama, qwen3.THINK_OPEN, self.path)
        self.think_close = single_token(self._llama, qwen3.THINK_CLOSE, self.path)
        self.stop_ids = frozenset(single_token(self._llama, t, self.path) for t in qwen3.STOP_TOKENS)

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def _token_bytes(self, token: int) -> bytes:
        return self._llama.detokenize([token], special=True)

    def _seed(self, seed: int) -> None:
        self._llama.set_seed(seed)

    def _sample(self, ids: list[int], sampling: qwen3.Sampling) -> Iterator[int]:
        # generate() keeps the longest cached prefix of ids, so continuing after forced tokens is cheap.
        # min_p is always passed: llama-cpp-python's own default (0.05) is not Qwen3's (0).
        return self._llama.generate(ids, temp=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k,
                                    min_p=sampling.min_p, presence_penalty=sampling.presence_penalty,
                                    repeat_penalty=1.0)

    def close(self) -> None:
        self._llama.close()
