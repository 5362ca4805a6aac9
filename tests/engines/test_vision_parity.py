"""Qwen3-VL-Reranker: llama.cpp (GGUF + mmproj through mtmd) against transformers fp32 on the tiny checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

from converters.qwen3vl import mmproj_path_for, open_qwen3vl_checkpoint, write_qwen3vl_gguf
from engines import Candidate
from engines.llamacpp_backend.vision import LlamaCppVisionReranker

from .test_vision_models import QUERY, write_image
from .vl_reference import VLReference

DOC = "富士山の標高は3776メートルです。"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    return {"wide": write_image(folder / "wide.png", seed=1, size=(128, 64)),
            "tall": write_image(folder / "tall.png", seed=2, size=(70, 100)),
            "big": write_image(folder / "big.png", seed=3, size=(300, 200))}


@pytest.fixture(scope="module")
def vl_gguf(vl_test_models, tmp_path_factory):
    """quant -> the converted text model (its projector beside it, f16)."""
    out_dir, cache = tmp_path_factory.mktemp("vl-gguf"), {}

    def get(quant: str):
        if quant not in cache:
            ckpt = open_qwen3vl_checkpoint(vl_test_models["vl-reranker"])
            path = out_dir / f"vl-reranker-{quant}.gguf"
            write_qwen3vl_gguf(ckpt, path, mmproj_path_for(path), quant=quant)
            cache[quant] = path
        return cache[quant]
    return get


@pytest.fixture(scope="module")
def reference(vl_test_models):
    return VLReference(vl_test_models["vl-reranker"])


@pytest.fixture(scope="module")
def llama_f16(vl_gguf):
    model = LlamaCppVisionReranker(vl_gguf("f16"), n_threads=1, max_tokens=2048)
    yield model
    model.close()


def cases(images):
    """(query, query images, candidate): text only, one image, two images (query and document), image only."""
    return [
        (QUERY, [], Candidate(text=DOC)),
        (QUERY, [], Candidate(image=images["wide"])),
        (QUERY, [], Candidate(text="図1", image=images["tall"])),
        (QUERY, [images["big"]], Candidate(text=DOC, image=images["wide"])),
        (None, [images["tall"]], Candidate(image=images["wide"])),
        (QUERY, [images["wide"]], Candidate(text=DOC)),
    ]


def test_prompt_token_ids_equal_the_reference(llama_f16, reference, images):
    for query, query_images, candidate in cases(images):
        ours = llama_f16.prompt_ids(query, candidate, query_images=query_images)
        ref = reference.score(query, candidate.text, query_images=query_images,
                              doc_images=[candidate.image] if candidate.image else [])
        assert ours == [-1 if t == reference.image_token_id else t for t in ref.token_ids]


@pytest.mark.parametrize("quant, tolerance", [("f16", 0.01), ("q8_0", 0.05)])
def test_llamacpp_scores_match_transformers(vl_gguf, reference, images, quant, tolerance):
    model = LlamaCppVisionReranker(vl_gguf(quant), n_threads=1, max_tokens=2048)
    try:
        for query, query_images, candidate in cases(images):
            got = model.score(query, [candidate], query_images=query_images)[0]
            ref = reference.score(query, candidate.text, query_images=query_images,
                                  doc_images=[candidate.image] if candidate.image else [])
            assert abs(got - ref.score) <= tolerance, (query, candidate, got, ref.score)
    finally:
        model.close()


def test_pixels_change_the_score(llama_f16, images):
    scores = llama_f16.score(QUERY, [Candidate(image=images["wide"]), Candidate(image=images["tall"]),
                                     Candidate(text=DOC)])
    assert scores.dtype == np.float32 and np.all((scores > 0) & (scores < 1))
    assert len({round(float(s), 4) for s in scores}) == 3


@pytest.fixture(scope="module")
def vl_mlx(vl_test_models, tmp_path_factory):
    """quant -> the MLX folder `ippon convert --to mlx` writes."""
    from converters import convert

    out_dir, cache = tmp_path_factory.mktemp("vl-mlx"), {}

    def get(quant: str):
        if quant not in cache:
            cache[quant] = convert(vl_test_models["vl-reranker"], to="mlx", quant=quant,
                                   out=out_dir / f"vl-reranker-{quant}").output
        return cache[quant]
    return get


@pytest.mark.parametrize("quant, tolerance", [("f32", 0.01), ("bf16", 0.01), ("8bit", 0.05)])
def test_mlx_scores_match_transformers(vl_mlx, reference, images, quant, tolerance):
    from engines.mlx_backend.vision import MlxVisionReranker

    model = MlxVisionReranker(vl_mlx(quant))
    try:
        for query, query_images, candidate in cases(images):
            ref = reference.score(query, candidate.text, query_images=query_images,
                                  doc_images=[candidate.image] if candidate.image else [])
            assert model.prompt_ids(query, candidate, query_images=query_images) == ref.token_ids
            got = model.score(query, [candidate], query_images=query_images)[0]
            assert abs(got - ref.score) <= tolerance, (quant, query, candidate, got, ref.score)
    finally:
        model.close()


@pytest.mark.parametrize("query_images", [[], ["big"]])
def test_a_batch_shares_its_prefix_and_keeps_every_score(llama_f16, reference, images, query_images, monkeypatch):
    from engines.llamacpp_backend import vision, vision_prefix

    shared = []
    real = vision_prefix.shared_prefix

    def spy(prompts, n_query_images):
        shared.append(real(prompts, n_query_images))
        return shared[-1]

    monkeypatch.setattr(vision, "shared_prefix", spy)
    q_images = [images[name] for name in query_images]
    candidates = [Candidate(text=DOC), Candidate(image=images["wide"]), Candidate(text="図1", image=images["tall"]),
                  Candidate(text="短い")]
    batched = llama_f16.score(QUERY, candidates, query_images=q_images)
    whole, partial = shared[0]
    assert whole + partial > 0 and (whole >= 2 if q_images else True)  # the query image is decoded once
    alone = [llama_f16.score(QUERY, [c], query_images=q_images)[0] for c in candidates]
    np.testing.assert_allclose(batched, alone, atol=1e-4)
    for got, c in zip(batched, candidates, strict=True):
        ref = reference.score(QUERY, c.text, query_images=q_images, doc_images=[c.image] if c.image else [])
        assert abs(got - ref.score) <= 0.01


def test_shared_prefix_stops_where_the_token_ids_differ():
    from engines.llamacpp_backend.vision_prefix import Unit, shared_prefix

    a = [Unit(None, (1, 2, 3)), Unit(None, None, 0), Unit(None, (4, 5, 6)), Unit(None, None, 1), Unit(None, (9,))]
    b = [Unit(None, (1, 2, 3)), Unit(None, None, 0), Unit(None, (4, 5, 7, 8))]
    assert shared_prefix([a, b], n_query_images=1) == (2, 2)
    assert shared_prefix([a, b], n_query_images=0) == (1, 0)  # a document's image is never shared
    assert shared_prefix([b, b], n_query_images=1) == (0, 0)  # nothing would be left to read logits from


def test_mlx_runs_the_hugging_face_folder_as_it_is(vl_test_models, reference, images):
    """A pulled original checkpoint (`ippon models pull --format hf`) needs no conversion for MLX."""
    import engines

    model = engines.load_vision_reranker(vl_test_models["vl-reranker"])  # a folder: the MLX backend
    try:
        for query, query_images, candidate in cases(images)[:3]:
            ref = reference.score(query, candidate.text, query_images=query_images,
                                  doc_images=[candidate.image] if candidate.image else [])
            assert abs(model.score(query, [candidate], query_images=query_images)[0] - ref.score) <= 0.01
    finally:
        model.close()


def test_each_image_is_encoded_once_and_its_kept_encoding_scores_the_same(vl_gguf, reference, images, tmp_path,
                                                                           monkeypatch):
    """The vision encoder's output is kept by the image's pixels: the same screenshot in the next question
    costs only the text model's part, and scores bit for bit the same."""
    import shutil

    from llama_cpp import mtmd_cpp
    from PIL import Image

    encoded = []
    real = mtmd_cpp.mtmd_encode_chunk
    monkeypatch.setattr(mtmd_cpp, "mtmd_encode_chunk", lambda ctx, chunk: encoded.append(1) or real(ctx, chunk))
    model = LlamaCppVisionReranker(vl_gguf("f16"), n_threads=1, max_tokens=2048)
    try:
        candidates = [Candidate(image=images["wide"]), Candidate(text=DOC), Candidate(text="図1", image=images["tall"])]
        first = model.score(QUERY, candidates, query_images=[images["big"]])
        assert len(encoded) == 3 and len(model.encoded) == 3
        again = model.score(QUERY, candidates, query_images=[images["big"]])
        assert len(encoded) == 3 and model.encoded.hits >= 3  # nothing encoded again
        np.testing.assert_array_equal(first, again)
        for got, c in zip(again, candidates, strict=True):
            ref = reference.score(QUERY, c.text, query_images=[images["big"]], doc_images=[c.image] if c.image else [])
            assert abs(got - ref.score) <= 0.01
        # By pixels, not by name: a copy is the same image; one changed pixel is another.
        copy = shutil.copy(images["wide"], tmp_path / "copy.png")
        model.score(QUERY, [Candidate(image=copy)])
        assert len(encoded) == 3
        with Image.open(images["wide"]) as img:
            changed = img.convert("RGB")
        changed.putpixel((5, 5), (0, 0, 0) if changed.getpixel((5, 5)) != (0, 0, 0) else (255, 255, 255))
        changed.save(tmp_path / "changed.png")
        model.score(QUERY, [Candidate(image=tmp_path / "changed.png")])
        assert len(encoded) == 4
    finally:
        model.close()


