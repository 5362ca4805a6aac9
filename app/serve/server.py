"""Binding, serving and stopping: `ippon serve` in the foreground, the GUI's switch in a background thread.

The socket is bound before serving so a taken port is a clear error and port 0 (any free
port) has an address to print. uvicorn stops cleanly on SIGINT and SIGTERM: no new requests,
running ones finish (streams are cancelled), then the models are freed.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from dataclasses import dataclass

import uvicorn

from ..core.service import IpponService
from ..errors import IpponError
from ..locale import _
from .api import build_app
from .auth import api_key, check_bind, key_path
from .runtime import ServeRuntime


class BindError(IpponError, OSError):
    """The address cannot be listened on (taken, or not this machine's)."""


@dataclass(frozen=True, slots=True)
class Listening:
    url: str
    key: str
    key_file: str


def bind(host: str, port: int, *, allow_remote: bool) -> socket.socket:
    check_bind(host, allow_remote=allow_remote)
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        raise BindError(_("cannot listen on {host}:{port}: {reason}").format(host=host, port=port, reason=exc)) from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class IpponServer:
    """One HTTP server (API + MCP) over a service; `serve()` blocks, `start()` runs it in a thread."""

    def __init__(self, service: IpponService, *, host: str | None = None, port: int | None = None,
                 allow_remote: bool = False, owns_models: bool = True) -> None:
        config = service.config
        host = host or config.serve_host
        self._socket = bind(host, config.serve_port if port is None else port, allow_remote=allow_remote)
        try:
            key = api_key(config.data_dir)
            self.runtime = ServeRuntime(service, owns_models=owns_models)
        except BaseException:
            self._socket.close()
            raise
        self.listening = Listening(_url(self._socket), key, str(key_path(config.data_dir)))
        app = build_app(self.runtime, key=key, host=host)
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False,
                                                     timeout_graceful_shutdown=5))
        self._thread: threading.Thread | None = None

    def serve(self) -> None:
        """Serve until SIGINT or SIGTERM (uvicorn's own handlers), then free the models."""
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._close()

    def start(self) -> Listening:
        """Serve on a background thread (signals stay with the main thread's owner)."""
        self._thread = threading.Thread(target=self._serve_in_thread, name="ippon-serve", daemon=True)
        self._thread.start()
        return self.listening

    def _serve_in_thread(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        finally:
            self._close()

    def stop(self, *, timeout: float = 15) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def started(self) -> bool:
        return self._server.started

    def _close(self) -> None:
        self.runtime.close()
        self._socket.close()


def print_listening(listening: Listening) -> None:
    print(_("Ippon is serving the OpenAI-compatible API at {url}/v1 and MCP at {url}/mcp").format(url=listening.url),
          file=sys.stderr)
    print(_("API key: `ippon serve key` prints it (stored in {file}); send it as `Authorization: Bearer KEY`. "
            "Ctrl-C stops the server.").format(file=listening.key_file), file=sys.stderr, flush=True)
