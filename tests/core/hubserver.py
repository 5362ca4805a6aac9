"""A local stand-in for the Hugging Face Hub, enough of it for huggingface-hub's client.

What huggingface-hub 2.x requests (read from its source, not guessed):

- `HfApi.model_info(repo, revision=, files_metadata=True)`: GET /api/models/{repo}
  (or /api/models/{repo}/revision/{rev}) with `?blobs=true`; it reads `sha` and `siblings`
  (`rfilename`, `size`, `blobId`, `lfs.{sha256,size,pointerSize}`).
- `hf_hub_download`: HEAD /{repo}/resolve/{rev}/{file} with `Accept-Encoding: identity`; it
  needs `X-Repo-Commit`, and `X-Linked-Etag` (else `ETag`) and `X-Linked-Size` (else
  `Content-Length`); then GET of the same URL, with `Range: bytes=N-` to resume.
- Errors are told apart by the `X-Error-Code` header (RepoNotFound, RevisionNotFound,
  EntryNotFound).

Files ending in .safetensors / .gguf / .bin are served as LFS files (ETag = sha256), others
as git blobs (ETag = git blob id), as the Hub does. Faults for the tests: drop the connection
after N bytes, serve corrupted bytes, send slowly; and a hostile server's ways: stream forever,
trickle a byte at a time, redirect in a loop, answer with scripted statuses (429 with
Retry-After, 401 GatedRepo), list names and sizes no file system should take. Every request
is logged.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".gguf", ".bin")


@dataclass
class HubFile:
    path: str
    data: bytes
    lfs: bool
    listed_size: int | None = None  # a lie in the file list, when set
    unhashed: bool = False  # listed with neither an LFS sha256 nor a blob id

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def git_sha(self) -> str:
        return hashlib.sha1(f"blob {len(self.data)}\0".encode() + self.data).hexdigest()

    def sibling(self) -> dict:
        entry = {"rfilename": self.path, "size": len(self.data) if self.listed_size is None else self.listed_size}
        if self.unhashed:
            return entry
        if self.lfs:
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.data)}\n"
            entry["blobId"] = hashlib.sha1(f"blob {len(pointer)}\0{pointer}".encode()).hexdigest()
            entry["lfs"] = {"sha256": self.sha256, "size": len(self.data), "pointerSize": len(pointer)}
        else:
            entry["blobId"] = self.git_sha
        return entry


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, HubFile]

    @property
    def commit(self) -> str:
        digest = hashlib.sha1(self.repo_id.encode())
        for path in sorted(self.files):
            digest.update(path.encode() + self.files[path].sha256.encode())
        return digest.hexdigest()

    @classmethod
    def from_folder(cls, repo_id: str, folder: Path, *, rename: dict[str, str] | None = None) -> HubRepo:
        """Every file under `folder` (hidden ones aside), optionally under other names."""
        folder = Path(folder)
        sources = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
        files = {}
        for p in sources:
            rel = p.name if folder.is_file() else p.relative_to(folder).as_posix()
            if any(part.startswith(".") for part in rel.split("/")):
                continue
            rel = (rename or {}).get(rel, rel)
            files[rel] = HubFile(rel, p.read_bytes(), rel.endswith(LFS_SUFFIXES))
        return cls(repo_id, files)


@dataclass
class Logged:
    method: str
    path: str
    range: str | None
    authorization: str | None


@dataclass
class FakeHub:
    repos: dict[str, HubRepo] = field(default_factory=dict)
    drop_after: dict[str, int] = field(default_factory=dict)  # file -> bytes sent before dropping (once)
    corrupt: dict[str, int] = field(default_factory=dict)  # file -> how many GETs serve damaged bytes
    slow: dict[str, float] = field(default_factory=dict)  # file -> seconds between 4 KiB pieces
    endless: set[str] = field(default_factory=set)  # files whose body never ends
    trickle: dict[str, float] = field(default_factory=dict)  # file -> seconds between single bytes
    redirect_loop: set[str] = field(default_factory=set)  # files (or "/api/models") redirecting to themselves
    answers: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)  # scripted GET answers
    hostile_list: str | None = None  # the file list: "endless", "trickle" or "nested" JSON
    log: list[Logged] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _url: str = ""  # kept after stop(), so a test can aim at a port where nothing listens any more

    def add(self, repo: HubRepo) -> HubRepo:
        self.repos[repo.repo_id] = repo
        return repo

    @property
    def url(self) -> str:
        return self._url

    def start(self) -> FakeHub:
        hub = self

        class Handler(_HubHandler):
            pass

        Handler.hub = hub
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self._url = f"http://{host}:{port}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def gets(self, file: str) -> list[Logged]:
        return [r for r in self.log if r.method == "GET" and "/resolve/" in r.path and r.path.endswith("/" + file)]


class _HubHandler(BaseHTTPRequestHandler):
    hub: FakeHub

    def log_message(self, *args) -> None:  # quiet
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, OSError):
            pass  # the client went away, or a test dropped the connection on purpose

    def do_HEAD(self) -> None:  # noqa: N802
        self._route(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._route(head=False)

    def _route(self, *, head: bool) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        self.hub.log.append(Logged(self.command, path, self.headers.get("Range"), self.headers.get("Authorization")))
        if path.startswith("/api/models/"):
            if "/api/models" in self.hub.redirect_loop:
                return self._redirect_to_itself()
            if self.hub.hostile_list is not None:
                return self._hostile_list(self.hub.hostile_list)
            return self._model_info(path.removeprefix("/api/models/").split("/"), parse_qs(url.query))
        parts = path.lstrip("/").split("/")
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]), head=head)
        self._error(404, "EntryNotFound")

    def _repo(self, repo_id: str, revision: str) -> HubRepo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound")
            return None
        if revision not in ("main", repo.commit):
            self._error(404, "RevisionNotFound")
            return None
        return repo

    def _model_info(self, parts: list[str], query: dict) -> None:
        repo_id = "/".join(parts[:2])
        revision = parts[3] if len(parts) >= 4 and parts[2] == "revision" else "main"
        repo = self._repo(repo_id, revision)
        if repo is None:
            return
        blobs = query.get("blobs", ["false"])[0].lower() == "true"
        siblings = [f.sibling() if blobs else {"rfilename": f.path} for f in repo.files.values()]
        body = json.dumps({"_id": repo.commit[:24], "id": repo_id, "modelId": repo_id, "sha": repo.commit,
                           "private": False, "disabled": False, "gated": False, "downloads": 0, "likes": 0,
                           "tags": [], "lastModified": "2026-01-01T00:00:00.000Z",
                           "siblings": siblings}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _resolve(self, repo_id: str, revision: str, file: str, *, head: bool) -> None:
        repo = self._repo(repo_id, revision)
        if repo is None:
            return
        entry = repo.files.get(file)
        if entry is None:
            return self._error(404, "EntryNotFound", commit=repo.commit)
        if not head and self.hub.answers.get(file):
            status, headers = self.hub.answers[file].pop(0)
            return self._error(status, headers.get("X-Error-Code", ""), headers=headers)
        if file in self.hub.redirect_loop:
            return self._redirect_to_itself()
        if not head and (file in self.hub.endless or file in self.hub.trickle):
            return self._hostile_body(file)
        data, start = entry.data, 0
        if not head and self.hub.corrupt.get(file, 0) > 0:
            self.hub.corrupt[file] -= 1
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]
        wanted = self.headers.get("Range")
        if wanted and wanted.startswith("bytes=") and not head:
            first, _, last = wanted.removeprefix("bytes=").partition("-")
            start, end = int(first), int(last) if last else len(data) - 1
            if start >= len(data):
                return self._error(416, "RangeNotSatisfiable")
            body = data[start:end + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{start + len(body) - 1}/{len(data)}")
        else:
            body = data
            self.send_response(200)
        etag = entry.sha256 if entry.lfs else entry.git_sha
        self.send_header("X-Repo-Commit", repo.commit)
        self.send_header("ETag", f'"{etag}"')
        if entry.lfs:
            self.send_header("X-Linked-Etag", f'"{etag}"')
            self.send_header("X-Linked-Size", str(len(entry.data)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head:
            return
        drop = self.hub.drop_after.pop(file, None)
        delay = self.hub.slow.get(file, 0.0)
        sent = 0
        for i in range(0, len(body), 4096):
            piece = body[i:i + 4096]
            if drop is not None and sent + len(piece) > drop:
                self.wfile.write(piece[:drop - sent])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # mid-body, as a broken network would
                self.close_connection = True
                return
            self.wfile.write(piece)
            self.wfile.flush()
            sent += len(piece)
            if delay:
                time.sleep(delay)

    def _hostile_list(self, kind: str) -> None:
        if kind == "nested":
            body = b'{"sha": "0", "siblings": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(b'{"siblings": [')
        while True:  # until the client goes away
            self.wfile.write(b"[" if kind == "trickle" else b"[" * 65536)
            self.wfile.flush()
            if kind == "trickle":
                time.sleep(0.05)

    def _redirect_to_itself(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _hostile_body(self, file: str) -> None:
        """No Content-Length, so the body ends only when the connection does: endless zeros, or
        one byte every so often (each one resets a read timeout)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.close_connection = True
        delay = self.hub.trickle.get(file)
        piece = b"\0" if delay is not None else b"\0" * 65536
        while True:  # until the client goes away (handle() swallows the broken pipe)
            self.wfile.write(piece)
            self.wfile.flush()
            if delay is not None:
                time.sleep(delay)

    def _error(self, status: int, code: str, *, commit: str | None = None,
               headers: dict[str, str] | None = None) -> None:
        body = json.dumps({"error": code}).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            if key != "X-Error-Code":
                self.send_header(key, value)
        if code:
            self.send_header("X-Error-Code", code)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
