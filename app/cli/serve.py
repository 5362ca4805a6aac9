"""`ippon serve` (the OpenAI-compatible API and MCP over HTTP), `ippon serve key`, and `ippon mcp` (stdio)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from ..core.service import IpponService
from ..locale import _


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help=_("serve the library as an OpenAI-compatible API and MCP server"),
                           description=_("Serve search, cited answers (model ippon-rag), chat, embeddings and "
                                         "reranking over HTTP, and MCP at /mcp. `ippon serve key` prints the API key."))
    serve.add_argument("action", nargs="?", choices=("key",), help=_("key: print the API key and exit"))
    serve.add_argument("--host", help=_("address to listen on (default: serve_host in config.toml, 127.0.0.1)"))
    serve.add_argument("--port", type=int, help=_("port (default: serve_port in config.toml, 8765; 0: any free port)"))
    serve.add_argument("--allow-remote", action="store_true",
                       help=_("allow an address other machines can reach (the API key is still required)"))
    serve.add_argument("--json", action="store_true", help=_("with `key`: print JSON"))
    serve.set_defaults(handler=run_serve)

    mcp = sub.add_parser("mcp", help=_("run the MCP server over stdio (for Claude Desktop and other MCP hosts)"))
    mcp.set_defaults(handler=run_mcp)


def run_serve(args: argparse.Namespace, service: IpponService) -> int:
    from ..serve.auth import api_key, key_path  # the server stack loads only for these commands
    if args.action == "key":
        key = api_key(service.config.data_dir)
        if args.json:
            print(json.dumps({"key": key, "file": str(key_path(service.config.data_dir))}))
        else:
            print(key)
        return 0
    from ..serve.server import IpponServer, print_listening
    server = IpponServer(service, host=args.host, port=args.port, allow_remote=args.allow_remote)
    print_listening(server.listening)
    # uvicorn stops gracefully on SIGTERM, then restores this handler and raises the signal again: handled
    # like Ctrl-C from there, so the models are freed and the exit is a clean one.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    print(_("Ippon has stopped serving."), file=sys.stderr)
    return 0


def run_mcp(args: argparse.Namespace, service: IpponService) -> int:
    from ..serve.mcp import build_mcp_server
    from ..serve.runtime import ServeRuntime
    runtime = ServeRuntime(service)
    try:
        asyncio.run(build_mcp_server(runtime).run_stdio_async())
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
    return 0
