"""Qwen3 chat on an OpenAI-compatible server: a streamed POST /v1/chat/completions."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from .. import qwen3
from ..base import CancelToken, ChatDone, ChatEvent, ChatSettings, ChatStats, FinishReason, Message
from ..errors import EngineError, RemoteError, UnsupportedError
from .client import DEFAULT_TIMEOUT, RemoteClient, not_openai
from .thinking import ReplySplitter


class RemoteChatModel:
    """`model` is the model's name on the server. The server renders the chat template itself."""

    def __init__(self, model: str, *, url: str, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 context_length: int = 32768) -> None:
        self.name = str(model)
        self.context_length = context_length
        self._client = RemoteClient(url, api_key=api_key, timeout=timeout)
        self.url = self._client.base
        self.served_models = list_models(self._client)  # an early, clear error when no such server answers

    def chat(self, messages: Sequence[Message], *, settings: ChatSettings = ChatSettings(),
             cancel: CancelToken | None = None) -> Iterator[ChatEvent]:
        if not messages or messages[-1].role != "user":
            raise EngineError("a chat must end with a user message")
        if settings.thinking and settings.think_budget is not None:
            raise UnsupportedError(f"{self.name} at {self.url}: a thinking budget cannot be enforced through a "
                                   "server's chat API; use --think or --no-think with remote servers")
        return self._stream(self.request_body(messages, settings), cancel)

    def count_tokens(self, text: str) -> int:
        return qwen3.estimate_tokens([text])[0]  # the API has no tokenizer endpoint

    def close(self) -> None:
        """Nothing to release: every request has its own connection."""

    def request_body(self, messages: Sequence[Message], settings: ChatSettings) -> dict[str, Any]:
        sampling = qwen3.resolve_sampling(settings)
        body: dict[str, Any] = {
            "model": self.name,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": settings.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "top_k": sampling.top_k,
            "min_p": sampling.min_p,
            "presence_penalty": sampling.presence_penalty,
            # llama.cpp's servers may default to 1.1; Qwen3 recommends no repetition penalty.
            "repeat_penalty": 1.0,
            # The thinking switch of Qwen3's template; vLLM and llama.cpp server pass it to the template.
            "chat_template_kwargs": {"enable_thinking": settings.thinking},
        }
        if settings.seed is not None:
            body["seed"] = settings.seed
        return body

    def _stream(self, body: dict[str, Any], cancel: CancelToken | None) -> Iterator[ChatEvent]:
        start = time.perf_counter()
        endpoint = self._client.endpoint("chat/completions")
        splitter = ReplySplitter()
        chunks = thinking_chunks = 0  # the token counts when the server sends no usage
        first_at: float | None = None
        finish: FinishReason | None = None
        usage: dict[str, Any] = {}
        if cancel is not None and cancel.cancelled:
            finish = "cancelled"
        else:
            with self._client.stream("chat/completions", body) as events:
                for event in events:
                    if cancel is not None and cancel.cancelled:
                        finish = finish or "cancelled"  # a reply already complete stays "stop" or "length"
                        break  # leaving the block closes the connection; servers then stop generating
                    if isinstance(event.get("usage"), dict):
                        usage = event["usage"]
                    choices = event.get("choices")
                    if not isinstance(choices, list) or (not choices and "usage" not in event):
                        raise not_openai(endpoint, "a streamed chunk without choices")
                    if not choices:
                        continue
                    choice = choices[0] if isinstance(choices[0], dict) else {}
                    # "message" when the server ignored "stream" and sent the whole reply at once.
                    delta = choice.get("delta", choice.get("message"))
                    if not isinstance(delta, dict):
                        raise not_openai(endpoint, "a streamed choice without a delta")
                    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                    content = delta.get("content")
                    token = _is_token(delta, reasoning, content)
                    if token and first_at is None:
                        first_at = time.perf_counter()
                    was_thinking = splitter.thinking_now
                    if isinstance(reasoning, str):
                        yield from splitter.reasoning(reasoning)
                    if isinstance(content, str):
                        yield from splitter.content(content)
                    if token:
                        chunks += 1
                        thinking_chunks += bool(reasoning) or (was_thinking and splitter.thinking_now)
                    if choice.get("finish_reason"):
                        finish = "length" if choice["finish_reason"] == "length" else "stop"
                if finish is None:
                    if not events.done:
                        raise RemoteError(f"the server at {endpoint} ended the stream before the reply was "
                                          "complete (see the server's log)")
                    finish = "stop"
        yield from splitter.finish()
        end = time.perf_counter()
        yield ChatDone(text=splitter.answer, thinking=splitter.thinking,
                       stats=_stats(usage, chunks, thinking_chunks, start, first_at or end, end, finish))


def _is_token(delta: dict[str, Any], reasoning: object, content: object) -> bool:
    """Whether a chunk carries a generated token; the opening chunk with only the role does not."""
    if isinstance(reasoning, str) and reasoning:
        return True
    if not isinstance(content, str):
        return False
    return bool(content) or "role" not in delta


def _stats(usage: dict[str, Any], chunks: int, thinking_chunks: int, start: float, first: float, end: float,
           finish: FinishReason) -> ChatStats:
    def count(value: object, fallback: int) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else fallback

    generated = count(usage.get("completion_tokens"), chunks)
    details = usage.get("completion_tokens_details")
    thinking = count(details.get("reasoning_tokens") if isinstance(details, dict) else None,
                     min(thinking_chunks, generated))
    prompt = count(usage.get("prompt_tokens"), 0)
    return ChatStats(prompt_tokens=prompt, generated_tokens=generated, thinking_tokens=thinking,
                     time_to_first_token_s=first - start,
                     tokens_per_s=(generated - 1) / (end - first) if generated > 1 and end > first else 0.0,
                     prompt_tokens_per_s=prompt / (first - start) if prompt and first > start else 0.0,
                     finish_reason=finish)


def list_models(client: RemoteClient) -> list[str]:
    """The model names GET /v1/models lists."""
    answer = client.get_json("models")
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        raise not_openai(client.endpoint("models"), "no list of models")
    return [item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]
