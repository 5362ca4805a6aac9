"""Qwen3 chat on an MLX folder: our prompt rendering, mlx-lm's generate_step and samplers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .. import qwen3
from ..token_models import TokenChatModel
from .loading import MlxFolder, import_mlx, load_network


class MlxChatModel(TokenChatModel):
    def __init__(self, path: Path, *, n_ctx: int = 8192) -> None:
        self._mx = import_mlx()
        self.folder = MlxFolder(path, "chat")
        self.path, self.name = self.folder.path, self.folder.path.name
        self._model = load_network(self.folder, causal_lm=True)
        trained = int(self.folder.config.get("max_position_embeddings", n_ctx))
        self.context_length = min(n_ctx, trained)
        self.chat_template = self.folder.chat_template
        self.think_open = self.folder.single_token(qwen3.THINK_OPEN)
        self.think_close = self.folder.single_token(qwen3.THINK_CLOSE)
        self.stop_ids = frozenset(self.folder.single_token(t) for t in qwen3.STOP_TOKENS)
        self._cache: list | None = None
        self._cached: list[int] = []  # the tokens whose keys and values _cache holds

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        return self.folder.tokenize(text, special=special)

    def _token_bytes(self, token: int) -> bytes:
        return self.folder.token_bytes(token)

    def _seed(self, seed: int) -> None:
        self._mx.random.seed(seed)

    def _prefill_tail(self, ids: list[int]) -> list[int]:
        """Keep the cached keys and values of the longest common prefix; return what must still be fed."""
        from mlx_lm.models.cache import can_trim_prompt_cache, make_prompt_cache, trim_prompt_cache

        common = 0
        if self._cache is not None and can_trim_prompt_cache(self._cache):
            for a, b in zip(self._cached, ids):
                if a != b:
                    break
                common += 1
            common = min(common, len(ids) - 1)  # at least one token must be fed to get logits
        if common == 0:
            self._cache = make_prompt_cache(self._model)
            self._cached = []
        else:
            trim_prompt_cache(self._cache, len(self._cached) - common)
            self._cached = self._cached[:common]
        return ids[common:]

    def _sample(self, ids: list[int], sampling: qwen3.Sampling) -> Iterator[int]:
        from mlx_lm.generate import generate_step
        from mlx_lm.sample_utils import make_logits_processors, make_sampler

        mx = self._mx
        tail = self._prefill_tail(ids)
        sampler = make_sampler(temp=sampling.temperature, top_p=sampling.top_p, min_p=sampling.min_p,
                               top_k=sampling.top_k)
        processors = (make_logits_processors(presence_penalty=sampling.presence_penalty)
                      if sampling.presence_penalty else None)
        cached = self._cached + tail
        self._cached = cached
        steps = generate_step(mx.array(tail), self._model, max_tokens=self.context_length, sampler=sampler,
                              logits_processors=processors, prompt_cache=self._cache)
        try:
            for token, _logprobs in steps:
                cached.append(int(token))
                yield int(token)
        finally:
            steps.close()
            # generate_step feeds each token before yielding it; trim whatever ran ahead of `cached`.
            excess = self._cache[0].offset - len(cached)
            if excess > 0:
                from mlx_lm.models.cache import trim_prompt_cache

                trim_prompt_cache(self._cache, excess)

    def close(self) -> None:
        self._cache = None
        self._model = None
