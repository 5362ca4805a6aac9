"""`ippon engine rerank` with a Qwen3-VL reranker: images scored by their pixels, bad input refused clearly."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

from engines import Candidate, WrongModelError, load_vision_reranker

from .test_vision_models import QUERY, write_image
from .test_vision_parity import DOC, vl_gguf  # noqa: F401 - the converted model, as a fixture


def png_header_only(path, width: int, height: int):
    """A PNG whose header claims width x height pixels, with no image data worth the name."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_rerank_json_text_first_then_images(vl_gguf, engine_cli, tmp_path):  # noqa: F811 - the fixture
    model = vl_gguf("f16")
    a, b = write_image(tmp_path / "a.png", seed=1), write_image(tmp_path / "b.jpg", seed=2, size=(90, 120))
    rc, out, _ = engine_cli("rerank", "--model", str(model), "--query", QUERY, DOC, "短い", "--image", str(a),
                            "--image", str(b), "--json")
    assert rc == 0
    payload = json.loads(out)
    reranker = load_vision_reranker(model, n_threads=1)
    try:
        expected = reranker.score(QUERY, [Candidate(text=DOC), Candidate(text="短い"), Candidate(image=a),
                                          Candidate(image=b)])
    finally:
        reranker.close()
    assert payload["errors"] == []
    np.testing.assert_allclose(payload["scores"], expected, atol=1e-6)


def test_query_image_changes_the_scores(vl_gguf, engine_cli, tmp_path):  # noqa: F811
    image = write_image(tmp_path / "q.png", seed=4)
    plain = json.loads(engine_cli("rerank", "--model", str(vl_gguf("f16")), "--query", QUERY, DOC, "--json")[1])
    with_image = json.loads(engine_cli("rerank", "--model", str(vl_gguf("f16")), "--query", QUERY, "--query-image",
                                       str(image), DOC, "--json")[1])
    assert abs(plain["scores"][0] - with_image["scores"][0]) > 1e-4


def test_bad_images_are_named_and_the_rest_still_scored(vl_gguf, engine_cli, tmp_path):  # noqa: F811
    good = write_image(tmp_path / "good.png", seed=1)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    huge = png_header_only(tmp_path / "huge.png", 30000, 30000)
    missing = tmp_path / "missing.png"
    rc, out, err = engine_cli("rerank", "--model", str(vl_gguf("f16")), "--query", QUERY, DOC, "--image", str(corrupt),
                              "--image", str(good), "--image", str(huge), "--image", str(missing), "--json")
    payload = json.loads(out)
    assert rc == 1
    scores = payload["scores"]
    assert scores[0] is not None and scores[2] is not None and 0 < scores[2] < 1
    assert scores[1] is None and scores[3] is None and scores[4] is None
    reasons = {e["index"]: e["reason"] for e in payload["errors"]}
    assert str(corrupt) in reasons[1] and ("damaged" in reasons[1] or "not an image" in reasons[1])
    assert str(huge) in reasons[3] and "too large" in reasons[3]
    assert str(missing) in reasons[4] and "no such image" in reasons[4]
    assert err.count("not scored") == 3


def test_a_projector_from_another_model_is_refused(vl_gguf, engine_cli, tmp_path):  # noqa: F811
    import gguf

    fake = tmp_path / "mmproj-other.gguf"
    writer = gguf.GGUFWriter(str(fake), "clip")
    writer.add_clip_projector_type("qwen3vl_merger")
    writer.add_vision_projection_dim(2048)  # a 2B model's width; the tiny text model is 64 wide
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    rc, _, err = engine_cli("rerank", "--model", str(vl_gguf("f16")), "--mmproj", str(fake), "--query", QUERY, DOC)
    assert rc == 1 and str(fake) in err and "not from the same model" in err
    with pytest.raises(WrongModelError, match="not a Qwen3-VL projector"):
        load_vision_reranker(vl_gguf("f16"), mmproj=vl_gguf("f16"))


def test_a_missing_projector_says_where_it_was_looked_for(vl_gguf, tmp_path, engine_cli):  # noqa: F811
    lonely = tmp_path / "lonely.gguf"
    lonely.write_bytes(vl_gguf("f16").read_bytes())
    rc, _, err = engine_cli("rerank", "--model", str(lonely), "--query", QUERY, "--image", str(tmp_path / "x.png"))
    assert rc == 1 and "mmproj-lonely.gguf" in err and "--mmproj" in err


def test_an_oversized_header_is_refused_before_decoding(tmp_path):
    from engines.qwen3_vl import ImageInputError, load_image

    wide = png_header_only(tmp_path / "wide.png", 21000, 2000)  # under Pillow's own limit, over Ippon's
    with pytest.raises(ImageInputError, match="21000x2000"):
        load_image(wide)


def test_embed_json_texts_then_images(vl_test_models, engine_cli, tmp_path):
    from converters import convert

    model = convert(vl_test_models["vl-embedder"], to="gguf", quant="f16", out=tmp_path / "emb.gguf").output
    image = write_image(tmp_path / "a.png", seed=5)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG broken")
    rc, out, err = engine_cli("embed", "--model", str(model), "東京", "--image", str(image), "--image", str(broken),
                              "--dim", "32", "--json")
    payload = json.loads(out)
    assert rc == 1 and payload["dim"] == 32 and "not embedded" in err
    first, second, third = payload["vectors"]
    assert len(first) == 32 and len(second) == 32 and third is None
    assert abs(np.linalg.norm(first) - 1) < 1e-5 and abs(float(np.dot(first, second))) < 0.999
    assert payload["errors"][0]["index"] == 2 and str(broken) in payload["errors"][0]["reason"]


def test_a_fifo_where_an_image_was_is_refused_at_once(tmp_path):
    import os

    from engines.qwen3_vl import ImageInputError, load_image

    fifo = tmp_path / "dialog.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageInputError, match="not a regular file"):
        load_image(fifo)
    with pytest.raises(ImageInputError, match="no such image"):
        load_image(tmp_path / "gone.png")
