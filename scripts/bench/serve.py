#!/usr/bin/env python3
"""Load test of `ippon serve` on loopback: searches beside generations, 429s, and cancelling on disconnect.

    .venv/bin/python scripts/bench/serve.py [--seconds 60] [--search-clients 50] [--chat-clients 8]
                                            [--max-tokens 32] [--files 100] [--json]

A server is started in its own process (`ippon serve --port 0` semantics: a free port on
127.0.0.1, never another address) over a library of --files generated Japanese documents
(jacorpus.py), with the suite's tiny models as GGUF (embedder, reranker, and the random-weight
llm-untied, which always generates --max-tokens tokens). Then, for a fixed count of clients
and a fixed duration:

1. alone: --alone-queries hybrid+reranked /v1/search requests one after another: p50/p95;
2. under load: --search-clients clients loop on /v1/search while --chat-clients clients loop
   on streamed ippon-rag answers, for --seconds: p50/p95 of search, the ratio to alone, counts
   of every status; a client told 429 waits its Retry-After (at most 2 s) and every 429 must
   carry one; any 5xx fails the run;
3. cancel: --cancel-clients streams of 2000 tokens, each closed after its third content chunk:
   /health's count of cancelled generations and the most tokens any produced after its cancel
   token was set (the promise: at most one), and how long until all had stopped.

Exit status 1 if a 5xx came, a 429 lacked Retry-After, or a cancel overran one token.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "scripts" / "bench"))  # after ROOT: bench/engines.py must not hide engines/
CACHE = ROOT / ".cache" / "bench-serve"
QUERIES = ("設定ファイルの変更手順", "パスワードの初期化", "証明書の更新", "バックアップの保存先", "ネットワークの遅延",
           "ファイアウォールの設定", "ログの保存期間", "二段階認証の手順", "プリンターのドライバ", "障害の復旧手順")


def tiny_models() -> dict[str, Path]:
    """The suite's tiny embedder, reranker and random-weight LLM, converted to GGUF f16 once."""
    from converters import convert
    from tests.conftest import cached_test_models

    models = cached_test_models()
    out = {}
    for name in ("embedder", "reranker", "llm-untied"):
        path = CACHE / "models" / f"{models[name].parent.name}-{name}.gguf"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            convert(models[name], to="gguf", quant="f16", out=path)
        out[name] = path
    return out


def prepare_home(files: int) -> Path:
    import jacorpus
    from app.config import load_config
    from app.core.service import IpponService

    models = tiny_models()
    corpus = jacorpus.ensure_corpus(CACHE / "corpus", n_files=files)
    home = CACHE / f"home-{corpus.folder.name}"
    if not (home / "config.toml").exists():
        home.mkdir(parents=True, exist_ok=True)
        lines = [f'data_dir = "{home}"', "threads = 1", f'llm = "{models["llm-untied"]}"',
                 f'embedder = "{models["embedder"]}"', f'reranker = "{models["reranker"]}"', "top_k = 4",
                 "candidates = 20"]
        (home / "config.toml.tmp").write_text("\n".join(lines) + "\n", encoding="utf-8")
        service = IpponService(load_config(home / "config.toml.tmp"))
        service.add([corpus.folder])
        service.close()
        (home / "config.toml.tmp").rename(home / "config.toml")
    return home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(home: Path, port: int) -> subprocess.Popen:
    code = "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env={**os.environ, "IPPON_HOME": str(home)})


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


class Tally:
    def __init__(self) -> None:
        self.status: dict[str, int] = {}
        self.search_ms: list[float] = []
        self.retry_after_missing = 0
        self.chat_tokens = 0

    def count(self, kind: str, status: int) -> None:
        key = f"{kind} {status}"
        self.status[key] = self.status.get(key, 0) + 1


