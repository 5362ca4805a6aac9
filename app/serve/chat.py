"""POST /v1/chat/completions: ippon-rag (a cited answer from the library) or the LLM itself, streamed or not.

Thinking goes out as `reasoning_content` (as vLLM does); ippon-rag's sources go in an extra `ippon`
field of the response, and of the last chunk of a stream, with how the question was understood
(ippon-rag reads the whole conversation the client sends: rag_messages.py); nothing is kept in
the user's threads unless the request asks (`ippon.thread`). A stream whose client goes away sets
the generation's cancel token at once, so the model stops within a token.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import engines
from engines import AnswerDelta, ChatDone, ThinkingDelta
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..core.answer import AskDone
from ..core.conversation import AskTurn
from ..locale import _
from .http_errors import error_response
from .rag_messages import rag_conversation
from .runtime import RequestLimitError, ServeRuntime
from .workers import role_label
from .schemas import ChatRequest

_END = object()


@dataclass(frozen=True, slots=True)
class _Raised:
    exc: BaseException


async def relay(make_events: Callable[[], Iterator[Any]], *, pool: Executor,
                cancel: engines.CancelToken) -> AsyncIterator[Any]:
    """The events of a blocking iterator run on `pool`, as an async iterator.

    Leaving the loop early (a client gone, an error) sets `cancel` at once: the model checks it
    between tokens. Waiting on an asyncio queue rather than on the thread is what makes that
    immediate, even while the model is busy.
    """
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()

    def put(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(events.put_nowait, item)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            pass

    def produce() -> None:
        try:
            for event in make_events():
                put(event)
                if cancel.cancelled:
                    break
            put(_END)
        except BaseException as exc:  # raised again on the loop, where the client can be told
            put(_Raised(exc))

    loop.run_in_executor(pool, produce)
    try:
        while (item := await events.get()) is not _END:
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        cancel.cancel()


def _options(runtime: ServeRuntime, request: ChatRequest) -> engines.ChatSettings:
    return runtime.chat_settings(max_tokens=request.max_completion_tokens or request.max_tokens,
                                 thinking=request.thinking(), think_budget=request.thinking_budget,
                                 temperature=request.temperature, top_p=request.top_p, top_k=request.top_k,
                                 min_p=request.min_p, presence_penalty=request.presence_penalty, seed=request.seed)


def _source(c: Any) -> dict[str, Any]:
    return {"n": c.n, "path": c.path, "page": c.page, "slide": c.slide, "heading": c.heading,
            "char_start": c.char_start, "char_end": c.char_end, "score": c.score, "text": c.text}


def _ippon_field(done: AskDone, turn: AskTurn | None) -> dict[str, Any]:
    """The sources, and how the question was understood (the names `ippon ask --json` uses)."""
    field = {"sources": [_source(c) for c in done.sources], "citations": [c.n for c in done.citations],
             "not_found": done.not_found, "timings": done.timings}
    if turn is not None:
        field.update(search_question=turn.search_question, history_turns=turn.history_turns,
                     history_dropped=turn.history_dropped, notes=turn.notes, thread=turn.thread_id,
                     turn=turn.position if turn.thread_id else None)
    return field


def _events(runtime: ServeRuntime, request: ChatRequest, settings: engines.ChatSettings,
            cancel: engines.CancelToken) -> Callable[[], Iterator[Any]]:
    role = runtime.role_of(request.model)
    if role in ("embedder", "reranker"):
        raise RequestLimitError(_("{model} is the {role}, not a chat model: use ippon-rag or the LLM's id")
                                .format(model=request.model, role=role_label(role)))
    if role == "rag":
        conversation = rag_conversation([(m.role, m.text()) for m in request.messages])
        options = request.ippon or None
        retrieval = runtime.service.retrieval_settings(
            mode=options.mode if options else None, rerank=options.rerank if options else None,
            top_k=options.top_k if options else None, filters=options.filters() if options else None)
        thread = options.thread if options else None
        return lambda: runtime.ask(conversation.question, retrieval=retrieval, chat=settings, cancel=cancel,
                                   history=conversation.history, instructions=conversation.instructions,
                                   thread=thread)
    messages = [engines.Message("system" if m.role == "developer" else m.role, m.text()) for m in request.messages]
    return lambda: runtime.chat(messages, chat=settings, cancel=cancel)


class _Outcome:
    """What the events of one generation add up to."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.finish = "stop"
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        self.ippon: dict[str, Any] | None = None
        self.turn: AskTurn | None = None

    def add(self, event: Any) -> None:
        if isinstance(event, AskTurn):
            self.turn = event
        elif isinstance(event, AnswerDelta):
            self.text.append(event.text)
        elif isinstance(event, ThinkingDelta):
            self.thinking.append(event.text)
        elif isinstance(event, ChatDone):
            self._finish(event.stats.finish_reason, event.stats.prompt_tokens, event.stats.generated_tokens)
        elif isinstance(event, AskDone):
            self.ippon = _ippon_field(event, self.turn)
            timings = event.timings
            self._finish(timings.get("finish_reason", "stop"), timings.get("prompt_tokens", 0),
                         timings.get("generated_tokens", 0))

    def _finish(self, reason: str, prompt: int, completion: int) -> None:
        self.finish = "length" if reason == "length" else "stop"
        self.usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


