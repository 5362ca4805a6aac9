"""The OpenAI-compatible API through the official `openai` client, and Ippon's own routes, on a live server."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx2 as httpx
import numpy as np
import openai
import pytest

from .conftest import RAG_ANSWER, RAG_QUESTION

GREEDY = {"temperature": 0, "max_tokens": 64}
LEXICAL = {"ippon": {"mode": "lexical"}}  # the one source the trained model learned to answer from


@pytest.fixture(scope="module")
def client(running) -> openai.OpenAI:
    return openai.OpenAI(base_url=running.url + "/v1", api_key=running.key, max_retries=0, timeout=120)


def test_models_lists_the_configured_models_and_ippon_rag(client):
    ids = {m.id: m.model_extra["ippon_role"] for m in client.models.list()}
    assert ids == {"ippon-rag": "rag", "llm-chat.gguf": "chat", "embedder.gguf": "embedder",
                   "reranker.gguf": "reranker"}


def test_ippon_rag_answers_from_the_library_with_its_sources(client):
    reply = client.chat.completions.create(model="ippon-rag", messages=[{"role": "user", "content": RAG_QUESTION}],
                                           extra_body=LEXICAL, **GREEDY)
    assert reply.choices[0].message.content == RAG_ANSWER
    assert reply.choices[0].finish_reason == "stop" and reply.usage.completion_tokens > 0
    ippon = reply.model_extra["ippon"]
    (source,) = ippon["sources"]
    assert Path(source["path"]).name == "fuji.md" and source["n"] == 1 and ippon["citations"] == [1]
    assert source["text"].startswith("# 富士山") and source["char_end"] > source["char_start"]


def test_ippon_rag_streams_and_the_last_chunk_carries_the_sources(client):
    chunks = list(client.chat.completions.create(model="ippon-rag", stream=True, extra_body=LEXICAL,
                                                 messages=[{"role": "user", "content": RAG_QUESTION}], **GREEDY))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == RAG_ANSWER and len(chunks) > 3
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert [Path(s["path"]).name for s in last.model_extra["ippon"]["sources"]] == ["fuji.md"]
    assert all("ippon" not in (c.model_extra or {}) for c in chunks[:-1])


def test_the_llms_own_id_chats_without_the_library(client):
    reply = client.chat.completions.create(model="llm-chat.gguf", messages=[{"role": "user", "content": "富士山の高さは？"}],
                                           **GREEDY)
    assert reply.choices[0].message.content == "富士山の標高は3776メートルです。"
    assert "ippon" not in (reply.model_extra or {})


def test_thinking_comes_as_reasoning_content_streamed_and_not(client):
    messages = [{"role": "user", "content": "富士山の高さは？"}]
    reply = client.chat.completions.create(model="llm-chat.gguf", messages=messages,
                                           extra_body={"enable_thinking": True}, **GREEDY)
    message = reply.choices[0].message
    assert message.content.strip() == "富士山の標高は3776メートルです。"
    assert message.model_extra["reasoning_content"].strip() == "富士山は日本で一番高い山です。標高を思い出します。"
    chunks = list(client.chat.completions.create(model="llm-chat.gguf", messages=messages, stream=True,
                                                 extra_body={"chat_template_kwargs": {"enable_thinking": True}},
                                                 stream_options={"include_usage": True}, **GREEDY))
    thinking = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in chunks if c.choices)
    assert thinking.strip() == "富士山は日本で一番高い山です。標高を思い出します。"
    assert chunks[-1].usage.completion_tokens > 0 and not chunks[-1].choices


def test_a_thinking_budget_turns_thinking_on_and_cuts_it_short(client):
    reply = client.chat.completions.create(model="llm-chat.gguf", messages=[{"role": "user", "content": "富士山の高さは？"}],
                                           extra_body={"thinking_budget": 2}, **GREEDY)
    thinking = reply.choices[0].message.model_extra["reasoning_content"]
    assert "Considering the limited time" in thinking  # the early-stop sentence, forced after 2 tokens
    assert "標高を思い出します" not in thinking


def test_embeddings_with_dimensions_and_the_query_instruction(client):
    full = client.embeddings.create(model="embedder.gguf", input=["富士山の標高", "東京駅"])
    assert [d.index for d in full.data] == [0, 1] and len(full.data[0].embedding) == 64
    cut = client.embeddings.create(model="embedder.gguf", input="富士山の標高", dimensions=32)
    vector = np.array(cut.data[0].embedding)
    assert vector.shape == (32,) and abs(np.linalg.norm(vector) - 1) < 1e-4
    query = client.embeddings.create(model="embedder.gguf", input="富士山の標高", extra_body={"input_type": "query"})
    assert not np.allclose(query.data[0].embedding, full.data[0].embedding, atol=1e-4)
    again = client.embeddings.create(model="embedder.gguf", input="富士山の標高", encoding_format="base64")
    decoded = np.frombuffer(base64.b64decode(again.data[0].embedding), dtype="<f4")
    assert np.allclose(decoded, full.data[0].embedding, atol=1e-5)


def test_rerank_in_the_jina_cohere_shape(running):
    body = {"model": "reranker.gguf", "query": "富士山の高さ", "top_n": 2, "return_documents": True,
            "documents": ["富士山は3776m", {"text": "東京駅"}, "ポート番号は8080"]}
    reply = httpx.post(running.url + "/v1/rerank", json=body, headers=running.headers, timeout=60).json()
    results = reply["results"]
    assert len(results) == 2 and {r["index"] for r in results} <= {0, 1, 2}
    assert results[0]["relevance_score"] >= results[1]["relevance_score"]
    assert all(0 <= r["relevance_score"] <= 1 for r in results)
    texts = ["富士山は3776m", "東京駅", "ポート番号は8080"]
    assert [r["document"]["text"] for r in results] == [texts[r["index"]] for r in results]
    direct = running.service.load_models()["reranker"].score("富士山の高さ", texts)
    assert results[0]["relevance_score"] == pytest.approx(float(direct.max()), abs=1e-6)


def test_search_with_a_folder_filter(running):
    def search(**extra):
        reply = httpx.post(running.url + "/v1/search", json={"query": "ポート番号", **extra}, headers=running.headers,
                           timeout=60)
        assert reply.status_code == 200, reply.text
        return reply.json()

    everywhere = {Path(r["path"]).name for r in search()["data"]}
    assert {"port.txt", "network.md"} <= everywhere
    found = search(folders=[str(running.docs / "manuals")], mode="hybrid")
    assert [Path(r["path"]).name for r in found["data"]] == ["network.md"]
    assert found["data"][0]["chunk_id"].startswith(found["data"][0]["source_id"]) and found["reranked"]
    assert search(formats=["txt"], rerank=False)["data"][0]["path"].endswith("port.txt")


def test_health_says_what_is_loaded_and_openapi_documents_the_routes(running):
    health = httpx.get(running.url + "/health", timeout=30).json()
    assert health["status"] == "ok" and health["library"]["chunks"] == 3
    assert {role: m["loaded"] for role, m in health["models"].items()} == {"chat": True, "embedder": True,
                                                                         "reranker": True}
    spec = httpx.get(running.url + "/openapi.json", timeout=30).json()
    assert {"/v1/chat/completions", "/v1/embeddings", "/v1/rerank", "/v1/search", "/v1/models"} <= set(spec["paths"])
    assert "SearchRequest" in spec["components"]["schemas"]


def test_errors_come_in_the_openai_shape(client):
    with pytest.raises(openai.NotFoundError, match="no model named"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError, match="serve_max_tokens"):
        client.chat.completions.create(model="ippon-rag", messages=[{"role": "user", "content": "hi"}],
                                       max_tokens=100_000)
    with pytest.raises(openai.BadRequestError, match="not a chat model"):
        client.chat.completions.create(model="embedder.gguf", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError, match="dimensions"):
        client.embeddings.create(model="embedder.gguf", input="x", dimensions=4096)
