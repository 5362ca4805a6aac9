"""Under load: a full model queue answers 429 with Retry-After at once, searches run beside a generation,
and a streaming client that goes away cancels its generation within a token."""

from __future__ import annotations

import threading
import time

import httpx2 as httpx
import pytest

from engines import CancelToken, ChatDone

from .conftest import start, write_home


class SlowRecordingChat:
    """The real chat model, slowed per token (so a test can act mid-generation) and watched: how many tokens
    came after the cancel token was set, and how the generation ended."""

    def __init__(self, model) -> None:
        self.model = model
        self.after_cancel: list[int] = []
        self.finished = threading.Event()
        self.finish_reason = None

    def __getattr__(self, name):
        return getattr(self.model, name)

    def chat(self, messages, *, settings, cancel: CancelToken | None = None):
        late = 0
        for event in self.model.chat(messages, settings=settings, cancel=cancel):
            if isinstance(event, ChatDone):
                self.finish_reason = event.stats.finish_reason
            elif cancel is not None and cancel.cancelled:
                late += 1
            yield event
            time.sleep(0.02)
        self.after_cancel.append(late)
        self.finished.set()


@pytest.fixture(scope="module")
def busy(tmp_path_factory, engine_models):
    """A random-weight LLM (it never stops early) and no room to wait: one request per model at a time."""
    home, docs = write_home(tmp_path_factory.mktemp("busy"), engine_models, llm="llm-untied", serve_queue=0, serve_chat_queue=0)
    run = start(home, docs)
    yield run
    run.server.stop()


def _chat_body(max_tokens: int, *, stream: bool) -> dict:
    return {"model": "llm-untied.gguf", "messages": [{"role": "user", "content": "こんにちは"}],
            "max_tokens": max_tokens, "temperature": 0, "stream": stream}


def test_a_full_queue_is_429_with_retry_after_and_searches_go_on(busy):
    worker = busy.server.runtime.workers["chat"]
    recorder = worker.model = SlowRecordingChat(worker.model)
    try:
        with httpx.stream("POST", busy.url + "/v1/chat/completions", json=_chat_body(200, stream=True),
                          headers=busy.headers, timeout=60) as first:
            assert first.status_code == 200
            lines = first.iter_lines()
            assert next(line for line in lines if '"content"' in line)  # generating now: the one place is taken
            second = httpx.post(busy.url + "/v1/chat/completions", json=_chat_body(8, stream=False),
                                headers=busy.headers, timeout=30)
            assert second.status_code == 429
            assert int(second.headers["retry-after"]) >= 1 and second.json()["error"]["type"] == "rate_limit_error"
            streamed = httpx.post(busy.url + "/v1/chat/completions", json=_chat_body(8, stream=True),
                                  headers=busy.headers, timeout=30)
            assert streamed.status_code == 429 and "retry-after" in streamed.headers  # refused before the stream
            # Searches use the embedder and reranker, not the busy LLM: they are answered meanwhile.
            search = httpx.post(busy.url + "/v1/search", json={"query": "ポート番号"}, headers=busy.headers, timeout=30)
            assert search.status_code == 200 and search.json()["data"]
            assert not recorder.finished.is_set()
    finally:
        assert recorder.finished.wait(60)
        worker.model = recorder.model
    health = httpx.get(busy.url + "/health", timeout=30).json()
    assert health["models"]["chat"]["busy"] == 0  # the place is given back when the stream ends


def test_a_disconnecting_stream_cancels_its_generation_within_a_token(busy):
    worker = busy.server.runtime.workers["chat"]
    recorder = worker.model = SlowRecordingChat(worker.model)
    try:
        with httpx.stream("POST", busy.url + "/v1/chat/completions", json=_chat_body(2000, stream=True),
                          headers=busy.headers, timeout=60) as reply:
            seen = 0
            for line in reply.iter_lines():
                seen += '"content"' in line
                if seen == 3:
                    break  # the client goes away mid-answer
        assert recorder.finished.wait(30), "the generation went on after the client left"
        assert recorder.finish_reason == "cancelled"
        assert recorder.after_cancel == [0] or recorder.after_cancel == [1]
    finally:
        worker.model = recorder.model
    again = httpx.post(busy.url + "/v1/chat/completions", json=_chat_body(4, stream=False), headers=busy.headers,
                       timeout=60)
    assert again.status_code == 200  # the worker is free for the next request
    chat = httpx.get(busy.url + "/health", timeout=30).json()["models"]["chat"]
    assert chat["cancelled"] >= 1 and chat["max_tokens_after_cancel"] <= 1  # what the benchmark reads


def test_a_full_embedder_is_429_for_search_too(busy):
    with busy.server.runtime.workers["embedder"].admitted():
        reply = httpx.post(busy.url + "/v1/search", json={"query": "ポート番号"}, headers=busy.headers, timeout=30)
        assert reply.status_code == 429 and int(reply.headers["retry-after"]) >= 1
        lexical = httpx.post(busy.url + "/v1/search", json={"query": "ポート番号", "mode": "lexical", "rerank": False},
                             headers=busy.headers, timeout=30)
        assert lexical.status_code == 200  # keyword search needs no model at all


def test_a_client_that_stops_waiting_for_a_whole_answer_cancels_it_too(busy):
    worker = busy.server.runtime.workers["chat"]
    recorder = worker.model = SlowRecordingChat(worker.model)
    try:
        with pytest.raises(httpx.TimeoutException):
            httpx.post(busy.url + "/v1/chat/completions", json=_chat_body(2000, stream=False), headers=busy.headers,
                       timeout=httpx.Timeout(30, read=1.0))
        assert recorder.finished.wait(30), "the generation went on after the client left"
        assert recorder.finish_reason == "cancelled" and recorder.after_cancel[0] <= 1
    finally:
        worker.model = recorder.model
