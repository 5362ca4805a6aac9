"""The remote backend against llama-cpp-python's own OpenAI-compatible server (started here, on
127.0.0.1), and against a small stdlib fake for what that server cannot show (reasoning
fields, /v1/rerank, broken answers)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

import engines
from engines import (AnswerDelta, CancelToken, ChatDone, ChatSettings, ContextOverflowError, EngineError, Message,
                     RemoteError, ThinkingDelta, UnsupportedError)
from engines.llamacpp_backend import LlamaCppChatModel, LlamaCppEmbedder
from engines.remote_backend import RemoteChatModel, RemoteEmbedder, RemoteReranker
from engines.remote_backend.client import api_base

from .conftest import LLAMA_OPTIONS

TEXTS = ["東京は日本の首都です。", "The quick brown fox jumps over the lazy dog.", "富士山の高さは3776メートルです。",
         "Qwen3 を使った検索", "llama.cpp server と vLLM"]
QUESTION = [Message("user", "日本の首都はどこですか？")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- llama-cpp-python's server ---------------------------------------------------------------

def _serve(model: Path, log: Path, *options: str):
    """Start `python -m llama_cpp.server` on a free port; yield its URL; stop it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                                 "--port", str(port), "--n_threads", "1", "--n_threads_batch", "1",
                                 "--verbose", "false", *options], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=5) as response:
                    response.read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not answer within 120 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def chat_server(engine_models, tmp_path_factory):
    # llama-cpp-python's server reads chat_template_kwargs at load only, not per request: thinking off.
    yield from _serve(engine_models("llm-untied", "gguf"), tmp_path_factory.mktemp("server") / "chat.log",
                      "--n_ctx", "512", "--chat_template_kwargs", '{"enable_thinking": false}')


@pytest.fixture(scope="module")
def embed_server(engine_models, tmp_path_factory):
    yield from _serve(engine_models("embedder", "gguf"), tmp_path_factory.mktemp("server") / "embed.log",
                      "--embedding", "true")


def _is_subsequence(short: str, long: str) -> bool:
    chars = iter(long)
    return all(ch in chars for ch in short)


def test_chat_streams_the_greedy_reply_of_the_local_backend(chat_server, engine_models):
    model = engines.load_chat_model("llm-untied.gguf", url=chat_server + "/v1/")
    assert isinstance(model, RemoteChatModel) and isinstance(model, engines.ChatModel)
    assert model.name == "llm-untied.gguf" and model.served_models == [str(engine_models("llm-untied", "gguf"))]
    assert model.context_length == 32768
    settings = ChatSettings(temperature=0.0, seed=0, max_tokens=16)
    events = list(model.chat(QUESTION, settings=settings))
    deltas = [e.text for e in events if isinstance(e, AnswerDelta)]
    done = events[-1]
    assert isinstance(done, ChatDone) and not any(isinstance(e, ThinkingDelta) for e in events)
    assert len(deltas) > 1 and done.text == "".join(deltas) and done.text.strip()
    assert done.thinking == "" and done.token_ids == ()
    # llama-cpp-python sends no usage when streaming: one chunk is one token.
    assert done.stats.generated_tokens >= len(deltas) and done.stats.thinking_tokens == 0
    assert done.stats.time_to_first_token_s > 0

    local = LlamaCppChatModel(engine_models("llm-untied", "gguf"), **LLAMA_OPTIONS)
    try:
        expected = [e for e in local.chat(QUESTION, settings=settings)][-1]
    finally:
        local.close()
    assert done.stats.finish_reason == expected.stats.finish_reason
    assert done.stats.generated_tokens == expected.stats.generated_tokens
    # Same prompt, same greedy tokens; the server drops the bytes of incomplete characters the local decoder
    # shows as U+FFFD, so its text is the local text with some characters missing.
    assert _is_subsequence(done.text, expected.text)
    assert [e for e in model.chat(QUESTION, settings=settings)][-1].text == done.text