async def _cancel_on_disconnect(http_request: Request, cancel: engines.CancelToken) -> None:
    """For answers sent whole: a client that gives up waiting stops the generation too."""
    while not cancel.cancelled:
        if await http_request.is_disconnected():
            cancel.cancel()
            return
        await asyncio.sleep(0.1)


async def chat_completions(runtime: ServeRuntime, request: ChatRequest, *, pool: Executor,
                           http_request: Request) -> Response:
    settings = _options(runtime, request)
    cancel = engines.CancelToken()
    make_events = _events(runtime, request, settings, cancel)
    slot = ExitStack()
    slot.enter_context(runtime.chat_slot())  # a full queue answers 429 here, before any byte is sent
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    head = {"id": ident, "created": created, "model": request.model}
    if not request.stream:
        watch = asyncio.create_task(_cancel_on_disconnect(http_request, cancel))
        try:
            with slot:
                outcome = _Outcome()
                async for event in relay(make_events, pool=pool, cancel=cancel):
                    outcome.add(event)
        finally:
            watch.cancel()
        message: dict[str, Any] = {"role": "assistant", "content": "".join(outcome.text)}
        if outcome.thinking:
            message["reasoning_content"] = "".join(outcome.thinking)
        body = {**head, "object": "chat.completion", "usage": outcome.usage,
                "choices": [{"index": 0, "message": message, "finish_reason": outcome.finish}]}
        if outcome.ippon is not None:
            body["ippon"] = outcome.ippon
        return JSONResponse(body)

    include_usage = bool((request.stream_options or {}).get("include_usage"))

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {**head, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    async def sse() -> AsyncIterator[str]:
        with slot:
            outcome = _Outcome()
            yield chunk({"role": "assistant", "content": ""})
            try:
                async for event in relay(make_events, pool=pool, cancel=cancel):
                    outcome.add(event)
                    if isinstance(event, AnswerDelta) and event.text:
                        yield chunk({"content": event.text})
                    elif isinstance(event, ThinkingDelta) and event.text:
                        yield chunk({"reasoning_content": event.text})
            except Exception as exc:  # headers are gone: the error travels as the stream's last event
                yield f"data: {json.dumps(error_response(exc)[1], ensure_ascii=False)}\n\n"
                return
            extra = {"ippon": outcome.ippon} if outcome.ippon is not None else {}
            yield chunk({}, outcome.finish, **extra)
            if include_usage:
                yield f"data: {json.dumps({**head, 'object': 'chat.completion.chunk', 'choices': [], 'usage': outcome.usage})}\n\n"
            yield "data: [DONE]\n\n"

    return StreamingResponse(sse(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
