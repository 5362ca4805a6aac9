"""The tiny test models converted once per session for the engine tests: GGUF f16 and MLX (bf16 kept)."""

from __future__ import annotations

from pathlib import Path

import pytest

from converters import convert

# Tests run llama.cpp on one thread: deterministic, and fair to other processes on the machine.
LLAMA_OPTIONS = {"n_threads": 1}


@pytest.fixture(scope="session")
def engine_models(test_models, tmp_path_factory):
    """(model, fmt) -> path of the converted file or folder, converted on first use.

    fmt: "gguf" (f16), "mlx" (bf16, the converter's default) or "mlx-f32".
    """
    out_dir = tmp_path_factory.mktemp("engine-models")
    cache: dict[tuple[str, str], Path] = {}

    def get(model: str, fmt: str) -> Path:
        if (model, fmt) not in cache:
            to, quant = {"gguf": ("gguf", "f16"), "mlx": ("mlx", None), "mlx-f32": ("mlx", "f32")}[fmt]
            out = out_dir / (f"{model}.gguf" if to == "gguf" else f"{model}-{fmt}")
            cache[model, fmt] = convert(test_models[model], to=to, quant=quant, out=out).output
        return cache[model, fmt]
    return get


def options_for(fmt: str) -> dict:
    return dict(LLAMA_OPTIONS) if fmt == "gguf" else {}


class Reference:
    """transformers fp32 on the original checkpoint: the numerical truth for the engines."""

    def __init__(self, folder: Path, *, embedder: bool = False) -> None:
        import torch
        import transformers

        self.torch = torch
        cls = transformers.AutoModel if embedder else transformers.AutoModelForCausalLM
        self.model = cls.from_pretrained(str(folder), dtype=torch.float32).eval()

    def greedy(self, ids: list[int], n: int) -> list[int]:
        with self.torch.no_grad():
            out = self.model.generate(self.torch.tensor([ids]), do_sample=False, max_new_tokens=n,
                                      min_new_tokens=n, pad_token_id=0)
        return out[0, len(ids):].tolist()

    def embedding(self, ids: list[int]):
        import numpy as np

        with self.torch.no_grad():
            vec = self.model(self.torch.tensor([ids])).last_hidden_state[0, -1].numpy()
        return vec / np.linalg.norm(vec)

    def p_yes(self, ids: list[int], yes: int, no: int) -> float:
        with self.torch.no_grad():
            last = self.model(self.torch.tensor([ids])).logits[0, -1, [yes, no]].double()
        return float(self.torch.softmax(last, dim=-1)[0])


@pytest.fixture(scope="session")
def reference(test_models):
    cache: dict[str, Reference] = {}

    def get(model: str) -> Reference:
        if model not in cache:
            cache[model] = Reference(test_models[model], embedder=model == "embedder")
        return cache[model]
    return get
