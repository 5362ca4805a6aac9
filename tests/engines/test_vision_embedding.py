"""Qwen3-VL-Embedding: llama.cpp (GGUF + mmproj) and MLX against transformers fp32 on the tiny checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

from converters import convert
from engines import Candidate
from engines.llamacpp_backend.vision import LlamaCppVisionEmbedder
from engines.mlx_backend.vision import MlxVisionEmbedder

from .test_vision_models import write_image
from .vl_reference import VLReference

TEXT = "富士山の標高は3776メートルです。"


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    folder = tmp_path_factory.mktemp("embed-images")
    a = write_image(folder / "a.png", seed=11, size=(128, 64))
    b = write_image(folder / "b.png", seed=12, size=(96, 160))
    return [Candidate(text=TEXT), Candidate(image=a), Candidate(text="図の説明", image=b), Candidate(image=b)]


@pytest.fixture(scope="module")
def reference(vl_test_models):
    return VLReference(vl_test_models["vl-embedder"])


@pytest.fixture(scope="module")
def converted(vl_test_models, tmp_path_factory):
    out_dir, cache = tmp_path_factory.mktemp("vl-embed"), {}

    def get(fmt: str, quant: str):
        if (fmt, quant) not in cache:
            out = out_dir / (f"vl-embedder-{quant}.gguf" if fmt == "gguf" else f"vl-embedder-{quant}")
            cache[fmt, quant] = convert(vl_test_models["vl-embedder"], to=fmt, quant=quant, out=out).output
        return cache[fmt, quant]
    return get


def load(converted, fmt: str, quant: str):
    if fmt == "gguf":
        return LlamaCppVisionEmbedder(converted(fmt, quant), n_threads=1, max_tokens=2048)
    return MlxVisionEmbedder(converted(fmt, quant))


@pytest.mark.parametrize("fmt, quant, min_cosine", [("gguf", "f16", 0.999), ("gguf", "q8_0", 0.99),
                                                   ("mlx", "f32", 0.999), ("mlx", "bf16", 0.999),
                                                   ("mlx", "8bit", 0.99)])
def test_vectors_match_transformers(converted, reference, items, fmt, quant, min_cosine):
    model = load(converted, fmt, quant)
    try:
        vectors = model.embed(items)
        for item, vector in zip(items, vectors, strict=True):
            ids, expected = reference.embedding(item.text, [item.image] if item.image else [])
            got_ids = model.prompt_ids(item)
            image_token = reference.image_token_id
            assert got_ids == ([-1 if t == image_token else t for t in ids] if fmt == "gguf" else ids)
            assert float(vector @ expected) >= min_cosine, (fmt, quant, item, float(vector @ expected))
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    finally:
        model.close()


def test_matryoshka_and_a_bad_image(converted, items, tmp_path):
    model = load(converted, "gguf", "f16")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really")
    try:
        failures = []
        vectors = model.embed([items[0], Candidate(image=broken), items[1]], dim=32, failures=failures)
        assert vectors.shape == (3, 32)
        assert np.isnan(vectors[1]).all() and not np.isnan(vectors[[0, 2]]).any()
        assert [f.index for f in failures] == [1] and str(broken) in failures[0].reason
        full = model.embed([items[0]])
        np.testing.assert_allclose(vectors[0], full[0, :32] / np.linalg.norm(full[0, :32]), atol=1e-5)
    finally:
        model.close()
