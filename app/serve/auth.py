"""Safe by default: the API key, the loopback rule, and the edge checks (key, body size) as ASGI middleware."""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from ..errors import IpponError
from ..locale import _

KEY_FILE = "api-key"
# Paths anyone on the machine may read: they say whether the server is up and what it speaks.
OPEN_PATHS = frozenset({"/health", "/openapi.json"})


class UnsafeBindError(IpponError):
    """A bind address other than loopback, without the explicit flag that allows it."""


class KeyFileError(IpponError, OSError):
    """The API key file cannot be created or read."""


def key_path(data_dir: Path) -> Path:
    return Path(data_dir) / KEY_FILE


def api_key(data_dir: Path, *, create: bool = True) -> str:
    """The server's API key, made on first use: random, in the data directory, readable by the owner only."""
    path = key_path(data_dir)
    if not path.exists() and create:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two servers starting at once never overwrite each other's key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        except OSError as exc:
            raise KeyFileError(_("{path}: cannot create the API key: {reason}").format(path=path, reason=exc)) from exc
        else:
            with os.fdopen(fd, "w", encoding="ascii") as file:
                file.write("ippon-" + secrets.token_urlsafe(32) + "\n")
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)  # someone loosened it: a key others can read is no key
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(_("{path}: cannot read the API key: {reason}").format(path=path, reason=exc)) from exc
    if len(key) < 16:
        raise KeyFileError(_("{path}: the API key is too short; delete the file to make a new one").format(path=path))
    return key


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, allow_remote: bool) -> None:
    if not is_loopback(host) and not allow_remote:
        raise UnsafeBindError(_("refusing to listen on {host}: other machines could reach the library. Use "
                                "--allow-remote to do so on purpose (the API key is still required)").format(host=host))


async def send_error(send: Any, status: int, message: str, *, kind: str, headers: dict[str, str] | None = None) -> None:
    """An error in the OpenAI shape, sent straight from middleware."""
    body = json.dumps({"error": {"message": message, "type": kind, "code": status}}, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BearerKeyMiddleware:
    """Every request but OPEN_PATHS needs `Authorization: Bearer <key>` (compared in constant time)."""

    def __init__(self, app: Any, *, key: str) -> None:
        self.app = app
        self._expected = f"Bearer {key}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or scope["method"] == "OPTIONS":
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not hmac.compare_digest(given, self._expected):
            message = _("a valid API key is needed: send `Authorization: Bearer KEY` (`ippon serve key` prints it)")
            return await send_error(send, 401, message, kind="authentication_error",
                                    headers={"WWW-Authenticate": "Bearer"})
        return await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses bodies over `limit` bytes with 413: by Content-Length up front, else while reading.

    The body is read here (at most `limit` bytes are ever held) and handed on whole, so a
    chunked upload cannot get past the limit and the routes never see half a body.
    """

    def __init__(self, app: Any, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        message = _("the request body is larger than {kb} KB (serve_max_body_kb in config.toml)").format(
            kb=self.limit // 1024)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await send_error(send, 413, message, kind="invalid_request_error")
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            event = await receive()
            if event["type"] == "http.disconnect":
                return  # the client left before sending its whole request
            chunk = event.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return await send_error(send, 413, message, kind="invalid_request_error")
            chunks.append(chunk)
            more = event.get("more_body", False)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: the disconnect a streaming response listens for

        await self.app(scope, replay, send)
