"""The MCP server through the `mcp` SDK's own client: streamable HTTP on `ippon serve`, and stdio (`ippon mcp`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {"search_library", "ask_library", "list_sources", "get_source_text"}


def _data(result) -> object:
    """A tool's structured result (lists come wrapped as {"result": [...]})."""
    assert not result.is_error, result.content
    data = result.structured_content
    return data["result"] if set(data) == {"result"} else data


async def _exercise(client: Client, docs: Path) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    assert "ライブラリ" in tools["search_library"].description and "library" in tools["search_library"].description

    hits = _data(await client.call_tool("search_library", {"query": "ポート番号", "folder": str(docs / "manuals")}))
    assert [Path(h["path"]).name for h in hits] == ["network.md"] and hits[0]["chunk_id"]

    passage = _data(await client.call_tool("get_source_text", {"id": hits[0]["chunk_id"]}))
    assert passage["text"] == hits[0]["text"] and passage["path"] == hits[0]["path"]
    whole = _data(await client.call_tool("get_source_text", {"id": str(docs / "fuji.md")}))
    assert whole["text"] == "# 富士山\n\n富士山の標高は3776メートルです。静岡県と山梨県にまたがります。"

    sources = _data(await client.call_tool("list_sources", {}))
    assert sorted(Path(s["path"]).name for s in sources) == ["fuji.md", "network.md", "port.txt"]

    answer = _data(await client.call_tool("ask_library", {"question": "富士山の標高は？"}))
    assert isinstance(answer["answer"], str) and answer["answer"]
    assert "fuji.md" in {Path(s["path"]).name for s in answer["sources"]}


async def _refused(client: Client, ident: str) -> str:
    result = await client.call_tool("get_source_text", {"id": ident})
    assert result.is_error
    return result.content[0].text


def _http_client(running) -> Client:
    http = create_mcp_http_client(headers=running.headers)
    return Client(streamable_http_client(running.url + "/mcp", http_client=http))


def test_mcp_over_streamable_http(running):
    async def main() -> None:
        async with _http_client(running) as client:
            await _exercise(client, running.docs)
    anyio.run(main)


def test_get_source_text_serves_only_the_library(running, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password", encoding="utf-8")

    async def main() -> list[str]:
        async with _http_client(running) as client:
            return [await _refused(client, ident) for ident in
                    (str(secret), "/etc/passwd", str(running.docs / ".." / "home" / "api-key"),
                     str(running.home / "api-key"), "0123456789abcdef", "0123456789abcdef-000000")]
    for message in anyio.run(main):
        assert "not in the library" in message and "password" not in message and running.key not in message


def test_mcp_over_http_needs_the_key(running):
    async def main() -> int:
        async with create_mcp_http_client() as http:
            reply = await http.post(running.url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                    headers={"Accept": "application/json, text/event-stream"})
            return reply.status_code
    assert anyio.run(main) == 401


def test_mcp_over_stdio(running):
    params = StdioServerParameters(command=sys.executable,
                                   args=["-c", "import sys; from app.cli import main; sys.exit(main(['mcp']))"],
                                   env={**os.environ, "IPPON_HOME": str(running.home)}, cwd=str(ROOT))

    async def main() -> None:
        async with Client(params, read_timeout_seconds=120) as client:
            await _exercise(client, running.docs)
            assert "not in the library" in await _refused(client, "/etc/passwd")
    anyio.run(main)