def test_chat_cancelled_after_the_first_delta(chat_server):
    model = engines.load_chat_model("llm-untied.gguf", url=chat_server)
    cancel = CancelToken()
    events = []
    for event in model.chat(QUESTION, settings=ChatSettings(temperature=0.0, max_tokens=64), cancel=cancel):
        events.append(event)
        cancel.cancel()
    assert isinstance(events[0], AnswerDelta) and isinstance(events[-1], ChatDone)
    assert len(events) == 2
    assert events[-1].stats.finish_reason == "cancelled" and events[-1].text == events[0].text
    # The server is still usable afterwards.
    after = list(model.chat(QUESTION, settings=ChatSettings(temperature=0.0, max_tokens=4)))
    assert after[-1].stats.finish_reason in ("stop", "length")


def test_chat_dropped_by_the_server_is_an_error(chat_server):
    model = engines.load_chat_model("llm-untied.gguf", url=chat_server)
    # More than the server's 512-token context: llama-cpp-python then closes the stream without a reply.
    with pytest.raises(RemoteError, match="ended the stream before the reply was complete"):
        list(model.chat([Message("user", "東京 " * 800)], settings=ChatSettings(max_tokens=4)))


def test_embeddings_match_the_local_backend(embed_server, engine_models):
    remote = engines.load_embedder("embedder.gguf", url=embed_server, batch_size=2)
    assert isinstance(remote, RemoteEmbedder) and isinstance(remote, engines.Embedder)
    local = LlamaCppEmbedder(engine_models("embedder", "gguf"), **LLAMA_OPTIONS)
    try:
        assert remote.dim == local.dim
        for kind in ("document", "query"):
            got, want = remote.embed(TEXTS, kind=kind), local.embed(TEXTS, kind=kind)
            assert got.shape == want.shape and got.dtype == np.float32
            assert np.all(np.sum(got * want, axis=1) >= 0.999), kind
        # An instruction changes queries only, and the same way on both sides.
        instruction = "Given a question, retrieve passages that answer it"
        got = remote.embed(TEXTS[:2], kind="query", instruction=instruction)
        want = local.embed(TEXTS[:2], kind="query", instruction=instruction)
        assert np.all(np.sum(got * want, axis=1) >= 0.999)
        assert np.all(np.sum(got * remote.embed(TEXTS[:2], kind="query"), axis=1) < 0.999)
    finally:
        local.close()


