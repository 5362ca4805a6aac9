"""The tiny test models converted once per session for the engine tests: GGUF f16 and MLX (bf16 kept)."""

from __future__ import annotations

from pathlib import Path

import pytest

from converters import convert

# Tests run llama.cpp on one thread: deterministic, and fair to other processes on the machine.
LLAMA_OPTIONS = {"n_threads": 1}


@pytest.fixture(scope="session")
def engine_models(test_models, tmp_path_factory):
    """(model, fmt) -> path of the converted file or folder, converted on first use."""
    out_dir = tmp_path_factory.mktemp("engine-models")
    cache: dict[tuple[str, str], Path] = {}

    def get(model: str, fmt: str) -> Path:
        if (model, fmt) not in cache:
            out = out_dir / (f"{model}.gguf" if fmt == "gguf" else f"{model}-mlx")
            quant = "f16" if fmt == "gguf" else None
            cache[model, fmt] = convert(test_models[model], to=fmt, quant=quant, out=out).output
        return cache[model, fmt]
    return get


def options_for(fmt: str) -> dict:
    return dict(LLAMA_OPTIONS) if fmt == "gguf" else {}
