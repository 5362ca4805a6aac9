#!/usr/bin/env python3
"""Benchmark Ippon's engines against the libraries they wrap, on random-weight checkpoints with real Qwen3 dims.

    .venv/bin/python scripts/bench/engines.py [--tasks llamacpp:0.6b,llamacpp:1.7b,mlx:0.6b,mlx:1.7b,embed,rerank]
                                              [--repeats 3] [--embed-chunks 8] [--json]

Chat: prompt and decode tokens/s through Ippon's ChatModel beside the same library called
directly with the same settings (greedy, the same prompt ids, the same number of generated
tokens, which must be the same token ids). Embedding: Qwen3-Embedding-0.6B q8_0 through
Ippon's llama.cpp embedder beside transformers fp32 on the same checkpoint, 256-token chunks
(end-of-text included) at batch 1, 8 and 32, with the cosine of their vectors as a sanity
column. Reranking: Qwen3-Reranker-0.6B q8_0 scoring 16 such chunks with the prompt and query
decoded once per batch (what Ippon does) beside once per document, with the largest
difference in P(yes). Targets (issue "Engines"): chat ratio engine/direct >= 0.97 for prompt
and decode; the embedding and reranking ratios are printed.

Each configuration runs in its own process: a warm-up of both paths, then `--repeats` runs
interleaved (Ippon, direct, Ippon, direct, ...) so load from other processes hits both alike;
the figures are medians. Load only ever slows a run, so on a busy machine the ratio of the
best runs (also printed) is the steadier one; raise --repeats there. Missing checkpoints are
built (make_test_models.py, ippon convert) and reused afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / ".cache" / "bench-models"
THREADS, N_CTX, N_BATCH = 2, 2048, 512
RATIO_TARGET = 0.97


class ChatTask(NamedTuple):
    backend: str
    source: str  # the Hugging Face checkpoint (real dims, random weights)
    model: str  # the converted file or folder
    prompt_tokens: int
    decode_tokens: int


# MLX on a Linux CPU is slow with 4-bit weights (3-4 s a token for 0.6B here, prompt or decode
# alike): its prompt and decode are kept short so a run takes a minute or two.
CHAT_TASKS = {
    "llamacpp:0.6b": ChatTask("llamacpp", "qwen3-0.6b", "qwen3-0.6b-q4_k_m.gguf", 512, 128),
    "llamacpp:1.7b": ChatTask("llamacpp", "qwen3-1.7b", "qwen3-1.7b-q4_k_m.gguf", 512, 128),
    "mlx:0.6b": ChatTask("mlx", "qwen3-0.6b", "qwen3-0.6b-4bit-mlx", 16, 8),  # 12 of the 16 are the template's
    "mlx:1.7b": ChatTask("mlx", "qwen3-1.7b", "qwen3-1.7b-4bit-mlx", 16, 4),
}
EMBED_SOURCE, EMBED_MODEL = "embedding-0.6b", "embedding-0.6b-q8_0.gguf"
EMBED_BATCHES, CHUNK_TOKENS = (1, 8, 32), 256
RERANK_SOURCE, RERANK_MODEL, RERANK_QUERY = "reranker-0.6b", "reranker-0.6b-q8_0.gguf", "富士山の標高は何メートルですか？"
DEFAULT_TASKS = (*CHAT_TASKS, "embed", "rerank")

SENTENCES = (
    "本製品の電源を入れる前に、付属のケーブルが正しく接続されていることを確認してください。",
    "The controller reads the sensor every 10 ms and keeps the last 4,096 samples in a ring buffer.",
    "設定画面で「詳細」を選ぶと、ネットワークとストレージの項目が表示されます。",
    "If the status LED blinks red twice, the firmware update failed; restart and try again.",
    "検索結果は関連度の高い順に並び、各段落の出典としてファイル名とページ番号が示されます。",
    "Each chunk is embedded once and stored with its source path, page number and content hash.",
    "東京の本社と大阪の工場では、同じ手順書を日本語と英語の両方で管理しています。",
    "Error E-204 means the temperature exceeded 85 °C: check the fan and clean the air filter.",
    "見積書の有効期限は発行日から三十日間です。期限を過ぎた場合は再発行を依頼してください。",
    "Version 2.3 adds a quick-ask window, opened from the menu bar with a global shortcut.",
)


# --- shared helpers ---------------------------------------------------------------------------

def interleaved(paths: dict[str, Callable[[], dict[str, Any]]], repeats: int,
                warm_up: dict[str, Callable[[], Any]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """A warm-up (by default one run of each path), then `repeats` rounds of every path in turn."""
    for run in (paths if warm_up is None else warm_up).values():
        run()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in paths}
    for i in range(repeats):
        for name, run in paths.items():
            runs[name].append(run())
            print(f"    {name} #{i + 1}: " + ", ".join(f"{k} {v:.4g}" for k, v in runs[name][-1].items()
                                                      if isinstance(v, float)), file=sys.stderr, flush=True)
    return runs


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    """The median of every figure, and the best of every rate (load from other processes only slows a run)."""
    keys = [k for k, v in runs[0].items() if isinstance(v, float)]
    return {**{k: statistics.median(r[k] for r in runs) for k in keys},
            **{f"{k}_best": max(r[k] for r in runs) for k in keys if k.endswith(("_tps", "_per_s"))}}


def corpus_ids(tokenizer: Any, seed: int, n_tokens: int) -> list[int]:
    """At least n_tokens tokens of shuffled Japanese and English sentences."""
    rng, ids = random.Random(seed), []
    while len(ids) < n_tokens + 64:
        ids += tokenizer.encode(" ".join(rng.sample(SENTENCES, 4)) + "\n", add_special_tokens=False).ids
    return ids


def fit_text(count: Callable[[str], int], tokenizer: Any, source: list[int], target: int) -> str:
    """The text of a prefix of `source`, grown or cut until count(text) == target."""
    if count("") > target:
        raise SystemExit(f"{target} tokens is less than the fixed part of the text ({count('')} tokens)")
    k, tried = target, set()
    for _ in range(64):
        text = tokenizer.decode(source[:k])
        n = count(text)
        if n == target:
            return text
        tried.add(k)
        k += target - n
        while k in tried:
            k += 1 if n < target else -1
    raise RuntimeError(f"no prefix of the corpus gives exactly {target} tokens")


def hf_tokenizer(source: str) -> Any:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(MODELS / source / "tokenizer.json"))


def timed_stream(tokens: Iterator[int], n: int, n_prompt: int) -> dict[str, Any]:
    """Take n tokens; prompt tokens/s over the time to the first, decode tokens/s over the rest."""
    out: list[int] = []
    start = first = time.perf_counter()
    for token in tokens:
        if not out:
            first = time.perf_counter()
        out.append(token)
        if len(out) == n:
            break
    tokens.close()  # like Ippon's stream, closed before its end time is taken
    end = time.perf_counter()
    return {"prompt_tps": n_prompt / (first - start), "decode_tps": (len(out) - 1) / (end - first),
            "ttft_s": first - start, "tokens": out}


# --- chat -----------------------------------------------------------------------------------

def direct_llamacpp(path: Path) -> Callable[[list[int], Any, int], Iterator[int]]:
    import llama_cpp

    # The parameters Ippon's open_llama passes for a chat model (engines/llamacpp_backend/loading.py).
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=N_CTX, n_batch=N_BATCH, n_ubatch=N_BATCH, n_threads=THREADS,
                          n_threads_batch=THREADS, flash_attn=True, verbose=False)

    def stream(ids: list[int], s: Any, n: int) -> Iterator[int]:
        llm.reset()  # no prompt cache: every run evaluates the whole prompt
        return llm.generate(ids, temp=s.temperature, top_k=s.top_k, top_p=s.top_p, min_p=s.min_p,
                            presence_penalty=s.presence_penalty, repeat_penalty=1.0)

    return stream


def direct_mlx(path: Path) -> Callable[[list[int], Any, int], Iterator[int]]:
    import mlx.core as mx
    from mlx_lm.generate import generate_step
    from mlx_lm.sample_utils import make_sampler
    from mlx_lm.utils import load_model

    model, _ = load_model(path)

    def stream(ids: list[int], s: Any, n: int) -> Iterator[int]:
        steps = generate_step(mx.array(ids), model, max_tokens=n, sampler=make_sampler(
            temp=s.temperature, top_p=s.top_p, min_p=s.min_p, top_k=s.top_k))
        try:
            for token, _ in steps:
                yield int(token)
        finally:
            steps.close()

    return stream


def chat_worker(task: str, repeats: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import engines
    from engines import qwen3

    spec = CHAT_TASKS[task]
    path = MODELS / spec.model
    options = {"n_threads": THREADS} if spec.backend == "llamacpp" else {}
    model = engines.load_chat_model(path, backend=spec.backend, n_ctx=N_CTX, **options)
    direct = (direct_llamacpp if spec.backend == "llamacpp" else direct_mlx)(path)
    settings = engines.ChatSettings(temperature=0, max_tokens=spec.decode_tokens)
    sampling = qwen3.resolve_sampling(settings)
    tokenizer = hf_tokenizer(spec.source)

    def settle() -> None:
        if spec.backend == "mlx":  # generate_step runs one step ahead; let it finish outside the timings
            import mlx.core as mx
            mx.synchronize()

    def ippon_run(messages: list[Any]) -> dict[str, Any]:
        # Both backends keep the previous prompt's keys and values and reuse a common prefix
        # (llama-cpp-python's generate, Ippon's MLX _prefill_tail): drop them so every run
        # evaluates the whole prompt, as the direct path does.
        if spec.backend == "llamacpp":
            model._llama.reset()  # noqa: SLF001
        else:
            model._cache, model._cached = None, []  # noqa: SLF001
        done = [e for e in model.chat(messages, settings=settings) if isinstance(e, engines.ChatDone)][-1]
        settle()
        st = done.stats
        return {"prompt_tps": st.prompt_tokens_per_s, "decode_tps": st.tokens_per_s,
                "ttft_s": st.time_to_first_token_s, "tokens": list(done.token_ids), "finish": st.finish_reason}

    # Random weights may end the reply early (<|im_end|>): try other prompts until one runs the full length.
    for variant in range(8):
        def count(text: str) -> int:
            return len(model.prompt_ids([engines.Message("user", text)], thinking=False))

        source = corpus_ids(tokenizer, seed=variant, n_tokens=spec.prompt_tokens)
        messages = [engines.Message("user", fit_text(count, tokenizer, source, spec.prompt_tokens))]
        probe = ippon_run(messages)
        if probe["finish"] == "length" and len(probe["tokens"]) == spec.decode_tokens:
            break
        print(f"    prompt variant {variant} stopped after {len(probe['tokens'])} tokens", file=sys.stderr)
    else:
        raise SystemExit(f"{task}: every prompt variant stopped before {spec.decode_tokens} tokens")
    ids = model.prompt_ids(messages, thinking=False)

    def direct_run() -> dict[str, Any]:
        result = timed_stream(direct(ids, sampling, spec.decode_tokens), spec.decode_tokens, len(ids))
        settle()
        return result

    # The accepted probe was Ippon's warm-up.
    runs = interleaved({"ippon": lambda: ippon_run(messages), "direct": direct_run}, repeats,
                       warm_up={"direct": direct_run})
    for run in runs["ippon"] + runs["direct"]:
        if run["tokens"] != probe["tokens"]:
            raise SystemExit(f"{task}: the two paths generated different tokens")
    return {"kind": "chat", "prompt_tokens": len(ids), "decode_tokens": spec.decode_tokens, "variant": variant,
            "ippon": summary(runs["ippon"]), "direct": summary(runs["direct"]),
            "runs": {k: [{n: v for n, v in r.items() if n != "tokens"} for r in rs] for k, rs in runs.items()}}


# --- embedding ------------------------------------------------------------------------------

def embed_worker(batch: int, repeats: int, n_chunks: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    import engines

    hf_logging.disable_progress_bar()
    torch.set_num_threads(THREADS)
    embedder = engines.load_embedder(MODELS / EMBED_MODEL, backend="llamacpp", n_threads=THREADS, batch_size=batch)
    reference = AutoModel.from_pretrained(MODELS / EMBED_SOURCE, dtype=torch.float32).eval()
    tokenizer = hf_tokenizer(EMBED_SOURCE)

    def count(text: str) -> int:
        return len(embedder.token_ids(text))  # end-of-text included

    texts = [fit_text(count, tokenizer, corpus_ids(tokenizer, seed=1000 + i, n_tokens=CHUNK_TOKENS), CHUNK_TOKENS)
             for i in range(n_chunks)]
    sequences = [embedder.token_ids(t) for t in texts]  # the same ids for transformers

    def reference_batch(seqs: list[list[int]]) -> np.ndarray:
        width = max(len(s) for s in seqs)  # right padding; the last real token is pooled
        ids = torch.tensor([s + [embedder.eos_id] * (width - len(s)) for s in seqs])
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
        with torch.inference_mode():
            hidden = reference(input_ids=ids, attention_mask=mask).last_hidden_state
        rows = hidden[torch.arange(len(seqs)), mask.sum(1) - 1].numpy()
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    def timed(embed_batch: Callable[[int, int], np.ndarray]) -> dict[str, Any]:
        start = time.perf_counter()
        vectors = np.concatenate([embed_batch(i, min(i + batch, n_chunks)) for i in range(0, n_chunks, batch)])
        seconds = time.perf_counter() - start
        return {"chunks_per_s": n_chunks / seconds, "tokens_per_s": n_chunks * CHUNK_TOKENS / seconds,
                "vectors": vectors}

    paths = {"ippon": lambda: timed(lambda a, b: embedder.embed(texts[a:b])),
             "transformers": lambda: timed(lambda a, b: reference_batch(sequences[a:b]))}
    few = min(batch, 2)  # a short warm-up: both libraries are loaded and their kernels ready
    runs = interleaved(paths, repeats, warm_up={"ippon": lambda: embedder.embed(texts[:few]),
                                                "transformers": lambda: reference_batch(sequences[:few])})
    cosines = np.sum(runs["ippon"][0]["vectors"] * runs["transformers"][0]["vectors"], axis=1)
    return {"kind": "embed", "batch": batch, "chunks": n_chunks, "ippon": summary(runs["ippon"]),
            "transformers": summary(runs["transformers"]), "cos_min": float(cosines.min()),
            "cos_mean": float(cosines.mean()),
            "runs": {k: [{n: v for n, v in r.items() if n != "vectors"} for r in rs] for k, rs in runs.items()}}


# --- reranking ------------------------------------------------------------------------------

def rerank_worker(repeats: int, n_docs: int) -> dict[str, Any]:
    """Qwen3-Reranker-0.6B q8_0 through Ippon: the prompt and query decoded once per batch and
    kept in the cache (what score() does), beside every document decoding them again."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import engines

    reranker = engines.load_reranker(MODELS / RERANK_MODEL, backend="llamacpp", n_threads=THREADS)
    tokenizer = hf_tokenizer(RERANK_SOURCE)

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))

    docs = [fit_text(count, tokenizer, corpus_ids(tokenizer, seed=2000 + i, n_tokens=CHUNK_TOKENS), CHUNK_TOKENS)
            for i in range(n_docs)]
    tokens = sum(len(reranker.token_ids(RERANK_QUERY, d)) for d in docs)
    shared_score = type(reranker)._score_batch

    def timed(shared: bool) -> dict[str, Any]:
        reranker._score_batch = (  # type: ignore[method-assign]
            (lambda batch, *, shared: shared_score(reranker, batch, shared=shared)) if shared
            else (lambda batch, *, shared: shared_score(reranker, batch, shared=0)))
        start = time.perf_counter()
        scores = reranker.score(RERANK_QUERY, docs)
        seconds = time.perf_counter() - start
        return {"docs_per_s": n_docs / seconds, "tokens_per_s": tokens / seconds, "scores": scores}

    runs = interleaved({"shared": lambda: timed(True), "each": lambda: timed(False)}, repeats,
                       warm_up={"shared": lambda: reranker.score(RERANK_QUERY, docs[:2])})
    delta = np.abs(runs["shared"][0]["scores"] - runs["each"][0]["scores"]).max()
    return {"kind": "rerank", "docs": n_docs, "prompt_tokens": tokens / n_docs, "shared": summary(runs["shared"]),
            "each": summary(runs["each"]), "max_dp": float(delta),
            "runs": {k: [{n: v for n, v in r.items() if n != "scores"} for r in rs] for k, rs in runs.items()}}


