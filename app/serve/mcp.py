"""The MCP server (official `mcp` SDK): the library as tools for Claude Desktop, Cursor, LM Studio, Jan …

Served over stdio by `ippon mcp` and over streamable HTTP at /mcp by `ippon serve`. The tools
return data (paths, pages, chunk ids) so an assistant can cite and come back for more.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Literal

import engines
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from pydantic import BaseModel, Field

from ..core.answer import AskDone
from ..core.conversation import AskTurn
from ..core.retrieval import SearchFilters
from ..errors import IpponError
from .rag_messages import rag_conversation
from .runtime import ServeRuntime

INSTRUCTIONS = ("一本 Ippon: the user's own documents (Japanese and English manuals, specs, PDFs, slides, images). "
                "Search them with search_library, answer with ask_library (cited), read a whole chunk or page "
                "with get_source_text. ユーザー自身の資料を検索・引用付きで回答します。")


class EarlierMessage(BaseModel):
    """One message of the conversation before the question: the user's question or the answer it got."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=100_000)


def build_mcp_server(runtime: ServeRuntime) -> MCPServer:
    server = MCPServer("ippon", instructions=INSTRUCTIONS, log_level="WARNING")

    def user_errors(fn: Any) -> Any:
        """Ippon's own errors become tool errors the assistant reads; a bug keeps its traceback in the log."""
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (IpponError, engines.EngineError) as exc:
                raise ToolError(str(exc)) from exc
        return wrapped

    @server.tool(description=(
        "ライブラリ（ユーザーの資料）を検索します。キーワードと意味の両方で探し、関連度順に返します。"
        " Search the user's document library (hybrid keyword + semantic search, reranked). "
        "Returns passages with file path, page, chunk_id and score. `folder` limits the search to files "
        "under that folder; `file_type` to one format (pdf, md, txt, html, docx, pptx, csv, image)."))
    @user_errors
    def search_library(query: str, limit: int = 8, folder: str | None = None,
                       file_type: str | None = None) -> list[dict[str, Any]]:
        filters = SearchFilters(folders=(folder,) if folder else (), formats=(file_type,) if file_type else ())
        settings = runtime.service.retrieval_settings(top_k=max(1, min(limit, 50)), filters=filters)
        found = runtime.search(query, settings)
        return [{"chunk_id": r.hit.chunk_id, "path": r.hit.path, "page": r.hit.page, "slide": r.hit.slide,
                 "heading": r.hit.heading, "score": round(r.score, 4), "text": r.hit.text} for r in found.results]

    @server.tool(description=(
        "ライブラリの資料だけを根拠に質問へ答え、出典（ファイル・ページ）を番号付きで示します。"
        "続きの質問（「それは何年？」など）には、それまでのやり取りを conversation に渡してください。"
        " Answer a question from the user's documents only, with numbered citations [n] and the sources "
        "(path, page) they point to. Says so plainly when the documents do not hold the answer. For a "
        "follow-up that leans on earlier questions, pass them and their answers, oldest first, as "
        "`conversation` ([{role: user|assistant, content}]); without it each call stands alone. Nothing is "
        "kept in the user's conversations."))
    @user_errors
    def ask_library(question: str, folder: str | None = None,
                    conversation: Annotated[list[EarlierMessage], Field(max_length=512)] | None = None
                    ) -> dict[str, Any]:
        retrieval = runtime.service.retrieval_settings(
            filters=SearchFilters(folders=(folder,) if folder else ()))
        asked = rag_conversation([*((m.role, m.content) for m in conversation or ()), ("user", question)])
        cancel = engines.CancelToken()
        with runtime.chat_slot():
            events = list(runtime.ask(asked.question, retrieval=retrieval, history=asked.history,
                                      chat=runtime.chat_settings(max_tokens=None), cancel=cancel))
        done = next(e for e in reversed(events) if isinstance(e, AskDone))
        turn = next(e for e in events if isinstance(e, AskTurn))
        return {"answer": done.answer, "not_found": done.not_found, "search_question": turn.search_question,
                "sources": [{"n": c.n, "path": c.path, "page": c.page, "slide": c.slide, "text": c.text,
                             "cited": c in done.citations} for c in done.sources]}

    @server.tool(description=(
        "ライブラリに登録された資料（ファイル）の一覧を返します。 List the documents in the user's library: "
        "path, format, number of chunks, status. `folder` keeps only files under that folder."))
    @user_errors
    def list_sources(folder: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        records = runtime.sources(folder=folder)[:max(1, min(limit, 2000))]
        return [{"source_id": r.source_id, "path": r.path, "name": Path(r.path).name, "format": r.format,
                 "chunks": r.chunks, "status": r.status, "title": r.title} for r in records]

    @server.tool(description=(
        "資料の本文を返します。chunk_id（search_library の結果）ならその一節、source_id かライブラリ内の"
        "ファイルのパスなら全文（page を指定するとそのページ）。ライブラリにない物は読めません。"
        " Text of a library document as stored: a passage by chunk_id (from search_library), or a whole "
        "document by source_id or its path, or one `page` of it. Only documents in the library can be read."))
    @user_errors
    def get_source_text(id: str, page: int | None = None) -> dict[str, Any]:  # noqa: A002 - the tool's public name
        found = runtime.source_text(id, page=page)
        return {"source_id": found.source_id, "path": found.path, "page": found.page, "chunk_id": found.chunk_id,
                "text": found.text, "truncated": found.truncated}

    return server
