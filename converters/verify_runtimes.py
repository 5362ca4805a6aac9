"""Minimal runners that load a converted model the way its runtime will, for verification only.

They feed exact token ids (tokenizing with special tokens parsed, unlike `Llama.embed`) and
read raw outputs: logits, the pooled embedding, and llama.cpp's RANK output (softmax over the
yes/no head, so element 0 is P(yes)). The engine layer has the full-featured backends.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .checkpoint import ModelKind
from .errors import MissingDependencyError

_N_CTX = 1024
_GGML_F32 = 0  # ggml_type GGML_TYPE_F32


class GgufRunner:
    def __init__(self, path: Path, kind: ModelKind) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise MissingDependencyError("verifying GGUF needs llama-cpp-python: please install it") from exc
        self._llama_cpp = llama_cpp
        self.kind = kind
        # One thread: deterministic, and fair to whatever else is running on the machine. The KV
        # cache in float32 (llama.cpp's default is float16): the check measures the weights, and a
        # float16 cache alone moved a trained model's logits by 0.01, past the exact-type limit.
        self.llm = llama_cpp.Llama(model_path=str(path), n_ctx=_N_CTX, n_batch=_N_CTX, n_ubatch=_N_CTX,
                                   n_threads=1, n_threads_batch=1, logits_all=kind is ModelKind.LLM,
                                   embedding=kind is not ModelKind.LLM, type_k=_GGML_F32, type_v=_GGML_F32,
                                   verbose=False)

    def tokenize(self, text: str) -> list[int]:
        # add_bos=True means "add the model's special tokens": for an embedder, the EOS.
        return self.llm.tokenize(text.encode("utf-8"), add_bos=self.kind is ModelKind.EMBEDDER, special=True)

    def logits(self, ids: list[int]) -> np.ndarray:
        self.llm.reset()
        self.llm.eval(ids)
        return np.array(self.llm.scores[: len(ids)], dtype=np.float32)

    def greedy(self, ids: list[int], n: int) -> list[int]:
        self.llm.reset()
        out: list[int] = []
        for token in self.llm.generate(ids, temp=0.0, top_k=1, reset=True):
            out.append(int(token))
            if len(out) == n:
                break
        return out

    def _pooled(self, ids: list[int]) -> np.ndarray:
        llama_cpp = self._llama_cpp
        batch = self.llm._batch  # noqa: SLF001 - the library's own batch, reused as Llama.embed does
        batch.reset()
        batch.add_sequence(ids, 0, True)
        self.llm._ctx.kv_cache_clear()  # noqa: SLF001
        self.llm._ctx.decode(batch)  # noqa: SLF001
        n_out = (llama_cpp.llama_model_n_cls_out(self.llm.model) if self.kind is ModelKind.RERANKER
                 else self.llm.n_embd())
        ptr = llama_cpp.llama_get_embeddings_seq(self.llm.ctx, 0)
        return np.array(ptr[:n_out], dtype=np.float32)

    def embedding(self, ids: list[int]) -> np.ndarray:
        return self._pooled(ids)

    def p_yes(self, ids: list[int], yes: int, no: int) -> float:
        return float(self._pooled(ids)[0])


class MlxRunner:
    def __init__(self, path: Path, kind: ModelKind) -> None:
        try:
            import mlx.core as mx
            from mlx_lm import load
        except ImportError as exc:
            raise MissingDependencyError("verifying MLX needs mlx-lm: please install it") from exc
        self._mx = mx
        self.kind = kind
        # mlx_lm.load treats a path that does not exist as a Hub repo name: pass it resolved.
        self.model, _ = load(str(Path(path).resolve()))

    def logits(self, ids: list[int]) -> np.ndarray:
        out = self.model(self._mx.array([ids]))[0].astype(self._mx.float32)
        return np.array(out)

    def greedy(self, ids: list[int], n: int) -> list[int]:
        from mlx_lm.models.cache import make_prompt_cache

        mx = self._mx
        cache = make_prompt_cache(self.model)
        logits = self.model(mx.array([ids]), cache=cache)[0, -1]
        out: list[int] = []
        for _ in range(n):
            token = int(mx.argmax(logits).item())
            out.append(token)
            logits = self.model(mx.array([[token]]), cache=cache)[0, -1]
        return out

    def embedding(self, ids: list[int]) -> np.ndarray:
        hidden = self.model.model(self._mx.array([ids]))[0, -1].astype(self._mx.float32)
        return np.array(hidden)

    def p_yes(self, ids: list[int], yes: int, no: int) -> float:
        last = np.array(self.model(self._mx.array([ids]))[0, -1].astype(self._mx.float32), dtype=np.float64)
        pair = last[[yes, no]]
        e = np.exp(pair - pair.max())
        return float(e[0] / e.sum())
