"""The HTTP API: OpenAI-compatible chat, embeddings and models; rerank; the library's search; health; MCP.

Request bodies are pydantic models (FastAPI writes the OpenAPI document at /openapi.json from
them); blocking work runs on a thread pool so searches go on while the models work; each model
call waits its turn on that model's worker (runtime.ServeRuntime).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import converters
import engines
import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response

from ..errors import IpponError
from .auth import BearerKeyMiddleware, BodyLimitMiddleware
from .chat import chat_completions
from .http_errors import error_response
from .mcp import build_mcp_server
from .runtime import ServeRuntime
from .schemas import ChatRequest, EmbeddingRequest, RerankRequest, SearchRequest

PIPELINE_THREADS = 96  # searches and the non-model parts of answers, side by side


def build_app(runtime: ServeRuntime, *, key: str, host: str = "127.0.0.1") -> FastAPI:
    config = runtime.config
    pool = ThreadPoolExecutor(PIPELINE_THREADS, thread_name_prefix="ippon-request")
    mcp_server = build_mcp_server(runtime)
    mcp_app = mcp_server.streamable_http_app(streamable_http_path="/mcp", host=host, stateless_http=True,
                                             json_response=True)

    limiter = anyio.CapacityLimiter(PIPELINE_THREADS)

    async def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs), limiter=limiter)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with mcp_server.session_manager.run():
            yield
        pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="Ippon", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="一本 Ippon: the library's search, cited answers (model `ippon-rag`), Qwen3 chat, "
                              "embeddings and reranking, OpenAI-compatible. Every path but /health and "
                              "/openapi.json needs `Authorization: Bearer KEY` (`ippon serve key`). MCP "
                              "(streamable HTTP) is at /mcp.")

    async def _error(_request: Request, exc: Exception) -> JSONResponse:
        status, body, headers = error_response(exc)
        return JSONResponse(body, status_code=status, headers=headers)

    # Errors meant for users; anything else reaches Starlette's last handler (500, traceback in the log).
    for kind in (IpponError, engines.EngineError, converters.ConversionError, Exception):
        app.add_exception_handler(kind, _error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()[:5])
        return JSONResponse({"error": {"message": problems, "type": "invalid_request_error", "code": 400}},
                            status_code=400)

    @app.get("/health", summary="Whether the server is up and which models are loaded")
    async def health() -> dict[str, Any]:
        return await run(runtime.health)

    @app.get("/v1/models", summary="The configured LLM, embedder and reranker, and ippon-rag")
    async def models() -> dict[str, Any]:
        data = [{"id": ident, "object": "model", "owned_by": "ippon", "ippon_role": role}
                for ident, role in runtime.model_ids().items()]
        return {"object": "list", "data": data}

    @app.post("/v1/chat/completions", summary="Chat: ippon-rag answers from the library with sources; "
                                               "the LLM's own id chats without retrieval")
    async def chat(request: ChatRequest, http_request: Request) -> Response:
        return await chat_completions(runtime, request, pool=pool, http_request=http_request)

    @app.post("/v1/embeddings", summary="Qwen3-Embedding vectors (L2-normalised; `dimensions` cuts them)")
    async def embeddings(request: EmbeddingRequest) -> dict[str, Any]:
        runtime.role_of(request.model)
        texts = request.texts()
        kind = "query" if request.input_type == "query" or request.instruction else "document"
        vectors, tokens = await run(runtime.embed, texts, kind=kind, instruction=request.instruction,
                                    dim=request.dimensions)
        data = [{"object": "embedding", "index": i, "embedding": _encode(v, request.encoding_format)}
                for i, v in enumerate(vectors)]
        return {"object": "list", "data": data, "model": request.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    @app.post("/v1/rerank", summary="Qwen3-Reranker relevance (P(yes)) of each document to the query")
    async def rerank(request: RerankRequest) -> dict[str, Any]:
        if request.model:
            runtime.role_of(request.model)
        texts = request.texts()
        scores = await run(runtime.rerank, request.query, texts, instruction=request.instruction)
        order = sorted(range(len(texts)), key=lambda i: -float(scores[i]))[:request.top_n or len(texts)]
        results = [{"index": i, "relevance_score": float(scores[i]),
                    **({"document": {"text": texts[i]}} if request.return_documents else {})} for i in order]
        return {"model": request.model or runtime.workers["reranker"].name, "results": results}

    @app.post("/v1/search", summary="The library's hybrid search (keywords and vectors fused, then reranked)")
    async def search(request: SearchRequest) -> dict[str, Any]:
        settings = runtime.service.retrieval_settings(mode=request.mode, rerank=request.rerank, top_k=request.limit,
                                                      candidates=max(request.limit, config.candidates),
                                                      filters=request.filters())
        found = await run(runtime.search, request.query, settings)
        data = [{"chunk_id": r.hit.chunk_id, "source_id": r.hit.source_id, "path": r.hit.path, "page": r.hit.page,
                 "slide": r.hit.slide, "heading": r.hit.heading, "char_start": r.hit.char_start,
                 "char_end": r.hit.char_end, "score": r.score, "text": r.hit.text} for r in found.results]
        return {"object": "list", "data": data, "mode": found.mode, "reranked": found.reranked,
                "timings": found.timings}

    app.mount("/", mcp_app)  # last: its one route, /mcp, answers what the API's routes do not
    if config.serve_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.serve_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Mcp-Session-Id", "Mcp-Protocol-Version"])
    # Starlette runs the middleware added last first: a body too big is refused before the key is even read.
    app.add_middleware(BearerKeyMiddleware, key=key)
    app.add_middleware(BodyLimitMiddleware, limit=config.serve_max_body_kb * 1024)
    return app


def _encode(vector: np.ndarray, encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]