async def run(args: argparse.Namespace, base: str, key: str) -> dict[str, Any]:
    import httpx2

    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx2.Limits(max_connections=args.search_clients + args.chat_clients + 16)
    async with httpx2.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits) as http:
        for _ in range(600):
            try:
                if (await http.get("/health")).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            await asyncio.sleep(0.5)
        else:
            raise SystemExit("the server did not come up")

        async def search(query: str, tally: Tally) -> None:
            start = time.perf_counter()
            reply = await http.post("/v1/search", json={"query": query, "limit": 5})
            tally.count("search", reply.status_code)
            if reply.status_code == 200:
                tally.search_ms.append((time.perf_counter() - start) * 1000)
            elif reply.status_code == 429:
                await _retry_wait(reply, tally)

        alone = Tally()
        for i in range(args.alone_queries):
            await search(QUERIES[i % len(QUERIES)], alone)

        loaded = Tally()
        deadline = time.monotonic() + args.seconds

        async def search_client(n: int) -> None:
            i = n
            while time.monotonic() < deadline:
                await search(QUERIES[i % len(QUERIES)], loaded)
                i += 1

        async def chat_client(n: int) -> None:
            i = n
            while time.monotonic() < deadline:
                body = {"model": "ippon-rag", "stream": True, "max_tokens": args.max_tokens, "temperature": 0,
                        "messages": [{"role": "user", "content": QUERIES[i % len(QUERIES)]}]}
                async with http.stream("POST", "/v1/chat/completions", json=body) as reply:
                    loaded.count("chat", reply.status_code)
                    if reply.status_code == 429:
                        await _retry_wait(reply, loaded)
                    async for line in reply.aiter_lines():
                        loaded.chat_tokens += '"content"' in line
                i += 1

        await asyncio.gather(*(search_client(n) for n in range(args.search_clients)),
                             *(chat_client(n) for n in range(args.chat_clients)))

        before = (await http.get("/health")).json()["models"]["chat"]["cancelled"]
        start = time.perf_counter()

        async def walk_away() -> None:
            body = {"model": "ippon-rag", "stream": True, "max_tokens": 2000, "temperature": 0,
                    "messages": [{"role": "user", "content": QUERIES[0]}]}
            async with http.stream("POST", "/v1/chat/completions", json=body) as reply:
                seen = 0
                async for line in reply.aiter_lines():
                    seen += '"content"' in line
                    if seen == 3:
                        break

        await asyncio.gather(*(walk_away() for _ in range(args.cancel_clients)))
        # Done when every walked-away generation has been counted as cancelled (or after 30 s: a failure).
        while True:
            chat = (await http.get("/health")).json()["models"]["chat"]
            if chat["cancelled"] - before >= args.cancel_clients or time.perf_counter() - start > 30:
                break
            await asyncio.sleep(0.01)
        free_s = time.perf_counter() - start

    return {
        "seconds": args.seconds, "search_clients": args.search_clients, "chat_clients": args.chat_clients,
        "search_alone_ms": {"p50": pct(alone.search_ms, 0.5), "p95": pct(alone.search_ms, 0.95),
                            "n": len(alone.search_ms)},
        "search_loaded_ms": {"p50": pct(loaded.search_ms, 0.5), "p95": pct(loaded.search_ms, 0.95),
                             "n": len(loaded.search_ms)},
        "ratio_p50": pct(loaded.search_ms, 0.5) / pct(alone.search_ms, 0.5),
        "ratio_p95": pct(loaded.search_ms, 0.95) / pct(alone.search_ms, 0.95),
        "status": loaded.status, "chat_content_chunks": loaded.chat_tokens,
        "retry_after_missing": loaded.retry_after_missing + alone.retry_after_missing,
        "cancel": {"clients": args.cancel_clients, "cancelled": chat["cancelled"] - before,
                   "max_tokens_after_cancel": chat["max_tokens_after_cancel"], "all_cancelled_after_s": round(free_s, 3)},
    }


async def _retry_wait(reply: Any, tally: Tally) -> None:
    value = reply.headers.get("retry-after")
    if value is None or not value.isdigit():
        tally.retry_after_missing += 1
        return
    await asyncio.sleep(min(int(value), 2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--search-clients", type=int, default=50)
    parser.add_argument("--chat-clients", type=int, default=8)
    parser.add_argument("--cancel-clients", type=int, default=4)
    parser.add_argument("--alone-queries", type=int, default=40)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from app.serve.auth import api_key

    home = prepare_home(args.files)
    port = free_port()
    server = start_server(home, port)
    try:
        figures = asyncio.run(run(args, f"http://127.0.0.1:{port}", api_key(home)))
    finally:
        server.terminate()  # SIGTERM: the server's own clean stop
        server.wait(60)
    figures["server_exit_code"] = server.returncode
    five_xx = sum(n for key, n in figures["status"].items() if key.split()[1].startswith("5"))
    cancel = figures["cancel"]
    ok = (not five_xx and not figures["retry_after_missing"] and cancel["max_tokens_after_cancel"] <= 1
          and cancel["cancelled"] == cancel["clients"] and figures["server_exit_code"] == 0)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        a, b = figures["search_alone_ms"], figures["search_loaded_ms"]
        print(f"search alone:      p50 {a['p50']:.1f} ms  p95 {a['p95']:.1f} ms  ({a['n']} requests)")
        print(f"search under load: p50 {b['p50']:.1f} ms  p95 {b['p95']:.1f} ms  ({b['n']} answered, "
              f"{args.search_clients} search + {args.chat_clients} chat clients, {args.seconds:g} s)")
        print(f"ratio under load / alone: p50 {figures['ratio_p50']:.2f}x  p95 {figures['ratio_p95']:.2f}x")
        print("status: " + ", ".join(f"{k}: {v}" for k, v in sorted(figures["status"].items())))
        print(f"5xx: {five_xx}; 429 without Retry-After: {figures['retry_after_missing']}; "
              f"streamed content chunks: {figures['chat_content_chunks']}")
        c = figures["cancel"]
        print(f"cancel on disconnect: {c['cancelled']}/{c['clients']} cancelled, at most "
              f"{c['max_tokens_after_cancel']} token(s) after the cancel; all stopped {c['all_cancelled_after_s']} s after "
              "the clients began")
        print(f"server stopped on SIGTERM with exit code {figures['server_exit_code']}")
        print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
