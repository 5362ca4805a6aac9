"""One checkpoint, three runtimes: llama.cpp (f16 GGUF), MLX and transformers fp32 agree."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engines import ChatSettings, Message, load_chat_model, load_embedder, load_reranker, qwen3

from .conftest import options_for

TEXTS = ["日本の首都は東京です。富士山の標高は3776メートルです。",
         "The quick brown fox jumps over the lazy dog.",
         "設定ファイル（config.toml）を開いて、ポート番号を８０８０に変更してください。",
         "短い"]
QUERY = "富士山の高さは？"
GREEDY = ChatSettings(temperature=0.0, max_tokens=32)


@pytest.fixture(scope="module")
def embedders(engine_models):
    models = {fmt: load_embedder(engine_models("embedder", fmt), **options_for(fmt)) for fmt in ("gguf", "mlx")}
    yield models
    for m in models.values():
        m.close()


@pytest.fixture(scope="module")
def rerankers(engine_models):
    models = {fmt: load_reranker(engine_models("reranker", fmt), **options_for(fmt)) for fmt in ("gguf", "mlx")}
    yield models
    for m in models.values():
        m.close()


@pytest.mark.parametrize("fmt", ["gguf", "mlx-f32"])
def test_greedy_chat_matches_transformers(engine_models, reference, fmt):
    chat = load_chat_model(engine_models("llm-untied", fmt), n_ctx=512, **options_for(fmt))
    messages = [Message("system", "あなたは親切なアシスタントです。"), Message("user", "日本の首都はどこですか？")]
    done = list(chat.chat(messages, settings=GREEDY))[-1]
    expected = reference("llm-untied").greedy(chat.prompt_ids(messages, thinking=False), 32)
    assert list(done.token_ids) == expected
    assert done.stats.generated_tokens == 32 and done.stats.finish_reason == "length"
    chat.close()


@pytest.mark.parametrize("kind", ["document", "query"])
def test_embedders_agree_with_each_other_and_transformers(embedders, reference, kind):
    vectors = {fmt: e.embed(TEXTS, kind=kind) for fmt, e in embedders.items()}
    ref = reference("embedder")
    vectors["transformers"] = np.stack([ref.embedding(embedders["gguf"].token_ids(t, kind=kind)) for t in TEXTS])
    for a, b in itertools.combinations(vectors, 2):
        cosines = np.sum(vectors[a] * vectors[b], axis=1)
        assert cosines.min() >= 0.999, (a, b, cosines)
    for v in vectors.values():
        assert v.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("fmt", ["gguf", "mlx"])
def test_embedding_batched_equals_one_at_a_time(embedders, fmt):
    embedder = embedders[fmt]
    together = embedder.embed(TEXTS)
    alone = np.vstack([embedder.embed([t]) for t in TEXTS])
    assert np.abs(together - alone).max() <= 1e-4


@pytest.mark.parametrize("fmt", ["gguf", "mlx"])
def test_matryoshka_is_the_renormalised_prefix(embedders, fmt):
    embedder = embedders[fmt]
    full = embedder.embed(TEXTS, kind="query")
    small = embedder.embed(TEXTS, kind="query", dim=32)
    prefix = full[:, :32] / np.linalg.norm(full[:, :32], axis=1, keepdims=True)
    assert small.shape == (len(TEXTS), 32)
    assert np.abs(small - prefix).max() <= 1e-5


def test_end_of_text_is_appended_exactly_once(embedders):
    for embedder in embedders.values():
        ids = embedder.token_ids("本文<|endoftext|>")
        assert ids[-1] == embedder.eos_id
        assert ids.count(embedder.eos_id) == 1  # the literal text is not parsed as the special token


def test_query_instruction_changes_the_vector(embedders):
    embedder = embedders["gguf"]
    doc = embedder.embed([QUERY])[0]
    query = embedder.embed([QUERY], kind="query")[0]
    other = embedder.embed([QUERY], kind="query", instruction="Retrieve Japanese manuals")[0]
    assert embedder.token_ids(QUERY, kind="query")[:3] != embedder.token_ids(QUERY)[:3]
    assert doc @ query < 0.9999 and query @ other < 0.9999


def test_rerankers_agree_with_each_other_and_transformers(rerankers, reference):
    scores = {fmt: r.score(QUERY, TEXTS) for fmt, r in rerankers.items()}
    ref = reference("reranker")
    yes, no = (rerankers["mlx"].folder.single_token(t) for t in ("yes", "no"))
    scores["transformers"] = np.array([ref.p_yes(rerankers["gguf"].token_ids(QUERY, d), yes, no) for d in TEXTS])
    for a, b in itertools.combinations(scores, 2):
        assert np.abs(scores[a] - scores[b]).max() <= 0.01, (a, b, scores)
    assert all(((s >= 0) & (s <= 1)).all() for s in scores.values())


@pytest.mark.parametrize("fmt", ["gguf", "mlx"])
def test_rerank_batched_equals_one_at_a_time(rerankers, fmt):
    reranker = rerankers[fmt]
    together = reranker.score(QUERY, TEXTS)
    alone = np.array([reranker.score(QUERY, [d])[0] for d in TEXTS])
    assert np.abs(together - alone).max() <= 1e-4
    custom = reranker.score(QUERY, TEXTS, instruction="Judge relevance to a Japanese manual")
    assert not np.allclose(custom, together)


def test_count_tokens_is_the_document_length(embedders):
    for embedder in embedders.values():
        assert embedder.count_tokens(["東京", "The quick brown fox"]) == [
            len(embedder.token_ids("東京")), len(embedder.token_ids("The quick brown fox"))]


def test_llamacpp_reranker_decodes_the_prompt_and_query_once_per_batch(rerankers, monkeypatch):
    reranker = rerankers["gguf"]
    calls = []
    real_decode = type(reranker)._decode

    def spy(self, ids, *, start):
        calls.append((start, len(ids)))
        return real_decode(self, ids, start=start)

    monkeypatch.setattr(type(reranker), "_decode", spy)
    reranker.score(QUERY, TEXTS)
    head = (len(reranker._tokenize(qwen3.RERANK_PREFIX, special=True))
            + len(reranker._tokenize(qwen3.rerank_body_head(QUERY, None), special=False)))
    assert len(TEXTS) <= reranker.batch_size  # one batch: the shared tokens are decoded once
    assert calls[0] == (0, head)
    assert [start for start, _ in calls[1:]] == [head] * len(TEXTS)
    assert sorted(n for _, n in calls[1:]) == sorted(len(reranker.token_ids(QUERY, d)) - head for d in TEXTS)


@pytest.mark.parametrize("fmt", ["gguf", "mlx"])
def test_sharing_the_prompt_and_query_keeps_the_scores(rerankers, fmt, monkeypatch):
    reranker = rerankers[fmt]
    head = (len(reranker._tokenize(qwen3.RERANK_PREFIX, special=True))
            + len(reranker._tokenize(qwen3.rerank_body_head(QUERY, None), special=False)))
    score_batch, passed = type(reranker)._score_batch, []

    def recording(self, batch, *, shared):
        passed.append(shared)
        return score_batch(self, batch, shared=shared)

    monkeypatch.setattr(type(reranker), "_score_batch", recording)
    shared = reranker.score(QUERY, TEXTS)
    assert passed == [head]
    monkeypatch.setattr(type(reranker), "_score_batch",
                        lambda self, batch, *, shared: score_batch(self, batch, shared=0))
    each = reranker.score(QUERY, TEXTS)
    assert np.abs(shared - each).max() <= 1e-3
