#!/usr/bin/env python3
"""Benchmark question time: retrieval and fusion on large synthetic libraries, and a whole ask on real-dims models.

    .venv/bin/python scripts/bench/query.py [--tasks retrieval:10k,retrieval:100k,ask,followup] [--queries 50]
                                            [--rounds 2] [--questions 5] [--threads 2] [--json]

- retrieval:SIZE: a library of SIZE Japanese chunks (technical sentences from word lists,
  200-400 characters, 10 per file; seeded) with random unit 1024-dim vectors, written straight
  through LibraryStore and optimized (full-text index; above 20k vectors the IVF_HNSW_SQ index)
  and cached under .cache/bench-query/. Over --queries Japanese questions from the same words,
  each run --rounds times after a warm-up: p50/p95 of lexical search, vector search (a random
  unit query vector), RRF fusion, and the whole Retriever.search in hybrid mode without
  reranking. The Retriever's embedder there is a stub returning a fixed random unit vector, so
  the whole search measures the store and fusion only, no model.
- ask: a real library (about --ask-chunks chunks of --ask-chunk-tokens tokens in Markdown files,
  embedded by Qwen3-Embedding-0.6B q8_0), then IpponService.ask with Reranker-0.6B q8_0 and
  Qwen3-1.7B q4_k_m (random weights, real dims; greedy, 16 tokens) with the app's own defaults:
  the time budget (answer_seconds 8) decides how many of the 50 candidates are reranked and how
  much the LLM reads. `ask:N` is the same with the budget off and N candidates reranked whole,
  8 sources read whole (how Ippon answered before the budget): `--tasks ask,ask:50,ask:20`
  compares them. After a warm-up question that loads the models (and measures their speed):
  per-stage medians from AskDone.timings; time to first token = retrieval + rerank + the LLM's
  own, beside the wall time to the first answer token. The text is nonsense (random weights):
  only the timings matter. Every model it needs is made on first use (random weights, real
  dims, converted by Ippon) under .cache/bench-models/.
- followup: the same library and models; each round a first question in a new thread, then a
  follow-up with それ (rewritten by the LLM first) and one without a marker (history only):
  time to first token of each (scripts/bench/followup.py). Not in the default tasks.
  IPPON_BENCH_MODELS=DIR takes the model files from DIR (a smoke run with the tiny test models).

Each task runs in its own process; its CPU time over its wall time shows how much of the
machine it got. The issue set no target: the figures are the point.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".cache" / "bench-query"
MODELS = Path(os.environ.get("IPPON_BENCH_MODELS") or ROOT / ".cache" / "bench-models")
if os.environ.get("IPPON_BENCH_MODELS"):  # other models: a library of their own, never the real one's cache
    CACHE = MODELS / "bench-query"
VERSION = "v2"  # bump when the generated text, vectors or the store layout change (v2: analysed terms)
SIZES = {"10k": 10_000, "100k": 100_000}
DIM, PER_FILE, WRITE_BATCH, SEED = 1024, 10, 10_000, 20240601
EMBEDDER, RERANKER, LLM = "embedding-0.6b-q8_0.gguf", "reranker-0.6b-q8_0.gguf", "qwen3-1.7b-q4_k_m.gguf"
DEFAULT_TASKS = ("retrieval:10k", "retrieval:100k", "ask")

# --- Japanese text from word lists -----------------------------------------------------------

NOUNS = tuple((
    "サーバー データベース 認証 暗号化 ネットワーク 設定ファイル ログ バックアップ 証明書 ファイアウォール 負荷分散 "
    "キャッシュ インデックス 検索エンジン 埋め込みベクトル 推論 量子化 メモリ スレッド コンテナ 仮想マシン "
    "ストレージ アクセス権限 監視 アラート 障害 復旧 ファームウェア センサー 温度 電源 ケーブル ポート番号 "
    "プロトコル 帯域幅 遅延 スループット 設定画面 管理者 利用者 手順書 仕様書 見積書 契約書 請求書 在庫 出荷 "
    "品質検査 製造ライン 工場 本社 支社 会議室 予約 経費 申請 承認 稟議 勤怠 給与 社内規程 情報漏洩 脆弱性 "
    "パスワード 二段階認証 無線LAN プリンター 複合機 ドライバ アップデート リリースノート 互換性 冗長化 分散処理 "
    "スケジューラ ジョブ バッチ処理 API トークン レスポンス タイムアウト 再試行 文字コード 形態素解析 全文検索 要約 "
    "翻訳"
).split())
VERBS = (
    "を確認してください", "を再起動します", "が自動的に更新されます", "を無効にできます", "を定期的に保存します",
    "を管理者に報告します", "が記録されます", "を設定画面から変更します", "を事前に申請してください",
    "が一時的に停止します", "を初期化する必要があります", "を暗号化して送信します", "が遅くなることがあります",
    "を手順書に従って交換します", "を二重に確認します", "が上限に達すると通知されます", "を別の拠点に複製します",
)
CONDITIONS = (
    "{n}が停止した場合は、", "{n}を変更する前に、", "初回の起動時には、", "毎朝九時に、", "{n}の更新後は、",
    "夜間の保守作業では、", "{n}に異常があるときは、", "年度末までに、", "新しい担当者が着任したら、",
    "{n}の容量が足りないときは、", "本番環境では、", "検証環境で試したうえで、",
)
AMOUNTS = ("{k}秒ごとに", "最大{k}件まで", "{k}分以内に", "{k}日間", "{k}回まで", "{k}パーセント以上", "約{k}台の")
QUESTIONS = ("{a}の{b}はどう設定しますか", "{a}が停止したときの{b}の手順は", "{a}と{b}の違いは何ですか",
             "{a}に{b}が必要なのはなぜですか", "{a}の{b}を変更するには", "{a}の{b}について教えてください")


def sentence(rng: random.Random) -> str:
    cond = rng.choice(CONDITIONS).format(n=rng.choice(NOUNS))
    amount = rng.choice(AMOUNTS).format(k=rng.randint(2, 500)) if rng.random() < 0.5 else ""
    return f"{cond}{amount}{rng.choice(NOUNS)}の{rng.choice(NOUNS)}{rng.choice(VERBS)}。"


def chunk_text(rng: random.Random, low: int = 200, high: int = 400) -> str:
    target, text = rng.randint(low, high), ""
    while len(text) < target:
        text += sentence(rng)
    return text[:high] if len(text) > high else text


def questions(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(QUESTIONS).format(a=rng.choice(NOUNS), b=rng.choice(NOUNS)) + "？" for _ in range(n)]


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def summary(values: list[float]) -> dict[str, float]:
    p50, p95 = np.percentile(np.asarray(values, dtype=np.float64), [50, 95])
    return {"p50": float(p50), "p95": float(p95), "mean": statistics.fmean(values), "n": len(values)}


def timed_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return (time.perf_counter() - start) * 1000, out


# --- retrieval on a synthetic library ----------------------------------------------------------

def build_store(n: int, data: Path) -> dict[str, Any]:
    """SIZE chunks, PER_FILE a file, written in WRITE_BATCH-chunk commits; then vectors; then the indexes."""
    from app.core.store import (ChunkRecord, FileUpdate, LibraryStore, SourceRecord, search_text, source_id_for,
                                text_hash)

    shutil.rmtree(data, ignore_errors=True)
    store, rng, vec_rng = LibraryStore(data), random.Random(SEED), np.random.default_rng(SEED)
    ids, hashes, steps, start = [], [], {}, time.perf_counter()
    for first in range(0, n, WRITE_BATCH):
        updates = []
        for f in range(first // PER_FILE, min(first + WRITE_BATCH, n) // PER_FILE):
            path = f"/bench/docs/{f // 100:04d}/doc{f:06d}.md"
            sid = source_id_for(path)
            chunks = []
            for i in range(PER_FILE):
                text = chunk_text(rng)
                norm = search_text(text)
                chunks.append(ChunkRecord(chunk_id=f"{sid}-{i:06d}", source_id=sid, ordinal=i, path=path, format="md",
                                          text=text, search_text=norm, text_hash=text_hash(norm), page=None,
                                          slide=None, heading=None, kind="text", char_start=i * 400,
                                          char_end=i * 400 + len(text), mtime_ns=1_700_000_000 * 10**9 + f))
                ids.append(chunks[-1].chunk_id)
                hashes.append(chunks[-1].text_hash)
            updates.append(FileUpdate(SourceRecord(source_id=sid, path=path, format="md", size=4000, mtime_ns=1,
                                                   content_hash=sid, status="indexed", chunks=PER_FILE), chunks))
        store.write_files(updates)
    steps["write_files_s"], start = time.perf_counter() - start, time.perf_counter()
    store.use_embedder("bench-emb", DIM)
    for first in range(0, n, WRITE_BATCH):
        last = min(first + WRITE_BATCH, n)
        store.write_vectors(ids[first:last], hashes[first:last], unit_vectors(vec_rng, last - first))
    steps["write_vectors_s"] = time.perf_counter() - start
    steps["optimize_s"] = timed_ms(store.optimize)[0] / 1000
    steps.update(disk_use(data))
    return steps


def disk_use(data: Path) -> dict[str, float]:
    """MB on disk: the whole library, and its full-text index (the index folders holding a token table)."""
    def mb(paths: Any) -> float:
        return round(sum(p.stat().st_size for p in paths if p.is_file()) / 2**20, 1)

    indices = data / "library" / "chunks.lance" / "_indices"
    fts = [d for d in indices.iterdir() if any(d.glob("*tokens.lance"))] if indices.is_dir() else []
    return {"library_mb": mb(data.rglob("*")), "fts_index_mb": mb(p for d in fts for p in d.rglob("*"))}


class FixedEmbedder:
    """Stands in for the embedder in Retriever.search: one fixed unit vector, no model."""

    def __init__(self, vector: np.ndarray) -> None:
        self.vector, self.dim = vector, len(vector)

    def embed(self, texts: list[str], *, kind: str = "document", dim: int | None = None) -> np.ndarray:
        return np.tile(self.vector, (len(texts), 1))


def retrieval_worker(size: str, n_queries: int, rounds: int, candidates: int) -> dict[str, Any]:
    from app.core.retrieval import RetrievalSettings, Retriever, fuse
    from app.core.store import LibraryStore

    from app.core.analysis import ANALYSIS_VERSION

    data = CACHE / f"store-{VERSION}-{ANALYSIS_VERSION}-{size}"  # a new analysis makes a new library
    marker = data / "built.json"  # written last: the cached library is whole
    if not (cached := marker.exists()):
        print(f"    building the {size} library in {data} ...", file=sys.stderr, flush=True)
        marker.write_text(json.dumps(build_store(SIZES[size], data)))
    build = {**json.loads(marker.read_text()), "cached": cached}
    store = LibraryStore(data)
    indices = {i.name: i.index_type for i in store._chunks.list_indices()}  # noqa: SLF001
    qs, rng = questions(n_queries, SEED + 1), np.random.default_rng(SEED + 1)
    query_vectors = unit_vectors(rng, n_queries)
    retriever = Retriever(store, embedder=FixedEmbedder(unit_vectors(rng, 1)[0]))
    settings = RetrievalSettings(mode="hybrid", rerank=False, candidates=candidates)
    samples: dict[str, list[float]] = {"lexical": [], "vector": [], "fusion": [], "search": []}
    hits = {"lexical": [], "vector": []}

    def one(i: int, record: bool) -> None:
        t_lex, lexical = timed_ms(lambda: store.search_lexical(qs[i], limit=candidates))
        t_vec, vector = timed_ms(lambda: store.search_vector(query_vectors[i], limit=candidates))
        t_fuse, _ = timed_ms(lambda: fuse(lexical, vector, k=settings.rrf_k)[:candidates])
        t_search, found = timed_ms(lambda: retriever.search(qs[i], settings))
        if record:
            for name, t in (("lexical", t_lex), ("vector", t_vec), ("fusion", t_fuse), ("search", t_search)):
                samples[name].append(t)
            hits["lexical"].append(len(lexical))
            hits["vector"].append(len(vector))
        assert found.results and not found.reranked

    for i in range(min(5, n_queries)):  # warm-up: the indexes and the page cache
        one(i, record=False)
    order = list(range(n_queries))
    for r in range(rounds):
        random.Random(r).shuffle(order)
        for i in order:
            one(i, record=True)
        print(f"    {size} round {r + 1}: search p50 {statistics.median(samples['search']):.1f} ms", file=sys.stderr,
              flush=True)
    return {"kind": "retrieval", "size": size, "chunks": store.count_chunks(), "indices": indices, "build": build,
            "candidates": candidates, "queries": n_queries, "rounds": rounds,
            "hits": {k: statistics.fmean(v) for k, v in hits.items()},
            "stages": {k: summary(v) for k, v in samples.items()}}


# --- a whole ask on real-dims models ---------------------------------------------------------------

def write_docs(docs: Path, chunks: int, chunk_tokens: int, files: int = 4) -> None:
    """Markdown files holding about `chunks` chunks: ~1.4 characters a token, 15% of each chunk overlap."""
    rng = random.Random(SEED + 3)
    docs.mkdir(parents=True, exist_ok=True)
    per_file = chunks * chunk_tokens * 0.85 * 1.4 / files
    for f in range(files):
        lines, size, k = [f"# 社内技術資料 {f + 1}"], 0, 0
        while size < per_file:
            k += 1
            body = "".join(sentence(rng) for _ in range(5))
            lines += ["", f"## 第{k}節", "", body]
            size += len(body)
        (docs / f"資料{f + 1:02d}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def ask_service(candidates: int | None, top_k: int | None, chunks: int, chunk_tokens: int, threads: int,
                answer_seconds: float | None = None) -> tuple[Any, dict]:
    """The service over the ask library (built and indexed on first use), and how the library was built.
    None for a setting means the app's default."""
    from dataclasses import fields

    from app.config import Config
    from app.core.service import IpponService

    defaults = {f.name: f.default for f in fields(Config)}
    base = CACHE / f"ask-{VERSION}-{chunks}x{chunk_tokens}"
    config = Config(data_dir=base / "data", models_dir=base / "models", embedder=str(MODELS / EMBEDDER),
                    reranker=str(MODELS / RERANKER), llm=str(MODELS / LLM), threads=threads,
                    candidates=candidates or defaults["candidates"], top_k=top_k or defaults["top_k"],
                    answer_seconds=defaults["answer_seconds"] if answer_seconds is None else answer_seconds,
                    chunk_tokens=chunk_tokens)
    service = IpponService(config)
    marker = base / "built.json"
    if not (cached := marker.exists()):
        shutil.rmtree(base, ignore_errors=True)
        write_docs(base / "docs", chunks, chunk_tokens)
        print(f"    indexing ~{chunks} chunks with {EMBEDDER} (phase 2 takes minutes) ...", file=sys.stderr, flush=True)
        add_s, summary_ = timed_ms(lambda: service.add([base / "docs"]))
        marker.write_text(json.dumps({"add_s": add_s / 1000, "files": summary_.added}))
    build = {**json.loads(marker.read_text()), "cached": cached, "chunks": service.library.store.count_chunks()}
    return service, build


