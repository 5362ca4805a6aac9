#!/usr/bin/env python3
"""Benchmark the time budget's two bets on the Japanese development set (../shared/ja-retrieval-dev).

    .venv/bin/python scripts/bench/budget.py [--tasks gold,passages] [--questions 150] [--json]

- gold: the JSQuAD paragraphs as a library (one file each, chunked and indexed by Ippon as a
  user's files are), each natural question searched lexically with the app's defaults (50
  candidates, no reranking): the share of questions whose gold paragraph is among the first N
  fused candidates, where N is how many the budget reranks (app/core/budget.py) at the
  measured real-dims speeds (`--rerank-tps`, `--llm-tps`; defaults: Reranker-0.6B q8_0 and
  Qwen3-1.7B q4_k_m on 2 cores of the test machines, or the speeds the ask benchmark measured
  when its speeds.json exists), for answer budgets of 4, 8 and 20 s. Target: >= 0.98 at 8 s.
- passages: what reading a passage (at most rerank_passage_tokens = 96 tokens of whole
  sentences around the question's words) instead of the whole chunk does to the reranker:
  over the top 10 lexical candidates of each question, the Spearman correlation and the top-1
  agreement of the two scores, with the suite's tiny test reranker; and with the real-dims
  Reranker-0.6B q8_0 (random weights: agreement is not meaningful there, its cost is) the
  tokens read and the time, whole against passages, on --cost-questions questions.

Read from ../shared in place (never copied into the project). Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "ja-retrieval-dev" / "jsquad"
CACHE = ROOT / ".cache" / "bench-budget"
REAL_RERANKER = ROOT / ".cache" / "bench-models" / "reranker-0.6b-q8_0.gguf"
ASK_SPEEDS = ROOT / ".cache" / "bench-query"
# Measured on the 2-core test machines (README): prefill tokens/s of the real-dims models.
DEFAULT_RERANK_TPS, DEFAULT_LLM_TPS = 235.0, 120.0
BUDGETS = (4.0, 8.0, 20.0)


def load_dev() -> tuple[dict[str, dict], list[dict]]:
    if not DEV.is_dir():
        raise SystemExit(f"{DEV}: the development set is missing (it lives in shared/, beside the project)")
    passages = {p["id"]: p for p in map(json.loads, (DEV / "passages.jsonl").read_text(encoding="utf-8").splitlines())}
    questions = [json.loads(line) for line in (DEV / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    return passages, questions


def library(passages: dict[str, dict]) -> Any:
    """The paragraphs as files, indexed by Ippon (cached under .cache/bench-budget/)."""
    from app.config import Config
    from app.core.service import IpponService

    docs = CACHE / "docs"
    if not docs.is_dir():
        docs.mkdir(parents=True)
        for pid, p in passages.items():
            (docs / f"{pid}.txt").write_text(f"{p['title']}\n{p['text']}", encoding="utf-8")
    service = IpponService(Config(data_dir=CACHE / "data", models_dir=CACHE / "models"))
    service.add([docs])
    return service


def measured_speeds(args: argparse.Namespace) -> tuple[float, float, str]:
    if args.rerank_tps and args.llm_tps:
        return args.rerank_tps, args.llm_tps, "given"
    for file in ASK_SPEEDS.glob("*/data/speeds.json"):
        speeds = json.loads(file.read_text(encoding="utf-8"))
        rerank = [v["tokens_per_s"] for k, v in speeds.items() if k.startswith("reranker|")]
        llm = [v["tokens_per_s"] for k, v in speeds.items() if k.startswith("chat|")]
        if rerank and llm:
            return rerank[0], llm[0], f"measured by the ask benchmark ({file})"
    return DEFAULT_RERANK_TPS, DEFAULT_LLM_TPS, "the README's figures for 2 cores"


def gold_task(args: argparse.Namespace) -> dict[str, Any]:
    from app.config import Config
    from app.core.budget import BudgetInputs, plan_budget

    passages, questions = load_dev()
    service = library(passages)
    settings = service.retrieval_settings(mode="lexical", rerank=False, top_k=50)
    ranks, times = [], []
    for q in questions[:args.questions]:
        start = time.perf_counter()
        found = service.search(q["question"], settings)
        times.append(time.perf_counter() - start)
        ids = [Path(r.hit.path).stem for r in found.results]
        ranks.append(next((i + 1 for i, pid in enumerate(ids) if pid in q["positive_ids"]), None))
    rerank_tps, llm_tps, source = measured_speeds(args)
    defaults = Config(data_dir=CACHE, models_dir=CACHE)
    plans = {}
    for seconds in BUDGETS:
        plan = plan_budget(BudgetInputs(target_s=seconds, top_k=defaults.top_k, candidates=defaults.candidates,
                                        rerank_passage_tokens=defaults.rerank_passage_tokens,
                                        source_passage_tokens=defaults.source_passage_tokens,
                                        llm_tokens_per_s=llm_tps, rerank_tokens_per_s=rerank_tps,
                                        spent_s=statistics.median(times)))
        inside = sum(1 for r in ranks if r is not None and r <= plan.rerank) / len(ranks)
        plans[seconds] = {"rerank": plan.rerank, "sources": plan.sources, "gold_inside": inside,
                          "estimate_s": plan.estimate_s}
    recall = {k: sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in (1, 3, 5, 10, 20, 50)}
    return {"questions": len(ranks), "speeds": {"rerank_tps": rerank_tps, "llm_tps": llm_tps, "source": source},
            "lexical_ms_p50": statistics.median(times) * 1000, "recall": recall, "budgets": plans,
            "missing": sum(1 for r in ranks if r is None)}


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    if ra.std() == 0 or rb.std() == 0:
        return 1.0
    return float(np.corrcoef(ra, rb)[0, 1])


def passages_task(args: argparse.Namespace) -> dict[str, Any]:
    from app.config import Config
    from app.core.passages import focus_passage
    from converters import convert
    from engines import load_reranker
    from engines.qwen3 import estimate_tokens
    from tests.conftest import cached_test_models

    passages, questions = load_dev()
    service = library(passages)
    cap = Config(data_dir=CACHE, models_dir=CACHE).rerank_passage_tokens
    settings = service.retrieval_settings(mode="lexical", rerank=False, top_k=10)
    work = []
    for q in questions[:args.questions]:
        texts = [r.hit.text for r in service.search(q["question"], settings).results]
        if len(texts) >= 2:
            cut = [focus_passage(t, q["question"], max_tokens=cap, count_tokens=estimate_tokens).text for t in texts]
            work.append((q["question"], texts, cut))
    tiny_file = CACHE / "tiny-reranker.gguf"
    if not tiny_file.exists():
        convert(cached_test_models()["reranker"], to="gguf", quant="f16", out=tiny_file)
    out: dict[str, Any] = {"cap_tokens": cap, "questions": len(work)}
    tokens_whole = sum(sum(estimate_tokens(t)) for _, t, _ in work)
    tokens_cut = sum(sum(estimate_tokens(c)) for _, _, c in work)
    out["tokens_read_ratio"] = tokens_cut / tokens_whole
    tiny = load_reranker(tiny_file, n_threads=2)
    rhos, same_top = [], 0
    for question, texts, cut in work:
        whole, part = tiny.score(question, texts), tiny.score(question, cut)
        rhos.append(spearman(whole, part))
        same_top += int(np.argmax(whole) == np.argmax(part))
    tiny.close()
    out["tiny"] = {"spearman_median": statistics.median(rhos), "spearman_mean": statistics.fmean(rhos),
                   "top1_agreement": same_top / len(work)}
    if REAL_RERANKER.exists():
        real = load_reranker(REAL_RERANKER, n_threads=2)
        subset = work[:args.cost_questions]
        real.score(subset[0][0], subset[0][2][:1])  # warm-up
        costs = {}
        for name, pick in (("whole", 1), ("passages", 2)):
            start = time.perf_counter()
            for item in subset:
                real.score(item[0], item[pick])
            costs[name] = (time.perf_counter() - start) / sum(len(i[1]) for i in subset)
        real.close()
        out["real_dims"] = {"questions": len(subset), "s_per_candidate_whole": costs["whole"],
                            "s_per_candidate_passages": costs["passages"],
                            "speedup": costs["whole"] / costs["passages"]}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default="gold,passages")
    ap.add_argument("--questions", type=int, default=150)
    ap.add_argument("--cost-questions", type=int, default=10, help="questions timed with the real-dims reranker")
    ap.add_argument("--rerank-tps", type=float, help="the reranker's prefill tokens/s (default: measured)")
    ap.add_argument("--llm-tps", type=float, help="the LLM's prefill tokens/s (default: measured)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = {}
    for task in args.tasks.split(","):
        results[task] = {"gold": gold_task, "passages": passages_task}[task](args)
    if args.json:
        print(json.dumps(results, indent=1, ensure_ascii=False))
        return 0
    if "gold" in results:
        g = results["gold"]
        s = g["speeds"]
        print(f"\nGold paragraph inside the reranked set ({g['questions']} JSQuAD questions, lexical, 50 candidates; "
              f"speeds: reranker {s['rerank_tps']:.0f} tok/s, LLM {s['llm_tps']:.0f} tok/s — {s['source']})")
        print("  lexical recall@k: " + ", ".join(f"@{k} {v:.3f}" for k, v in g["recall"].items())
              + f"; no hit in 50: {g['missing']}; lexical p50 {g['lexical_ms_p50']:.1f} ms")
        print(f"  {'budget':>8}{'reranked':>10}{'sources':>9}{'gold inside':>13}{'estimate first token':>23}")
        for seconds, p in g["budgets"].items():
            print(f"  {seconds:>7g}s{p['rerank']:>10}{p['sources']:>9}{p['gold_inside']:>13.3f}"
                  f"{p['estimate_s']['first_token_s']:>21.1f} s")
    if "passages" in results:
        p = results["passages"]
        print(f"\nPassages of <= {p['cap_tokens']} tokens instead of whole chunks ({p['questions']} questions, top 10 "
              f"lexical candidates each): the reranker reads {p['tokens_read_ratio']:.2f}x the tokens")
        t = p["tiny"]
        print(f"  tiny test reranker: Spearman median {t['spearman_median']:.3f} (mean {t['spearman_mean']:.3f}), "
              f"top-1 agreement {t['top1_agreement']:.3f}")
        if "real_dims" in p:
            r = p["real_dims"]
            print(f"  real-dims Reranker-0.6B q8_0: {r['s_per_candidate_whole']:.2f} s per candidate whole, "
                  f"{r['s_per_candidate_passages']:.2f} s as passages: {r['speedup']:.2f}x faster "
                  f"({r['questions']} questions)")
        else:
            print(f"  real-dims reranker not built yet ({REAL_RERANKER}): run scripts/bench/query.py --tasks ask first")
    return 0


if __name__ == "__main__":
    sys.exit(main())
