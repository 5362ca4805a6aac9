#!/usr/bin/env python3
"""Benchmark the library's ingest on a generated corpus of Japanese documents in every format.

    .venv/bin/python scripts/bench/ingest.py [--tasks phase1,rerun,tiny,real] [--files 2000]
                                             [--sample-files 8] [--repeats 2] [--threads 2] [--json]

The corpus (jacorpus.py: 2,000 files, ~10 MB of UTF-8 text, txt/md/html/csv/docx/pptx/pdf,
some in Shift_JIS and EUC-JP) is generated once and cached under .cache/bench-corpus/.

- phase1: `IpponService.add([corpus], vectors=False)` in a fresh data dir (parse, chunk,
  full-text index): files/s, chunks/s, peak RSS, failures; then a keyword search for the
  marker word of 50 files checks that each was read and decoded right.
- rerun: the same call again over the unchanged corpus. Target: < 5% of the phase-1 time
  (a miss is profiled with cProfile and the top of the profile printed).
- tiny: phase 2 (`library.embed_pending()`) over a copy of the phase-1 database with the
  suite's tiny embedder (GGUF f16): chunks/s.
- real: phase 2 with Qwen3-Embedding-0.6B q8_0 (random weights, real dims) on a sample of the
  corpus (its first --sample-files files, indexed with the model's tokenizer), beside the same
  model's raw llama.cpp prefill of the same token ids, one sequence at a time as the engine
  decodes them, timing only llama_decode. The two are interleaved as finely as possible, since
  other processes make a 2-core machine noisy: each sequence the engine decodes is decoded by
  the raw context too, alternately just before and just after, and that time is taken out of
  Ippon's. After a warm-up, --repeats such paired runs; medians. Target: ratio >= 0.95.

Each task runs in its own process (peak RSS from os.wait4). Times are of the library call
alone: opening the database (lancedb's import) and loading models are excluded, and reported
apart in --json (open_s, load_s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import jacorpus  # noqa: E402

CORPUS_CACHE = ROOT / ".cache" / "bench-corpus"
WORK = ROOT / ".cache" / "bench-ingest"
MODELS = ROOT / ".cache" / "bench-models"
REAL_SOURCE, REAL_MODEL = "embedding-0.6b", "embedding-0.6b-q8_0.gguf"
THREADS = 2
RERUN_TARGET, RATIO_TARGET = 0.05, 0.95
MARKER_CHECKS = 50
DEFAULT_TASKS = ("phase1", "rerun", "tiny", "real")


# --- workers (each in its own process) ------------------------------------------------------

def _service(data: Path, embedder: Path | None = None) -> Any:
    from app.config import Config
    from app.core.service import IpponService

    config = Config(data_dir=data, models_dir=data.parent / "models", embedder=str(embedder) if embedder else None,
                    threads=THREADS)
    return IpponService(config)


def index_worker(corpus: Path, data: Path, profile: bool) -> dict[str, Any]:
    """Phase 1 (or the re-run: the same call over the same data dir)."""
    service = _service(data)
    start = time.perf_counter()
    service.library.store.count_chunks()  # opens the database (lancedb's import is ~1-2 s): timed apart
    open_s = time.perf_counter() - start
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    summary = service.add([corpus], vectors=False)
    seconds = time.perf_counter() - start
    if profiler is not None:
        import pstats
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    errors = [(s.path, s.error) for s in service.sources(errors_only=True)]
    warnings = [(s.path, s.warnings) for s in service.sources() if s.warnings]
    files = json.loads(corpus.with_name(corpus.name + ".json").read_text(encoding="utf-8"))["files"]
    checks = files[::max(1, len(files) // MARKER_CHECKS)][:MARKER_CHECKS]
    missed = [e["path"] for e in checks if not any(
        h.path.endswith(e["path"]) for h in service.search_keywords(e["marker"], limit=1))]
    return {"seconds": seconds, "open_s": open_s, **summary.as_dict(), "failures": summary.failures[:20],
            "errors": errors[:20], "n_errors": len(errors), "warnings": warnings[:20], "n_warnings": len(warnings),
            "stored_chunks": service.library.store.count_chunks(), "marker_checked": len(checks),
            "marker_found": len(checks) - len(missed), "marker_missed": missed[:10]}


class _Timed:
    """An engine whose embed() and llama_decode times are summed. With a `shadow` (a raw llama_cpp.Llama of
    the same model) every sequence is decoded there too, alternately just before and after: paired runs.
    The shadow's time (`hook_s`) is taken out of Ippon's by the caller."""

    def __init__(self, inner: Any) -> None:
        self._inner, self.shadow = inner, None
        self.reset()
        ctx = inner._llama._ctx  # noqa: SLF001 - the engine's llama.cpp context, to time decode alone
        decode = ctx.decode

        def timed_decode(batch: Any) -> Any:
            before = self.shadow is not None and self.sequences % 2 == 0
            if before:
                self._shadow(batch)
            t = time.perf_counter()
            try:
                return decode(batch)
            finally:
                self.decode_s += time.perf_counter() - t
                self.sequences += 1
                if self.shadow is not None and not before:
                    self._shadow(batch)
        ctx.decode = timed_decode

    def reset(self) -> None:
        self.embed_s = self.decode_s = self.raw_s = self.hook_s = 0.0
        self.sequences = self.raw_tokens = 0

    def _shadow(self, batch: Any) -> None:
        import llama_cpp
        import numpy as np
        start = time.perf_counter()
        ids = batch.batch.token[:batch.n_tokens()]
        llm = self.shadow
        llm._batch.reset()  # noqa: SLF001 - as the engine (and Llama.embed) use it
        llm._batch.add_sequence(ids, 0, True)  # noqa: SLF001
        llm._ctx.kv_cache_clear()  # noqa: SLF001
        t = time.perf_counter()
        llm._ctx.decode(llm._batch)  # noqa: SLF001
        self.raw_s += time.perf_counter() - t
        self.raw_tokens += len(ids)
        np.ctypeslib.as_array(llama_cpp.llama_get_embeddings_seq(llm.ctx, 0), shape=(llm.n_embd(),)).copy()
        self.hook_s += time.perf_counter() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def embed(self, texts: Any, **options: Any) -> Any:
        t = time.perf_counter()
        try:
            return self._inner.embed(texts, **options)
        finally:
            self.embed_s += time.perf_counter() - t


def _timed_services(model: Path) -> tuple[Any, dict[tuple[str, str], _Timed]]:
    """A maker of services whose engines are loaded once per process and timed (_Timed)."""
    from app.core.service import IpponService

    engines: dict[tuple[str, str], _Timed] = {}

    class SharedEngines(IpponService):
        def load_engine(self, role: Any, model: Any, **options: Any) -> Any:
            key = (role, str(model))
            if key not in engines:
                engines[key] = _Timed(super().load_engine(role, model, **options))
            return engines[key]

    return lambda data: SharedEngines(_service(data, model).config), engines


def tiny_worker(data: Path, model: Path) -> dict[str, Any]:
    make, engines = _timed_services(model)
    start = time.perf_counter()
    library = make(data).library  # loads the embedder
    load_s = time.perf_counter() - start
    embedder = engines[("embedder", str(model))]
    pending = library.store.count_pending_vectors()
    start = time.perf_counter()
    done = library.embed_pending()
    return {"seconds": time.perf_counter() - start, "load_s": load_s, "chunks": done, "pending": pending,
            "embed_s": embedder.embed_s, "decode_s": embedder.decode_s}


def real_worker(sample: Path, work: Path, model: Path, repeats: int) -> dict[str, Any]:
    import llama_cpp

    make, engines = _timed_services(model)
    pristine = work / "pristine"
    shutil.rmtree(work, ignore_errors=True)
    first = make(pristine)
    start = time.perf_counter()
    library = first.library
    load_s = time.perf_counter() - start
    summary = first.add([sample], vectors=False)  # chunked with the model's own tokenizer
    embedder = engines[("embedder", str(model))]
    texts = [c.search_text for s in library.store.sources() for c in library.store.chunks_of(s.source_id)]
    tokens = sum(len(embedder.token_ids(t)) for t in texts)
    assert tokens == sum(embedder.count_tokens(texts))
    embedder.shadow = llama_cpp.Llama(model_path=str(model), embedding=True, n_ctx=2048, n_batch=2048,
                                      n_ubatch=2048, n_threads=THREADS, n_threads_batch=THREADS, flash_attn=True,
                                      verbose=False)
    embedder.embed(texts[:2])  # warm-up of both paths
    runs = []
    for i in range(repeats):
        data = work / f"run-{i}"
        shutil.copytree(pristine, data)
        lib = make(data).library
        embedder.reset()
        start = time.perf_counter()
        done = lib.embed_pending()
        wall = time.perf_counter() - start
        assert done == len(texts) and embedder.raw_tokens == tokens, (done, len(texts), embedder.raw_tokens)
        seconds = wall - embedder.hook_s
        r = {"seconds": seconds, "tokens_per_s": tokens / seconds, "embed_s": embedder.embed_s - embedder.hook_s,
             "decode_s": embedder.decode_s, "decode_tokens_per_s": tokens / embedder.decode_s,
             "raw_s": embedder.raw_s, "raw_tokens_per_s": tokens / embedder.raw_s, "ratio": embedder.raw_s / seconds}
        runs.append(r)
        shutil.rmtree(data)
        print(f"    real #{i + 1}: Ippon {r['tokens_per_s']:.1f} tok/s (decode alone {r['decode_tokens_per_s']:.1f}), "
              f"raw {r['raw_tokens_per_s']:.1f} tok/s, ratio {r['ratio']:.3f}", file=sys.stderr, flush=True)
    shutil.rmtree(work, ignore_errors=True)
    med = {m: statistics.median(r[m] for r in runs) for m in runs[0]}
    return {"files": summary.added, "chunks": len(texts), "tokens": tokens, "load_s": load_s, "median": med,
            "runs": runs}


# --- driver ---------------------------------------------------------------------------------

def measure(worker: str, *args: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", worker, "--threads", str(THREADS), *args]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    start = time.perf_counter()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{worker} failed")
    figures = json.loads(out.strip().splitlines()[-1])
    figures["process_s"] = time.perf_counter() - start
    figures["peak_rss_mb"] = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)  # KiB on Linux
    return figures


def tiny_embedder() -> Path:
    """The suite's tiny embedder (built as tests/conftest.py's test_models fixture does), as GGUF f16."""
    sys.path.insert(0, str(ROOT))
    from converters import convert
    from tests.conftest import cached_test_models

    folder = cached_test_models()["embedder"].parent
    out = MODELS / f"tiny-embedder-{folder.name}-f16.gguf"
    if not out.exists():
        MODELS.mkdir(parents=True, exist_ok=True)
        convert(folder / "embedder", to="gguf", quant="f16", out=out)
    return out


def real_embedder() -> Path:
    if not (MODELS / REAL_MODEL).exists():
        if not (MODELS / REAL_SOURCE / "config.json").exists():
            subprocess.run([sys.executable, str(ROOT / "scripts" / "make_test_models.py"), str(MODELS),
                            "--real-dims", REAL_SOURCE], check=True)
        subprocess.run([str(Path(sys.executable).with_name("ippon")), "convert", str(MODELS / REAL_SOURCE),
                        "--to", "gguf", "--quant", "q8_0", "--out", str(MODELS / REAL_MODEL)], check=True)
    return MODELS / REAL_MODEL


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_table(res: dict[str, Any], corpus: jacorpus.Corpus, args: argparse.Namespace) -> None:
    m = corpus.manifest
    formats: dict[str, int] = {}
    for f in corpus.files:
        formats[f["format"]] = formats.get(f["format"], 0) + 1
    print(f"\nIngest benchmark, {os.cpu_count()} cores, {THREADS} llama.cpp threads; load average before/after: "
          f"{res['load_before']} / {res['load_after']}")
    print(f"Corpus {corpus.folder.name}: {m['n_files']} files, {m['text_bytes'] / 1e6:.2f} MB of text "
          f"({m['disk_bytes'] / 1e6:.2f} MB on disk): " + ", ".join(f"{k} {v}" for k, v in sorted(formats.items())))
    print(f"\n{'task':<26}{'seconds':>9}{'files/s':>9}{'chunks':>8}{'chunks/s':>10}{'tok/s':>9}{'RSS MB':>8}  notes")
    p1 = res.get("phase1")
    if p1:
        files = p1["added"] + p1["updated"] + p1["unchanged"] + p1["failed"]
        print(f"{'phase 1 (parse+chunk+FTS)':<26}{p1['seconds']:>9.2f}{files / p1['seconds']:>9.1f}{p1['chunks']:>8}"
              f"{p1['chunks'] / p1['seconds']:>10.1f}{'':>9}{p1['peak_rss_mb']:>8.0f}  failed {p1['failed']}, "
              f"warnings {p1['n_warnings']}, marker search {p1['marker_found']}/{p1['marker_checked']}")
    rr = res.get("rerun")
    if rr:
        files = rr["added"] + rr["updated"] + rr["unchanged"] + rr["failed"]
        note = f"unchanged {rr['unchanged']}, re-indexed {rr['added'] + rr['updated']}"
        if p1:
            ratio = rr["seconds"] / p1["seconds"]
            note += f"; {ratio:.1%} of phase 1 (target < {RERUN_TARGET:.0%}): {verdict(ratio < RERUN_TARGET)}"
        print(f"{'second run (unchanged)':<26}{rr['seconds']:>9.2f}{files / rr['seconds']:>9.1f}{rr['chunks']:>8}"
              f"{'':>10}{'':>9}{rr['peak_rss_mb']:>8.0f}  {note}")
    ti = res.get("tiny")
    if ti:
        print(f"{'phase 2, tiny embedder':<26}{ti['seconds']:>9.2f}{'':>9}{ti['chunks']:>8}"
              f"{ti['chunks'] / ti['seconds']:>10.1f}{'':>9}{ti['peak_rss_mb']:>8.0f}  model load {ti['load_s']:.2f} s; "
              f"llama_decode {ti['decode_s'] / ti['seconds']:.0%} of the time, rest of embed() "
              f"{(ti['embed_s'] - ti['decode_s']) / ti['seconds']:.0%}, library {1 - ti['embed_s'] / ti['seconds']:.0%}")
    re_ = res.get("real")
    if re_:
        med = re_["median"]
        print(f"{'phase 2, 0.6B q8_0 sample':<26}{med['seconds']:>9.2f}{'':>9}{re_['chunks']:>8}"
              f"{re_['chunks'] / med['seconds']:>10.2f}{med['tokens_per_s']:>9.1f}{re_['peak_rss_mb']:>8.0f}"
              f"  {re_['files']} files, {re_['tokens']} tokens; llama_decode {med['decode_s']:.1f} s, "
              f"embed() {med['embed_s']:.1f} s")
        print(f"{'  raw llama.cpp prefill':<26}{med['raw_s']:>9.2f}{'':>9}{re_['chunks']:>8}"
              f"{re_['chunks'] / med['raw_s']:>10.2f}{med['raw_tokens_per_s']:>9.1f}{'':>8}"
              f"  ratio Ippon/raw {med['ratio']:.3f} (target >= {RATIO_TARGET}): "
              f"{verdict(med['ratio'] >= RATIO_TARGET)}")
        ratios = ", ".join(f"{r['ratio']:.3f}" for r in re_["runs"])
        print(f"{'':<26}  median of {len(re_['runs'])} paired runs (ratios {ratios}); Ippon's llama_decode alone "
              f"{med['decode_tokens_per_s']:.1f} tok/s = {med['decode_tokens_per_s'] / med['raw_tokens_per_s']:.3f} "
              f"of raw")
    for name in ("phase1", "rerun"):
        r = res.get(name)
        if r and (r["failures"] or r["errors"] or r["warnings"] or r["marker_missed"]):
            print(f"\n{name}: failures {r['failures']}\n  errors {r['errors']}\n  warnings {r['warnings']}\n"
                  f"  marker searches that missed their file: {r['marker_missed']}")


def main() -> int:
    global THREADS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=",".join(DEFAULT_TASKS), help="comma-separated: " + ", ".join(DEFAULT_TASKS))
    ap.add_argument("--files", type=int, default=2000, help="files in the corpus")
    ap.add_argument("--sample-files", type=int, default=8, help="files of the corpus for the real-dims phase 2")
    ap.add_argument("--repeats", type=int, default=2, help="paired runs of the real-dims phase 2")
    ap.add_argument("--threads", type=int, default=THREADS, help="llama.cpp threads (Config.threads)")
    ap.add_argument("--profile", action="store_true", help="profile the second run even when it passes")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    THREADS = args.threads
    if args.worker:
        sys.path.insert(0, str(ROOT))
        p = args.paths
        if args.worker in ("phase1", "rerun"):
            result = index_worker(p[0], p[1], profile=args.profile)
        elif args.worker == "tiny":
            result = tiny_worker(p[0], p[1])
        else:
            result = real_worker(p[0], p[1], p[2], args.repeats)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    tasks = args.tasks.split(",")
    if unknown := set(tasks) - set(DEFAULT_TASKS):
        raise SystemExit(f"unknown task(s) {', '.join(sorted(unknown))}; choose from {', '.join(DEFAULT_TASKS)}")
    corpus = jacorpus.ensure_corpus(CORPUS_CACHE, args.files)
    work = WORK / corpus.folder.name
    phase1_data = work / "phase1"
    results: dict[str, Any] = {"load_before": " ".join(f"{x:.1f}" for x in os.getloadavg()), "settings": vars(args)}
    if "phase1" in tasks or not (phase1_data / "library").exists() and ({"rerun", "tiny"} & set(tasks)):
        shutil.rmtree(work, ignore_errors=True)
        print("  phase1 ...", file=sys.stderr, flush=True)
        results["phase1"] = measure("phase1", "--paths", str(corpus.folder), str(phase1_data))
    if "rerun" in tasks:
        print("  rerun ...", file=sys.stderr, flush=True)
        results["rerun"] = measure("rerun", *["--profile"] * args.profile, "--paths", str(corpus.folder),
                                   str(phase1_data))
        p1 = results.get("phase1")
        if p1 and results["rerun"]["seconds"] / p1["seconds"] >= RERUN_TARGET and not args.profile:
            print("  rerun missed its target: profiling another unchanged run", file=sys.stderr, flush=True)
            measure("rerun", "--profile", "--paths", str(corpus.folder), str(phase1_data))
    if "tiny" in tasks:
        model = tiny_embedder()
        data = work / "tiny"
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(phase1_data, data)
        print(f"  tiny ({model.name}) ...", file=sys.stderr, flush=True)
        results["tiny"] = measure("tiny", "--paths", str(data), str(model))
        shutil.rmtree(data)
    if "real" in tasks:
        model = real_embedder()
        sample = corpus.subset(args.sample_files, WORK / f"{corpus.folder.name}-sample{args.sample_files}")
        print(f"  real ({model.name}, {args.sample_files} files) ...", file=sys.stderr, flush=True)
        results["real"] = measure("real", "--repeats", str(args.repeats), "--paths", str(sample),
                                  str(work / "real"), str(model))
    results["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    if args.json:
        print(json.dumps(results, indent=1, ensure_ascii=False, default=str))
    else:
        print_table(results, corpus, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