def ask_worker(n_questions: int, candidates: int | None, top_k: int | None, chunks: int, chunk_tokens: int,
               threads: int, answer_seconds: float | None = None) -> dict[str, Any]:
    from app.core.answer import AskDone
    from engines import AnswerDelta, ChatSettings

    service, build = ask_service(candidates, top_k, chunks, chunk_tokens, threads, answer_seconds)
    candidates, top_k = service.config.candidates, service.config.top_k
    chat = ChatSettings(temperature=0, max_tokens=16)

    def run(question: str) -> dict[str, Any]:
        start = time.perf_counter()
        first = done = None
        for event in service.ask(question, retrieval=service.retrieval_settings(), chat=chat):
            if isinstance(event, AnswerDelta) and first is None:
                first = time.perf_counter()
            elif isinstance(event, AskDone):
                done = event
        end = time.perf_counter()
        t = dict(done.timings)
        t["llm_ttft_ms"] = t.pop("time_to_first_token_s") * 1000
        t["retrieval_ms"] = sum(t.get(k, 0.0) for k in ("lexical_ms", "embed_ms", "vector_ms", "fusion_ms"))
        t.setdefault("rerank_ms", 0.0)
        t["reranked"] = t.get("reranked", len(done.sources) and candidates)
        t["ttft_total_ms"] = t["retrieval_ms"] + t["rerank_ms"] + t["llm_ttft_ms"]
        t["wall_first_token_ms"] = ((first or end) - start) * 1000  # no answer token at all: the end
        t["wall_total_ms"] = (end - start) * 1000
        t["sources"] = len(done.sources)
        print(f"    ask: " + ", ".join(f"{k} {v:.0f}" for k, v in t.items() if k.endswith("_ms")), file=sys.stderr,
              flush=True)
        return t

    qs = questions(n_questions + 1, SEED + 2)
    warm_ms, _ = timed_ms(lambda: run(qs[0]))  # loads the embedder (if cached), the reranker and the LLM
    runs = [run(q) for q in qs[1:]]
    numeric = [k for k, v in runs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return {"kind": "ask", "build": build, "warm_up_ms": warm_ms, "questions": qs[1:], "candidates": candidates,
            "top_k": top_k, "chunk_tokens": chunk_tokens, "threads": threads, "runs": runs,
            "answer_seconds": service.config.answer_seconds, "budget": runs[-1].get("budget"),
            "median": {k: statistics.median(r[k] for r in runs) for k in numeric}}


# --- driver ------------------------------------------------------------------------------------

# file -> (the real-dims checkpoint it is converted from, its quantization)
BENCH_MODELS = {EMBEDDER: ("embedding-0.6b", "q8_0"), RERANKER: ("reranker-0.6b", "q8_0"),
                LLM: ("qwen3-1.7b", "q4_k_m")}


def ensure_models() -> None:
    """Every model the ask tasks use, made if missing: a random-weight real-dims checkpoint, converted by
    Ippon (the folder name tells the converter its kind). A fresh checkout needs nothing else."""
    for file, (checkpoint, quant) in BENCH_MODELS.items():
        if (MODELS / file).exists():
            continue
        if not (MODELS / checkpoint / "config.json").exists():
            subprocess.run([sys.executable, str(ROOT / "scripts" / "make_test_models.py"), str(MODELS),
                            "--real-dims", checkpoint], check=True)
        subprocess.run([str(Path(sys.executable).with_name("ippon")), "convert", str(MODELS / checkpoint), "--to",
                        "gguf", "--quant", quant, "--out", str(MODELS / file)], check=True)


def measure(task: str, argv: list[str]) -> dict[str, Any]:
    """The task in its own process; its CPU time over its wall time tells how much of the 2 cores it got."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--worker", task, *argv], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"task {task} failed")
    wall = time.perf_counter() - start
    # ru_maxrss is KiB on Linux, bytes on macOS.
    return {**json.loads(out.strip().splitlines()[-1]), "process": {
        "wall_s": wall, "cores_busy": (usage.ru_utime + usage.ru_stime) / wall,
        "peak_rss_mb": usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)}}


def print_retrieval(results: list[dict[str, Any]]) -> None:
    r0 = results[0]
    print(f"\nRetrieval latency, ms: {r0['queries']} Japanese questions x {r0['rounds']} rounds after a 5-question "
          f"warm-up; {r0['candidates']} candidates a list; random unit {DIM}-dim vectors")
    for r in results:
        b, idx = r["build"], ", ".join(f"{n} ({t})" for n, t in r["indices"].items())
        total = b["write_files_s"] + b["write_vectors_s"] + b["optimize_s"]
        print(f"  {r['size']}: {r['chunks']} chunks; indexes: {idx}; built in {total:.1f} s (write_files "
              f"{b['write_files_s']:.1f}, write_vectors {b['write_vectors_s']:.1f}, optimize {b['optimize_s']:.1f}); "
              f"on disk {b.get('library_mb', 0):.0f} MB, full-text index {b.get('fts_index_mb', 0):.1f} MB"
              f"{' [cached]' if b['cached'] else ''}; mean hits lexical {r['hits']['lexical']:.1f}, "
              f"vector {r['hits']['vector']:.1f}")
    names = {"lexical": "lexical (FTS)", "vector": "vector", "fusion": "RRF fusion", "search": "Retriever.search*"}
    head = "".join(f"{r['size'] + ' p50':>11}{r['size'] + ' p95':>11}" for r in results)
    ratio_head = f"{results[-1]['size']}/{r0['size']} p50" if len(results) > 1 else ""
    print(f"{'stage':<26}{head}{ratio_head:>16}")
    for key, label in names.items():
        cells = "".join(f"{r['stages'][key]['p50']:>11.3f}{r['stages'][key]['p95']:>11.3f}" for r in results)
        ratio = (f"{results[-1]['stages'][key]['p50'] / r0['stages'][key]['p50']:>16.2f}"
                 if len(results) > 1 else "")
        print(f"{label:<26}{cells}{ratio}")
    parts = "".join(f"{sum(r['stages'][k]['p50'] for k in ('lexical', 'vector', 'fusion')):>11.3f}{'':>11}"
                    for r in results)
    print(f"{'  sum of the parts (p50)':<26}{parts}")
    print("  * the Retriever's embedder is a stub returning a fixed vector: store and fusion time only, no model")


def print_ask(r: dict[str, Any]) -> None:
    m, b = r["median"], r["build"]
    budget = (f"time budget {r['answer_seconds']:g} s: {m['reranked']:.0f} of {r['candidates']} candidates reranked "
              f"as passages, {m['sources']:.0f} passages read" if r.get("answer_seconds")
              else f"no budget: {r['candidates']} candidates reranked whole, {m['sources']:.0f} chunks read whole")
    print(f"\nAsk, end to end (random weights, real dims, {r['threads']} llama.cpp threads): {EMBEDDER}, "
          f"{RERANKER}, {LLM}; {budget}; greedy, 16 tokens; median of {len(r['runs'])} "
          f"questions after a warm-up ({r['warm_up_ms'] / 1000:.1f} s, model loading included)")
    print(f"  library: {b['chunks']} chunks of <= {r['chunk_tokens']} tokens in {b.get('files', '?')} Markdown "
          f"files, indexed (phase 1 + 2) in {b['add_s']:.0f} s{' [cached]' if b['cached'] else ''}")
    if r.get("budget"):
        plan = r["budget"]
        print(f"  the plan: estimate {plan['estimate_s']}; " + "; ".join(plan["reasons"]))
    total = m["ttft_total_ms"]
    rows = [("lexical search", "lexical_ms"), ("query embedding", "embed_ms"), ("vector search", "vector_ms"),
            ("RRF fusion", "fusion_ms"), ("= retrieval", "retrieval_ms"),
            (f"rerank ({m['reranked']:.0f} candidates)", "rerank_ms"),
            (f"LLM first token ({m['prompt_tokens']:.0f} tok, {m['sources']:.0f} src)", "llm_ttft_ms"),
            ("= time to first token", "ttft_total_ms"), ("wall: call -> first token", "wall_first_token_ms"),
            ("wall: whole ask", "wall_total_ms")]
    print(f"{'stage':<40}{'median ms':>11}{'of TTFT':>9}")
    for label, key in rows:
        if key in m:
            print(f"{label:<40}{m[key]:>11.1f}{m[key] / total:>9.1%}")
    print(f"{'LLM decode tokens/s':<40}{m['tokens_per_s']:>11.2f}   ({m['generated_tokens']:.0f} tokens generated)")
    print(f"{'LLM prompt tokens/s':<40}{m['prompt_tokens'] / m['llm_ttft_ms'] * 1000:>11.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=",".join(DEFAULT_TASKS))
    ap.add_argument("--queries", type=int, default=50, help="retrieval questions")
    ap.add_argument("--rounds", type=int, default=2, help="times each retrieval question runs (shuffled)")
    ap.add_argument("--questions", type=int, default=5, help="ask questions after the warm-up one")
    ap.add_argument("--candidates", type=int, help="retrieval: results a list (default 20); ask: the most "
                    "reranked (default: the app's, 50)")
    ap.add_argument("--top-k", type=int, help="most sources given to the LLM (default: the app's, 8)")
    ap.add_argument("--answer-seconds", type=float, help="the ask's time budget (default: the app's, 8)")
    ap.add_argument("--ask-chunks", type=int, default=120, help="about this many chunks in the ask library")
    ap.add_argument("--ask-chunk-tokens", type=int, default=256, help="chunk size of the ask library")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads of the ask's models")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        if args.worker == "followup":
            from followup import followup_worker

            service, build = ask_service(args.candidates, args.top_k, args.ask_chunks, args.ask_chunk_tokens,
                                         args.threads, args.answer_seconds)
            result = {**followup_worker(service, questions(args.questions + 1, SEED + 2)), "build": build}
        elif args.worker == "ask":
            result = ask_worker(args.questions, args.candidates, args.top_k, args.ask_chunks, args.ask_chunk_tokens,
                                args.threads, args.answer_seconds)
        elif args.worker.startswith("ask:"):  # the budget off: N candidates reranked whole, top_k read whole
            result = ask_worker(args.questions, int(args.worker[4:]), args.top_k, args.ask_chunks,
                                args.ask_chunk_tokens, args.threads, 0.0)
        else:
            result = retrieval_worker(args.worker.split(":")[1], args.queries, args.rounds, args.candidates or 20)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    tasks = args.tasks.split(",")
    for task in tasks:
        if (task not in ("ask", "followup") and not (task.startswith("ask:") and task[4:].isdigit())
                and (not task.startswith("retrieval:") or task[10:] not in SIZES)):
            raise SystemExit(f"unknown task {task!r}; choose from {', '.join(DEFAULT_TASKS)}, ask:N, followup")
    if any(t.startswith("ask") or t == "followup" for t in tasks):
        ensure_models()
    argv = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
            if k not in ("tasks", "json", "worker") and v is not None]
    results = {}
    load = os.getloadavg()[0]
    for task in tasks:
        print(f"  {task} ...", file=sys.stderr, flush=True)
        results[task] = measure(task, argv)
    results["load_average"] = [load, os.getloadavg()[0]]
    if args.json:
        print(json.dumps(results, indent=1, ensure_ascii=False))
        return 0
    print(f"\nQuery benchmark, {os.cpu_count()} cores; 1-minute load average {load:.1f} at the start, "
          f"{results['load_average'][1]:.1f} at the end (other processes share the machine)")
    for task in tasks:
        p = results[task]["process"]
        print(f"  {task}: {p['wall_s']:.0f} s, {p['cores_busy']:.2f} cores busy on average, "
              f"peak RSS {p['peak_rss_mb']:.0f} MB")
    retrieval = [r for t, r in results.items() if t.startswith("retrieval:")]
    if retrieval:
        print_retrieval(retrieval)
    for task in tasks:
        if task == "ask" or task.startswith("ask:"):
            print_ask(results[task])
    if "followup" in results:
        from followup import print_followup

        print_followup(results["followup"], LLM)
    return 0


if __name__ == "__main__":
    sys.exit(main())
