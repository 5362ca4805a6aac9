"""MLX conversion of every kind: loads with mlx_lm and matches transformers fp32."""

from __future__ import annotations

import json

import pytest

from converters import convert
from tests.converters.conftest import checks_of

FORMAT = "mlx"


@pytest.mark.parametrize("model", ["llm-tied", "llm-untied"])
def test_llm_bf16_and_8bit_agree_with_reference(converted, model):
    assert checks_of(converted(model, None))["top1_agreement"] >= 0.99
    assert checks_of(converted(model, "8bit"))["top1_agreement"] >= 0.99


def test_llm_f32_is_exact(converted):
    checks = checks_of(converted("llm-untied", "f32"))
    assert checks["max_abs_logit_diff"] <= 1e-3
    assert checks["greedy_match"] == 1.0


@pytest.mark.parametrize("quant,limit", [(None, 0.999), ("8bit", 0.99)])
def test_embedder_cosine(converted, quant, limit):
    assert checks_of(converted("embedder", quant))["min_cosine"] >= limit


@pytest.mark.parametrize("quant,limit", [(None, 0.01), ("8bit", 0.05)])
def test_reranker_p_yes(converted, quant, limit):
    assert checks_of(converted("reranker", quant))["max_abs_p_yes_diff"] <= limit


@pytest.mark.parametrize("model", ["llm-tied", "llm-untied", "embedder", "reranker"])
def test_4bit_loads_and_runs(converted, model):
    result = converted(model, "4bit")
    assert result.verification.passed  # finite outputs from a model mlx_lm loaded
    config = json.loads((result.output / "config.json").read_text())
    assert config["quantization"] == {"group_size": 64, "bits": 4, "mode": "affine"}


def test_embedder_layout_loads_in_mlx_lm(converted):
    result = converted("embedder", None)
    config = json.loads((result.output / "config.json").read_text())
    assert config["ippon_kind"] == "embedder" and config["tie_word_embeddings"] is True
    index = json.loads((result.output / "model.safetensors.index.json").read_text())
    assert all(k.startswith("model.") for k in index["weight_map"])
    assert (result.output / "1_Pooling" / "config.json").exists()
    assert (result.output / "tokenizer.json").exists()


def test_group_size_32(test_models, tmp_path):
    result = convert(test_models["llm-tied"], to="mlx", quant="8bit", group_size=32, out=tmp_path / "g32")
    assert json.loads((result.output / "config.json").read_text())["quantization"]["group_size"] == 32