# --- driver ---------------------------------------------------------------------------------

def ensure_model(source: str, target: str, fmt: str, quant: str) -> None:
    """Build the real-dims checkpoint and its conversion if missing; existing files are reused."""
    if (MODELS / target).exists():
        return
    if not (MODELS / source / "config.json").exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_test_models.py"), str(MODELS),
                        "--real-dims", source], check=True)
    ippon = Path(sys.executable).with_name("ippon")
    subprocess.run([str(ippon), "convert", str(MODELS / source), "--to", fmt, "--quant", quant,
                    "--out", str(MODELS / target)], check=True)


def expand(tasks: str) -> list[str]:
    out = []
    for task in tasks.split(","):
        if task == "embed":
            out += [f"embed:{b}" for b in EMBED_BATCHES]
        elif task in CHAT_TASKS or task == "rerank" or (task.startswith("embed:") and task[6:].isdigit()):
            out.append(task)
        else:
            raise SystemExit(f"unknown task {task!r}; choose from {', '.join(DEFAULT_TASKS)} or embed:N")
    return out


def measure(task: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", task, "--repeats", str(args.repeats),
           "--embed-chunks", str(args.embed_chunks)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        return {"kind": "failed", "exit_code": proc.returncode}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def print_table(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    def ratios(a: dict[str, float], b: dict[str, float], key: str) -> tuple[float, float]:
        return ratio(a[key], b[key]), ratio(a[f"{key}_best"], b[f"{key}_best"])

    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nEngine benchmark (random weights, real Qwen3 dims), {os.cpu_count()} cores, {THREADS} threads, "
          f"load average {load}; median (and best) of {args.repeats} interleaved runs after a warm-up")
    chat = {t: r for t, r in results.items() if r["kind"] == "chat"}
    if chat:
        print(f"\nChat, greedy, n_ctx {N_CTX}: tokens/s through Ippon and through the library directly; "
              f"ratio Ippon/direct of the medians (target >= {RATIO_TARGET}), and of the best runs")
        print(f"{'task':<14}{'prompt':>7}{'gen':>5}{'pp Ippon':>10}{'pp direct':>10}{'ratio':>7}{'best':>7}"
              f"{'tg Ippon':>10}{'tg direct':>10}{'ratio':>7}{'best':>7}  verdict")
        for task, r in chat.items():
            ip, di = r["ippon"], r["direct"]
            (pr, pb), (dr, db) = ratios(ip, di, "prompt_tps"), ratios(ip, di, "decode_tps")
            print(f"{task:<14}{r['prompt_tokens']:>7}{r['decode_tokens']:>5}{ip['prompt_tps']:>10.2f}"
                  f"{di['prompt_tps']:>10.2f}{pr:>7.3f}{pb:>7.3f}{ip['decode_tps']:>10.2f}{di['decode_tps']:>10.2f}"
                  f"{dr:>7.3f}{db:>7.3f}  {'PASS' if min(pr, dr) >= RATIO_TARGET else 'MISS'}")
    embed = [r for r in results.values() if r["kind"] == "embed"]
    if embed:
        print(f"\nEmbedding, {CHUNK_TOKENS}-token chunks: Ippon ({EMBED_MODEL}, llama.cpp) and transformers fp32 "
              f"({EMBED_SOURCE}); ratio Ippon/transformers; cosine of their vectors")
        print(f"{'batch':>5}{'chunks':>7}{'Ippon ch/s':>12}{'Ippon tok/s':>12}{'tf ch/s':>9}{'tf tok/s':>10}"
              f"{'ratio':>7}{'best':>7}{'cos min':>9}{'cos mean':>9}")
        for r in embed:
            ip, tf = r["ippon"], r["transformers"]
            med, best = ratios(ip, tf, "tokens_per_s")
            print(f"{r['batch']:>5}{r['chunks']:>7}{ip['chunks_per_s']:>12.3f}{ip['tokens_per_s']:>12.1f}"
                  f"{tf['chunks_per_s']:>9.3f}{tf['tokens_per_s']:>10.1f}{med:>7.2f}{best:>7.2f}"
                  f"{r['cos_min']:>9.4f}{r['cos_mean']:>9.4f}")

    rerank = [r for r in results.values() if r["kind"] == "rerank"]
    for r in rerank:
        sh, each = r["shared"], r["each"]
        med, best = ratios(sh, each, "docs_per_s")
        print(f"\nReranking, {RERANK_MODEL} (llama.cpp), {r['docs']} documents of {CHUNK_TOKENS} tokens "
              f"({r['prompt_tokens']:.0f} prompt tokens each): prompt and query decoded once per batch, against "
              f"once per document")
        print(f"{'docs/s shared':>14}{'docs/s each':>13}{'ratio':>7}{'best':>7}{'max |dP|':>10}")
        print(f"{sh['docs_per_s']:>14.3f}{each['docs_per_s']:>13.3f}{med:>7.2f}{best:>7.2f}{r['max_dp']:>10.5f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=",".join(DEFAULT_TASKS), help="comma-separated; embed = embed:1,8,32")
    ap.add_argument("--repeats", type=int, default=3, help="measured runs per path (after one warm-up)")
    ap.add_argument("--embed-chunks", type=int, default=8, help="chunks per embedding run (at least the batch)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        if args.worker == "rerank":
            result = rerank_worker(args.repeats, max(args.embed_chunks, 16))
        elif args.worker.startswith("embed:"):
            batch = int(args.worker[6:])
            result = embed_worker(batch, args.repeats, max(args.embed_chunks, batch))
        else:
            result = chat_worker(args.worker, args.repeats)
        print(json.dumps(result))
        return 0

    tasks = expand(args.tasks)
    for task in tasks:
        if task in CHAT_TASKS:
            spec = CHAT_TASKS[task]
            ensure_model(spec.source, spec.model, "gguf" if spec.backend == "llamacpp" else "mlx",
                         "q4_k_m" if spec.backend == "llamacpp" else "4bit")
        elif task == "rerank":
            ensure_model(RERANK_SOURCE, RERANK_MODEL, "gguf", "q8_0")
        else:
            ensure_model(EMBED_SOURCE, EMBED_MODEL, "gguf", "q8_0")
    results = {}
    for task in tasks:
        print(f"  {task} ...", file=sys.stderr, flush=True)
        results[task] = measure(task, args)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print_table(results, args)
    failed = [task for task, r in results.items() if r["kind"] == "failed"]
    if failed:
        print(f"failed: {', '.join(failed)} (see the messages above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
