"""The numerical reference for the engine tests; the converted models come from tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import LLAMA_OPTIONS, options_for  # noqa: F401 - re-exported for the engine tests


@pytest.fixture()
def engine_cli(capsys):
    """`ippon engine ARGS...` through the CLI entry point: (exit code, stdout, stderr)."""
    from app.cli import main

    def call(*argv: str) -> tuple[int, str, str]:
        rc = main(["engine", *argv])
        out = capsys.readouterr()
        return rc, out.out, out.err
    return call


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