def test_embedding_dimension_is_truncated_and_renormalised(embed_server):
    remote = engines.load_embedder("embedder.gguf", url=embed_server)
    full = remote.embed(TEXTS)
    short = remote.embed(TEXTS, dim=32)
    assert short.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(np.linalg.norm(short, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(short, full[:, :32] / np.linalg.norm(full[:, :32], axis=1, keepdims=True), atol=1e-5)
    assert remote.embed([]).shape == (0, remote.dim)
    with pytest.raises(EngineError, match="dimension 16 is not supported"):
        remote.embed(TEXTS, dim=16)


def test_rerank_on_a_server_without_it_is_unsupported(embed_server):
    with pytest.raises(UnsupportedError, match=f"{embed_server}/v1.*no reranking.*HTTP 404"):
        engines.load_reranker("reranker.gguf", url=embed_server)


# --- a fake server ---------------------------------------------------------------------------

Reply = Callable[[BaseHTTPRequestHandler], None]


def json_reply(body: object, status: int = 200) -> Reply:
    return raw_reply(json.dumps(body).encode(), "application/json", status)


def raw_reply(body: bytes, content_type: str, status: int = 200) -> Reply:
    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return send


def sse_reply(*events: object, done: bool = True) -> Reply:
    """Each event written and flushed alone; dicts as JSON, strings as they are (whole lines)."""
    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        for event in [*events, *(["data: [DONE]\n\n"] if done else [])]:
            handler.wfile.write((f"data: {json.dumps(event)}\n\n" if isinstance(event, dict) else event).encode())
            handler.wfile.flush()
    return send


def chunk(content: str | None = None, *, finish: str | None = None, **delta: object) -> dict:
    if content is not None:
        delta["content"] = content
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


MODELS = json_reply({"object": "list", "data": [{"id": "qwen3", "object": "model"}]})


class FakeServer:
    """Routes of (method, path) -> Reply; the requests it received, with their JSON bodies."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Reply] = {("GET", "/v1/models"): MODELS}
        self.requests: list[tuple[str, str, dict, object]] = []
        self.release = threading.Event()  # for replies that wait
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                fake.requests.append((method, self.path, dict(self.headers), body))
                reply = fake.routes.get((method, self.path)) or json_reply({"detail": "Not Found"}, 404)
                reply(self)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def posted(self, path: str) -> list[dict]:
        return [body for method, p, _, body in self.requests if method == "POST" and p == path]

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def fake():
    server = FakeServer()
    yield server
    server.stop()


def _chat(fake: FakeServer, reply: Reply, settings: ChatSettings = ChatSettings(), **options: object) -> list:
    fake.routes["POST", "/v1/chat/completions"] = reply
    return list(engines.load_chat_model("qwen3", url=fake.url, **options).chat(QUESTION, settings=settings))


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_fields_become_thinking(fake, field, monkeypatch):
    monkeypatch.setenv("IPPON_REMOTE_API_KEY", "secret")
    events = _chat(fake, sse_reply(chunk(role="assistant", content=""), chunk(**{field: "\nLet me"}),
                                   chunk(**{field: " think.\n\n"}), chunk("\n\nTokyo", **{field: None}),
                                   chunk(" it is."), chunk(finish="stop"),
                                   {"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 9,
                                                             "completion_tokens_details": {"reasoning_tokens": 6}}}),
                   ChatSettings(thinking=True, seed=7, max_tokens=100))
    assert [type(e) for e in events[:-1]] == [ThinkingDelta, ThinkingDelta, AnswerDelta, AnswerDelta]
    done = events[-1]
    assert (done.thinking, done.text) == ("Let me think.", "Tokyo it is.")
    assert (done.stats.prompt_tokens, done.stats.generated_tokens, done.stats.thinking_tokens) == (11, 9, 6)
    assert done.stats.finish_reason == "stop"
    [body] = fake.posted("/v1/chat/completions")
    assert body["model"] == "qwen3" and body["messages"] == [{"role": "user", "content": QUESTION[0].content}]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["chat_template_kwargs"] == {"enable_thinking": True}
    assert (body["temperature"], body["top_p"], body["top_k"], body["min_p"], body["presence_penalty"]) == \
        (0.6, 0.95, 20, 0.0, 0.0)
    assert (body["seed"], body["max_tokens"]) == (7, 100)
    assert all(headers["Authorization"] == "Bearer secret" for _, _, headers, _ in fake.requests)


def test_inline_think_tags_split_across_chunks(fake):
    pieces = ["<thi", "nk>\nI think", " hard.\n</th", "ink>\n\nThe ans", "wer is <b>bold</b> <", "table> <thi"]
    events = _chat(fake, sse_reply(*[chunk(p) for p in pieces], chunk(finish="length")),
                   ChatSettings(thinking=False, max_tokens=6), api_key="explicit")
    done = events[-1]
    assert done.thinking == "I think hard."
    assert done.text == "The answer is <b>bold</b> <table> <thi"
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == done.thinking
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)) == done.text
    assert not any("think>" in e.text for e in events[:-1])
    # No usage: the chunks are counted, those inside the thinking part as thinking.
    assert (done.stats.generated_tokens, done.stats.thinking_tokens, done.stats.prompt_tokens) == (6, 1, 0)
    assert done.stats.finish_reason == "length"
    [body] = fake.posted("/v1/chat/completions")
    assert body["chat_template_kwargs"] == {"enable_thinking": False} and "seed" not in body
    assert (body["temperature"], body["top_p"]) == (0.7, 0.8)
    assert fake.requests[0][2]["Authorization"] == "Bearer explicit"


def test_a_server_that_ignores_stream_still_answers(fake):
    reply = json_reply({"object": "chat.completion", "usage": {"prompt_tokens": 5, "completion_tokens": 3},
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": "<think>\nhm\n</think>\n\nOK"}}]})
    done = _chat(fake, reply)[-1]
    assert (done.thinking, done.text, done.stats.generated_tokens) == ("hm", "OK", 3)


def test_thinking_budget_is_unsupported(fake):
    model = engines.load_chat_model("qwen3", url=fake.url)
    with pytest.raises(UnsupportedError, match="--think or --no-think"):
        model.chat(QUESTION, settings=ChatSettings(thinking=True, think_budget=64))
    assert fake.posted("/v1/chat/completions") == []


def test_rerank_scores_in_document_order(fake):
    def rerank(handler: BaseHTTPRequestHandler) -> None:
        docs = fake.posted("/v1/rerank")[-1]["documents"]
        results = [{"index": i, "relevance_score": len(d) / 10} for i, d in enumerate(docs)]
        json_reply({"results": sorted(results, key=lambda r: -r["relevance_score"])})(handler)

    fake.routes["POST", "/v1/rerank"] = rerank
    reranker = engines.load_reranker("qwen3-reranker", url=fake.url + "/v1", batch_size=2)
    assert isinstance(reranker, RemoteReranker) and isinstance(reranker, engines.Reranker)
    scores = reranker.score("質問", ["a", "abcd", "ab"])
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, [0.1, 0.4, 0.2], rtol=1e-6)
    probe, first, second = fake.posted("/v1/rerank")
    assert first == {"model": "qwen3-reranker", "query": "質問", "documents": ["a", "abcd"], "top_n": 2}
    assert second["documents"] == ["ab"]
    with pytest.raises(UnsupportedError, match="instruction"):
        reranker.score("q", ["a"], instruction="Find code")


def test_embeddings_reordered_by_index_and_queries_formatted(fake):
    def embeddings(handler: BaseHTTPRequestHandler) -> None:
        texts = fake.posted("/v1/embeddings")[-1]["input"]
        data = [{"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0] + [0.0] * 38}
                for i, t in enumerate(texts)]
        json_reply({"object": "list", "data": data[::-1]})(handler)

    fake.routes["POST", "/v1/embeddings"] = embeddings
    embedder = engines.load_embedder("qwen3-embedding", url=fake.url, batch_size=2)
    assert (embedder.dim, embedder.min_dim) == (40, 32)
    vectors = embedder.embed(["a", "bbb", "cc"])
    expected = np.array([[1, 1], [3, 1], [2, 1]], dtype=np.float32)
    np.testing.assert_allclose(vectors[:, :2], expected / np.linalg.norm(expected, axis=1, keepdims=True), rtol=1e-6)
    embedder.embed(["富士山"], kind="query", instruction="Find it")
    assert fake.posted("/v1/embeddings")[-1]["input"] == ["Instruct: Find it\nQuery:富士山"]
    assert fake.posted("/v1/embeddings")[1] == {"model": "qwen3-embedding", "input": ["a", "bbb"],
                                                "encoding_format": "float"}
    # Token counts are estimated here, without a request: every digit and CJK character one token, other text
    # one per three characters, and the end-of-text token.
    requests = len(fake.requests)
    assert embedder.count_tokens(["", "東京タワー", "The quick brown fox", "3776 m"]) == [1, 6, 8, 6]
    assert len(fake.requests) == requests


GARBAGE = {
    "html models": (("GET", "/v1/models"), raw_reply(b"<html><body>It works!</body></html>", "text/html"), "chat",
                    "expected JSON, got '<html>"),
    "json without data": (("GET", "/v1/models"), json_reply({"status": "ok"}), "chat", "no list of models"),
    "text embeddings": (("POST", "/v1/embeddings"), raw_reply(b"hello", "text/plain"), "embedder",
                        "expected JSON, got 'hello'"),
    "embeddings without data": (("POST", "/v1/embeddings"), json_reply({"object": "list"}), "embedder",
                                "expected 1 embeddings"),
    "per-token embeddings": (("POST", "/v1/embeddings"),
                             json_reply({"data": [{"index": 0, "embedding": [[0.1, 0.2], [0.3, 0.4]]}]}),
                             "embedder", "one vector per text"),
    "chunk without choices": (("POST", "/v1/chat/completions"), sse_reply({"id": "x", "object": "chunk"}), "chat",
                              "a streamed chunk without choices"),
    "html instead of a stream": (("POST", "/v1/chat/completions"), raw_reply(b"<html>proxy</html>", "text/html"),
                                 "chat", "expected an event stream, got text/html"),
    "not json in the stream": (("POST", "/v1/chat/completions"), sse_reply("data: {oops\n\n"), "chat",
                               "expected JSON"),
    "rerank without scores": (("POST", "/v1/rerank"), json_reply({"results": [{"index": 0, "score": 0.5}]}),
                              "reranker", "numeric relevance_score"),
}


def _use(fake: FakeServer, what: str) -> None:
    if what == "chat":
        list(engines.load_chat_model("qwen3", url=fake.url).chat(QUESTION))
    elif what == "embedder":
        engines.load_embedder("qwen3", url=fake.url)
    else:
        engines.load_reranker("qwen3", url=fake.url)


@pytest.mark.parametrize("case", GARBAGE)
def test_garbage_is_a_clear_remote_error(fake, case):
    route, reply, what, detail = GARBAGE[case]
    fake.routes[route] = reply
    with pytest.raises(RemoteError) as info:
        _use(fake, what)
    message = str(info.value)
    assert f"the server at {fake.url}/v1/" in message and "OpenAI-compatible API" in message
    assert detail in message


@pytest.mark.parametrize("what, route", [("chat", ("POST", "/v1/chat/completions")),
                                         ("embedder", ("POST", "/v1/embeddings")),
                                         ("reranker", ("POST", "/v1/rerank"))])
def test_http_500_is_a_remote_error_with_the_status(fake, what, route):
    fake.routes[route] = raw_reply(b"Internal Server Error: model crashed\n" + b"x" * 5000, "text/plain", 500)
    with pytest.raises(RemoteError, match=r"HTTP 500: Internal Server Error: model crashed x+…$") as info:
        _use(fake, what)
    assert info.value.status == 500 and len(str(info.value)) < 400


def test_http_errors_carry_the_servers_message(fake):
    fake.routes["GET", "/v1/models"] = json_reply({"error": {"message": "Invalid API key", "type": "auth"}}, 401)
    with pytest.raises(RemoteError, match="HTTP 401: Invalid API key .*IPPON_REMOTE_API_KEY"):
        engines.load_chat_model("qwen3", url=fake.url)
    fake.routes["GET", "/v1/models"] = MODELS
    fake.routes["POST", "/v1/chat/completions"] = json_reply(
        {"object": "error", "message": "This model's maximum context length is 4096 tokens. However, you requested "
                                       "5000 tokens.", "type": "BadRequestError", "code": 400}, 400)
    with pytest.raises(ContextOverflowError, match="does not fit its context window: This model's maximum"):
        _use(fake, "chat")


def test_stream_errors(fake):
    with pytest.raises(RemoteError, match="ended the stream before the reply was complete"):
        _chat(fake, sse_reply(chunk("Tok"), done=False))
    with pytest.raises(RemoteError, match="reported an error: out of memory"):
        _chat(fake, sse_reply(chunk("Tok"), {"error": {"message": "out of memory", "code": 500}}))
    with pytest.raises(RemoteError, match="reported an error: .*slot unavailable"):
        _chat(fake, sse_reply(chunk("Tok"), 'error: {"message": "slot unavailable"}\n\n'))
    # Keep-alive comments and an answer without [DONE] but with a finish reason are fine.
    done = _chat(fake, sse_reply(": ping\n\n", chunk("Tok"), chunk(finish="stop"), done=False))[-1]
    assert (done.text, done.stats.finish_reason) == ("Tok", "stop")


def test_a_server_that_stops_answering_times_out(fake):
    def stall(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        handler.wfile.write(f"data: {json.dumps(chunk('Tok'))}\n\n".encode())
        handler.wfile.flush()
        fake.release.wait(30)

    with pytest.raises(RemoteError, match=r"sent nothing for 0.5 s"):
        _chat(fake, stall, timeout=0.5)


def test_server_down_names_the_url():
    url = f"http://127.0.0.1:{_free_port()}"
    for load in (engines.load_chat_model, engines.load_embedder, engines.load_reranker):
        with pytest.raises(RemoteError, match=f"cannot reach the server at {url}/v1/.*connection refused"):
            load("qwen3", url=url)


def test_urls():
    for url in ("http://h:8000", "http://h:8000/", "http://h:8000/v1", "http://h:8000/v1/", " http://h:8000/v1 "):
        assert api_base(url) == "http://h:8000/v1"
    assert api_base("https://example.org/proxy/") == "https://example.org/proxy/v1"
    for bad in ("", None, "127.0.0.1:8000", "ftp://h/", "http://h:8000/v1?x=1"):
        with pytest.raises(EngineError):
            api_base(bad)
    with pytest.raises(EngineError, match="needs the server's URL"):
        engines.load_chat_model("qwen3", backend="remote", url=None)
