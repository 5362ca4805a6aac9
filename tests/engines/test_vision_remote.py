"""The remote VL reranker speaks vLLM's /v1/rerank: what it sends, and how it reads the answer (a stdlib fake server)."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

import engines
from engines import Candidate, CandidateFailure, UnsupportedError

from .test_remote import FakeServer, json_reply
from .test_vision_models import write_image


@pytest.fixture()
def fake():
    server = FakeServer()

    def rerank(handler):
        body = server.requests[-1][3]
        docs = body["documents"]
        count = len(docs["content"]) if isinstance(docs, dict) else len(docs)
        # Sorted by score, as vLLM answers; the score tells the document's place in the request.
        results = [{"index": i, "relevance_score": 0.1 + 0.1 * i} for i in reversed(range(count))]
        json_reply({"id": "rerank-1", "model": body["model"], "results": results})(handler)

    server.routes["POST", "/v1/rerank"] = rerank
    yield server
    server.stop()


def decode_image(part):
    from PIL import Image

    assert part["type"] == "image_url"
    head, data = part["image_url"]["url"].split(",", 1)
    assert head == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(data)))


def test_texts_and_images_go_in_vllms_two_request_shapes(fake, tmp_path):
    a = write_image(tmp_path / "a.png", seed=1, size=(130, 70))
    b = write_image(tmp_path / "b.png", seed=2)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    model = engines.load_vision_reranker("qwen3-vl-reranker", url=fake.url)
    failures: list[CandidateFailure] = []
    scores = model.score("富士山", [Candidate(image=a), Candidate(text="本文"), Candidate(image=broken),
                                    Candidate(text="二つ目"), Candidate(text="図", image=b)], failures=failures)
    text_request, image_request = fake.posted("/v1/rerank")
    assert text_request == {"model": "qwen3-vl-reranker", "query": "富士山", "documents": ["本文", "二つ目"],
                            "top_n": 2}
    parts = image_request["documents"]["content"]
    assert image_request["query"] == "富士山" and len(parts) == 2
    assert decode_image(parts[0]).size == (128, 64)  # resized here as the reference does (multiples of 32)
    assert decode_image(parts[1]).size == (128, 64)
    np.testing.assert_allclose(scores, [0.1, 0.1, np.nan, 0.2, 0.2], rtol=1e-6)
    assert [f.index for f in failures] == [2] and str(broken) in failures[0].reason


def test_a_query_image_makes_the_query_multimodal(fake, tmp_path):
    q = write_image(tmp_path / "q.png", seed=3)
    model = engines.load_vision_reranker("m", url=fake.url)
    model.score("これは何？", [Candidate(text="説明")], query_images=[q])
    (request,) = fake.posted("/v1/rerank")
    image, text = request["query"]["content"]
    assert decode_image(image).size == (128, 64) and text == {"type": "text", "text": "これは何？"}
    json.dumps(request)  # plain JSON all through


def test_an_instruction_cannot_be_sent(fake):
    model = engines.load_vision_reranker("m", url=fake.url)
    with pytest.raises(UnsupportedError, match="no instruction"):
        model.score("q", [Candidate(text="d")], instruction="Find diagrams")


def test_the_embedder_sends_the_official_conversation(fake, tmp_path):
    image = write_image(tmp_path / "a.png", seed=1)

    def embeddings(handler):
        body = fake.requests[-1][3]
        user = body["messages"][1]["content"]
        # A vector that tells what came: 1 for an image part, 2 for a text part, then padding.
        vector = [1.0 if part["type"] == "image_url" else 2.0 for part in user] + [0.5] * 64
        json_reply({"object": "list", "data": [{"index": 0, "embedding": vector[:64]}]})(handler)

    fake.routes["POST", "/v1/embeddings"] = embeddings
    model = engines.load_vision_embedder("qwen3-vl-embedding", url=fake.url)
    assert model.dim == 64
    failures: list[CandidateFailure] = []
    vectors = model.embed([Candidate(text="東京"), Candidate(text="図", image=image),
                           Candidate(image=tmp_path / "missing.png")], instruction="Find diagrams",
                          dim=32, failures=failures)
    bodies = fake.posted("/v1/embeddings")
    assert bodies[1]["messages"][0] == {"role": "system", "content": [{"type": "text", "text": "Find diagrams."}]}
    image_part_, text_part = bodies[2]["messages"][1]["content"]
    assert decode_image(image_part_).size == (128, 64) and text_part == {"type": "text", "text": "図"}
    assert vectors.shape == (3, 32) and np.isnan(vectors[2]).all()
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-6)
    assert [f.index for f in failures] == [2] and "missing.png" in failures[0].reason
