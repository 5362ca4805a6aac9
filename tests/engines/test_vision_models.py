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
