"""Safe by default: the key (made 0600, required, compared), loopback only unless asked, body and token limits, no CORS."""

from __future__ import annotations

import stat

import httpx2 as httpx
import openai
import pytest

from app.cli import main
from app.config import Config
from app.core.service import IpponService
from app.serve.auth import api_key, check_bind, is_loopback, key_path, UnsafeBindError
from app.serve.runtime import NotInLibraryError
from app.serve.server import IpponServer


def test_the_key_file_is_random_private_and_stable(tmp_path):
    key = api_key(tmp_path)
    path = key_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and key.startswith("ippon-") and len(key) > 40
    assert api_key(tmp_path) == key and api_key(tmp_path / "other") != key
    path.chmod(0o644)
    assert api_key(tmp_path) == key and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_running_servers_key_file_is_0600_and_serve_key_prints_it(running, monkeypatch, capsys):
    assert stat.S_IMODE(key_path(running.home).stat().st_mode) == 0o600
    monkeypatch.setenv("IPPON_HOME", str(running.home))
    assert main(["serve", "key"]) == 0
    assert capsys.readouterr().out.strip() == running.key


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
def test_no_key_or_a_wrong_key_is_401(running, headers):
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/search"), ("POST", "/v1/chat/completions"),
                         ("POST", "/mcp")):
        reply = httpx.request(method, running.url + path, headers=headers, json={"query": "x"}, timeout=30)
        assert reply.status_code == 401, path
        assert reply.json()["error"]["type"] == "authentication_error"
        assert reply.headers["www-authenticate"] == "Bearer"


def test_the_openai_client_with_a_wrong_key_is_refused(running):
    client = openai.OpenAI(base_url=running.url + "/v1", api_key="ippon-not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_an_oversized_body_is_413(running):
    body = {"query": "x" * (running.service.config.serve_max_body_kb * 1024 + 10)}
    reply = httpx.post(running.url + "/v1/search", json=body, headers=running.headers, timeout=30)
    assert reply.status_code == 413 and "serve_max_body_kb" in reply.json()["error"]["message"]


def test_an_oversized_chunked_body_is_413_too(running):
    limit = running.service.config.serve_max_body_kb * 1024

    def pieces():  # no Content-Length: the server has to count
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
    reply = httpx.post(running.url + "/v1/search", content=pieces(), timeout=30,
                       headers={**running.headers, "Content-Type": "application/json"})
    assert reply.status_code == 413
    small = httpx.post(running.url + "/v1/search", content=iter([b'{"query": ', '"ポート番号"}'.encode()]),
                       headers={**running.headers, "Content-Type": "application/json"}, timeout=30)
    assert small.status_code == 200 and small.json()["data"]  # a chunked body within the limit arrives whole


def test_cors_is_off_unless_origins_are_listed(running):
    reply = httpx.get(running.url + "/v1/models", headers={**running.headers, "Origin": "https://evil.example"},
                      timeout=30)
    assert reply.status_code == 200 and "access-control-allow-origin" not in reply.headers


def test_get_source_text_refuses_paths_outside_the_library(running):
    runtime = running.server.runtime
    for ident in ("/etc/passwd", str(running.home / "api-key"), str(running.docs / "manuals" / ".." / "fuji.md"), ""):
        with pytest.raises(NotInLibraryError):
            runtime.source_text(ident)
    assert runtime.source_text(str(running.docs / "fuji.md")).text.startswith("# 富士山")


def test_a_non_loopback_bind_without_the_flag_is_refused_at_start(tmp_path, monkeypatch, capsys):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    with pytest.raises(UnsafeBindError, match="--allow-remote"):
        check_bind("0.0.0.0", allow_remote=False)
    check_bind("0.0.0.0", allow_remote=True)
    service = IpponService(Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models"))
    with pytest.raises(UnsafeBindError):
        IpponServer(service, host="0.0.0.0", port=0)
    assert not key_path(tmp_path / "home").exists()  # refused before anything was made
    monkeypatch.setenv("IPPON_HOME", str(tmp_path / "cli-home"))
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 1
    assert "--allow-remote" in capsys.readouterr().err
    (tmp_path / "cli-home").mkdir()
    (tmp_path / "cli-home" / "config.toml").write_text('serve_host = "0.0.0.0"\n', encoding="utf-8")
    assert main(["serve", "--port", "0"]) == 1  # the config file's host needs the flag just the same


def test_listed_origins_and_only_those_get_cors(tmp_path):
    config = Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models", serve_port=0,
                    serve_origins=("http://localhost:3000",))
    server = IpponServer(IpponService(config))
    listening = server.start()
    try:
        def preflight(origin: str) -> httpx.Response:
            return httpx.options(listening.url + "/v1/search", timeout=30, headers={
                "Origin": origin, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight("http://localhost:3000").headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "access-control-allow-origin" not in preflight("https://evil.example").headers
        reply = httpx.post(listening.url + "/v1/search", json={"query": "x"}, timeout=30,
                           headers={"Origin": "http://localhost:3000", "Authorization": f"Bearer {listening.key}"})
        assert reply.status_code == 200 and reply.headers["access-control-allow-origin"] == "http://localhost:3000"
    finally:
        server.stop()