def test_the_kept_encodings_stay_within_their_memory_limit(vl_gguf, images):
    from engines.qwen3_vl import EncodedImages

    model = LlamaCppVisionReranker(vl_gguf("f16"), n_threads=1, max_tokens=2048, image_cache_bytes=1)
    try:
        model.score(QUERY, [Candidate(image=images["wide"])])
        assert len(model.encoded) == 0 and model.encoded.bytes == 0  # larger than the limit: not kept
    finally:
        model.close()
    cache = EncodedImages(limit_bytes=3 * 400)
    for key in (b"a", b"b", b"c"):
        cache.put(key, np.zeros(100, dtype=np.float32), 400)
    assert cache.get(b"a") is not None  # now the most recently used
    cache.put(b"d", np.zeros(100, dtype=np.float32), 400)
    assert cache.get(b"b") is None and cache.get(b"a") is not None and len(cache) == 3 and cache.bytes == 1200


def test_mlx_keeps_each_images_encoding_and_scores_the_same(vl_mlx, reference, images):
    """MLX too: mlx-vlm's vision tower runs once per image (several images of one prompt encoded as one
    after another, as the tower does them), and a kept encoding scores exactly as a fresh one."""
    from engines.mlx_backend.vision import MlxVisionReranker

    kept = MlxVisionReranker(vl_mlx("f32"))
    fresh = MlxVisionReranker(vl_mlx("f32"), image_cache_bytes=0)
    try:
        candidates = [Candidate(image=images["wide"]), Candidate(text=DOC), Candidate(text="図1", image=images["tall"])]
        first = kept.score(QUERY, candidates, query_images=[images["big"]])
        assert (kept.encoded.misses, len(kept.encoded)) == (3, 3)  # big, wide, tall: each encoded once
        again = kept.score(QUERY, candidates, query_images=[images["big"]])
        assert kept.encoded.misses == 3
        np.testing.assert_array_equal(first, again)
        np.testing.assert_allclose(again, fresh.score(QUERY, candidates, query_images=[images["big"]]), atol=1e-6)
        assert len(fresh.encoded) == 0
        for got, c in zip(again, candidates, strict=True):
            ref = reference.score(QUERY, c.text, query_images=[images["big"]], doc_images=[c.image] if c.image else [])
            assert abs(got - ref.score) <= 0.01
    finally:
        kept.close()
        fresh.close()
