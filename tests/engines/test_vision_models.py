"""The tiny Qwen3-VL test models and the transformers reference scorer the vision parity tests trust."""

from __future__ import annotations

import json

import numpy as np
import pytest

from .vl_reference import VLReference

QUERY = "富士山の高さは？"


@pytest.fixture(scope="module")
def vl_reference(vl_test_models):
    return VLReference(vl_test_models["vl-reranker"])


def write_image(path, *, seed: int, size=(128, 64)):
    from PIL import Image

    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def test_checkpoints_have_the_official_layout_and_token_ids(vl_test_models):
    from tokenizers import Tokenizer

    for folder in vl_test_models.values():
        config = json.loads((folder / "config.json").read_text())
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        assert config["architectures"] == ["Qwen3VLForConditionalGeneration"]
        assert config["image_token_id"] == tok.token_to_id("<|image_pad|>")
        assert config["vision_start_token_id"] == tok.token_to_id("<|vision_start|>")
        assert config["vision_end_token_id"] == tok.token_to_id("<|vision_end|>")
        assert config["video_token_id"] == tok.token_to_id("<|video_pad|>")
        assert sum(config["text_config"]["rope_scaling"]["mrope_section"]) * 2 == config["text_config"]["head_dim"]
        for word in ("yes", "no"):
            assert len(tok.encode(word, add_special_tokens=False).ids) == 1
        assert (folder / "preprocessor_config.json").is_file()


def test_reference_prompt_is_the_official_one(vl_reference, tmp_path):
    image = write_image(tmp_path / "a.png", seed=1)
    result = vl_reference.score(QUERY, "説明", doc_images=[image])
    text = vl_reference.tokenizer.decode(result.token_ids)
    n_pad = text.count("<|image_pad|>")
    assert n_pad == (128 // 32) * (64 // 32)  # a 128x64 image: 8x4 patches, merged 2x2
    collapsed = text.replace("<|image_pad|>" * n_pad, "<|image_pad|>")
    assert collapsed == (
        "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
        'provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
        "<Instruct>: Given a search query, retrieve relevant candidates that answer the query.<Query>:" + QUERY
        + "\n<Document>:<|vision_start|><|image_pad|><|vision_end|>説明<|im_end|>\n<|im_start|>assistant\n")


def test_reference_scores_depend_on_the_pixels(vl_reference, tmp_path):
    a, b = write_image(tmp_path / "a.png", seed=1), write_image(tmp_path / "b.png", seed=2)
    scores = [vl_reference.score(QUERY, None, doc_images=[p]).logit_diff for p in (a, b)]
    text_only = vl_reference.score(QUERY, None).logit_diff
    assert abs(scores[0] - scores[1]) > 0.01 and abs(scores[0] - text_only) > 0.01


def test_real_dims_specs_are_what_transformers_builds(tmp_path):
    """The benchmark's Qwen3-VL-Reranker-2B checkpoint: every tensor name and shape as transformers makes them
    (checked on the meta device, so nothing of its 2B parameters is allocated)."""
    import importlib.util

    import torch
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    from ..conftest import ROOT, load_factory

    spec = importlib.util.spec_from_file_location("make_test_vl_models", ROOT / "scripts" / "make_test_vl_models.py")
    factory = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(factory)
    text, vision = factory.REAL_DIMS["reranker-2b"]
    tok = load_factory().train_tiny_tokenizer()  # the ids only name tokens here; the real vocabulary size is used
    factory.write_vl_configs(tmp_path, vocab_size=151936, tok=tok, text=text, vision=vision)
    config = Qwen3VLConfig.from_pretrained(str(tmp_path))
    with torch.device("meta"):
        model = Qwen3VLForConditionalGeneration(config)
    expected = {n: tuple(t.shape) for n, t in model.state_dict().items() if n != "lm_head.weight"}  # tied
    assert dict(factory.vl_tensor_specs(vocab_size=151936, text=text, vision=vision)) == expected
