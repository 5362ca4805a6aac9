"""HTTP to an OpenAI-compatible server with the standard library: JSON requests and Server-Sent Events.

Every failure leaves this module as a RemoteError (or a subclass) that names the endpoint and
the reason; nothing raw from urllib, http.client, socket or json escapes.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import ContextOverflowError, EngineError, RemoteError

API_KEY_ENV = "IPPON_REMOTE_API_KEY"
DEFAULT_TIMEOUT = 300.0  # seconds for connecting and between two reads: a long prompt on a slow server takes a while
_SNIPPET = 200
# How vLLM, llama.cpp server and llama-cpp-python's server word a prompt that does not fit.
_CONTEXT_RE = re.compile(r"context (length|window|size)|maximum context|exceeds? the available context", re.I)


class HTTPStatusError(RemoteError):
    """The server answered with an error status; `status` and the server's own `message` are kept."""

    def __init__(self, text: str, *, status: int, message: str) -> None:
        super().__init__(text)
        self.status, self.message = status, message


def api_base(url: str | None) -> str:
    """'http://host:8000', 'http://host:8000/' and 'http://host:8000/v1' all give 'http://host:8000/v1'."""
    if not isinstance(url, str) or not url.strip():
        raise EngineError("the remote backend needs the server's URL (--url), for example http://127.0.0.1:8000")
    url = url.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise EngineError(f"{url!r} is not a server URL; expected one like http://127.0.0.1:8000 or "
                          "https://example.org/v1")
    return url if url.endswith("/v1") else f"{url}/v1"


def not_openai(endpoint: str, what: str) -> RemoteError:
    return RemoteError(f"the server at {endpoint} did not answer like an OpenAI-compatible API ({what})")


def _snippet(data: bytes | str) -> str:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "…"


def _server_message(body: bytes) -> str:
    """The error text of an OpenAI-style ({"error": {"message"}}), vLLM or FastAPI error body, else its start."""
    try:
        data = json.loads(body)
    except ValueError:
        return _snippet(body)
    if isinstance(data, dict):
        error = data.get("error")
        for candidate in (error.get("message") if isinstance(error, dict) else error, data.get("message"),
                          data.get("detail")):
            if isinstance(candidate, str) and candidate.strip():
                return _snippet(candidate)
    return _snippet(body)


def _describe(reason: object, timeout: float) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the server running, on this host and port?)"
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


class RemoteClient:
    """One server: its /v1 base, the API key and the timeout. Each request has its own connection."""

    def __init__(self, url: str | None, *, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base = api_base(url)
        self.api_key = api_key or os.environ.get(API_KEY_ENV) or None
        if not timeout or timeout <= 0:
            raise EngineError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self.timeout = float(timeout)

    def endpoint(self, path: str) -> str:
        return f"{self.base}/{path}"

    def get_json(self, path: str) -> Any:
        return self._json(path, None)

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        return self._json(path, body)

    def stream(self, path: str, body: dict[str, Any]) -> EventStream:
        """POST and read the answer as Server-Sent Events; close the stream to drop the connection."""
        endpoint = self.endpoint(path)
        with self._errors(endpoint):
            response = self._open(endpoint, body, accept="text/event-stream")
        return EventStream(response, endpoint, self)

    def _json(self, path: str, body: dict[str, Any] | None) -> Any:
        endpoint = self.endpoint(path)
        with self._errors(endpoint):
            with self._open(endpoint, body, accept="application/json") as response:
                data = response.read()
        return parse_json(data, endpoint)

    def _open(self, endpoint: str, body: dict[str, Any] | None, *, accept: str) -> http.client.HTTPResponse:
        headers = {"Accept": accept, "User-Agent": "ippon"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(endpoint, data=data, headers=headers, method="GET" if data is None else "POST")
        return urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310 - the scheme is checked in api_base

    @contextmanager
    def _errors(self, endpoint: str) -> Iterator[None]:
        try:
            yield
        except EngineError:  # ours already (RemoteError is also an OSError)
            raise
        except urllib.error.HTTPError as exc:
            raise self._status_error(endpoint, exc) from exc
        except urllib.error.URLError as exc:
            raise RemoteError(f"cannot reach the server at {endpoint}: {_describe(exc.reason, self.timeout)}") from exc
        except TimeoutError as exc:
            raise RemoteError(f"the server at {endpoint} sent nothing for {self.timeout:g} s (the timeout)") from exc
        except (http.client.HTTPException, OSError) as exc:
            raise RemoteError(f"the connection to {endpoint} broke: {_describe(exc, self.timeout)}") from exc

    def _status_error(self, endpoint: str, exc: urllib.error.HTTPError) -> EngineError:
        try:
            body = exc.read(4096)
        except (http.client.HTTPException, OSError):
            body = b""
        finally:
            exc.close()
        message = _server_message(body) or exc.reason or ""
        if exc.code in (400, 413) and _CONTEXT_RE.search(message):
            return ContextOverflowError(f"the server at {endpoint} says the input does not fit its context "
                                        f"window: {message}")
        hint = ""
        if exc.code in (401, 403):
            hint = f" (check the API key: the api_key option or the {API_KEY_ENV} environment variable)"
        return HTTPStatusError(f"the server at {endpoint} answered HTTP {exc.code}: {message}{hint}",
                               status=exc.code, message=message)


def parse_json(data: bytes, endpoint: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        raise not_openai(endpoint, f"expected JSON, got {_snippet(data)!r}") from None


class EventStream:
    """The `data:` events of a streaming answer, parsed as JSON, until `data: [DONE]`.

    `done` tells whether the server said [DONE]; an answer that was not an event stream but one
    JSON object (a server that ignores "stream") is yielded as a single event.
    """

    def __init__(self, response: http.client.HTTPResponse, endpoint: str, client: RemoteClient) -> None:
        self._response, self._endpoint, self._client = response, endpoint, client
        self.done = False

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._response.close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        kind = (self._response.headers.get_content_type() if self._response.headers else "") or ""
        with self._client._errors(self._endpoint):  # noqa: SLF001 - the same translation for reads
            if kind == "application/json":
                yield self._event(self._response.read())
                self.done = True
                return
            if kind not in ("text/event-stream", "text/plain", "application/octet-stream"):
                raise not_openai(self._endpoint, f"expected an event stream, got {kind} "
                                                 f"{_snippet(self._response.read(512))!r}")
            for data in _sse_data(self._response, self._endpoint):
                if data.strip() == "[DONE]":
                    self.done = True
                    return
                yield self._event(data.encode("utf-8"))

    def _event(self, data: bytes) -> dict[str, Any]:
        event = parse_json(data, self._endpoint)
        if not isinstance(event, dict):
            raise not_openai(self._endpoint, f"an event is not a JSON object: {_snippet(data)!r}")
        error = event.get("error")
        if error or event.get("object") == "error":
            message = error.get("message") if isinstance(error, dict) else error or event.get("message")
            raise RemoteError(f"the server at {self._endpoint} reported an error: {_snippet(str(message))}")
        return event


def _sse_data(response: http.client.HTTPResponse, endpoint: str) -> Iterator[str]:
    """The data of each Server-Sent Event; comments (keep-alive pings) and other fields are skipped."""
    data: list[str] = []
    for raw in response:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "error":  # llama.cpp server's own event for a failure mid-stream
            raise RemoteError(f"the server at {endpoint} reported an error: {_snippet(value)}")
    if data:
        yield "\n".join(data)
