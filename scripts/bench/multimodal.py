#!/usr/bin/env python3
"""Benchmark the Qwen3-VL reranker: Ippon's llama.cpp backend (q8_0 text model + f16 projector) beside
transformers fp32 on the same random-weight checkpoint with Qwen3-VL-Reranker-2B's dimensions.

    .venv/bin/python scripts/bench/multimodal.py [--repeats 3] [--images 4] [--texts 8] [--json]
    .venv/bin/python scripts/bench/multimodal.py --tiny   # a smoke run on the suite's tiny model

Figures: image candidates per second at 512x512 and 1024x768 (each image resized as the
reference does: 256 and 768 image tokens), text-only candidates per second (about 200-token
Japanese and English passages), and each process's peak resident memory. Every configuration
runs in a process of its own (a warm-up, then --repeats timed runs; medians, and the best
run, which load from other processes cannot flatter). Ippon runs twice: `ippon` with every
image seen for the first time (its encoding cache off), `ippon-seen` with the images of an
earlier question (their vision encodings kept, as the app keeps them). Each line prints its
ratio to transformers and the largest |difference| in score from it, as a sanity column.
Missing checkpoints are built (make_test_vl_models.py --real-dims reranker-2b, ippon convert)
and reused afterwards; `--quant q4_k_m` measures another text model type.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / ".cache" / "bench-models"
SOURCE = "qwen3-vl-reranker-2b"
QUERY = "エラーダイアログに表示されたコードは何ですか？"
PASSAGES = (
    "本製品の電源を入れる前に、付属のケーブルが正しく接続されていることを確認してください。"
    "設定画面で「詳細」を選ぶと、ネットワークとストレージの項目が表示されます。",
    "If the status LED blinks red twice, the firmware update failed; restart and try again. "
    "Error E-204 means the temperature exceeded 85 °C: check the fan and clean the air filter.",
)
SIZES = {"512x512": (512, 512), "1024x768": (1024, 768)}
THREADS = 2
# Before the script's own folder, whose engines.py (the engine benchmark) would shadow the package.
sys.path.insert(0, str(ROOT))


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def models(tiny: bool, quant: str = "q8_0") -> tuple[Path, Path]:
    """(Hugging Face checkpoint, converted q8_0 GGUF with its f16 projector beside it)."""
    if tiny:
        from tests.conftest import cached_vl_test_models

        checkpoint = cached_vl_test_models()["vl-reranker"]
        out = MODELS / f"vl-reranker-tiny-{quant}.gguf"
    else:
        checkpoint = MODELS / SOURCE
        if not (checkpoint / "config.json").exists():
            _load("make_test_vl_models", ROOT / "scripts" / "make_test_vl_models.py").build_vl_real_dims(
                "reranker-2b", MODELS)
        out = MODELS / f"{SOURCE}-{quant}.gguf"
    if not out.exists():
        from converters import convert

        convert(checkpoint, to="gguf", quant=quant, out=out)
    return checkpoint, out


def write_images(folder: Path, count: int) -> dict[str, list[Path]]:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, list[Path]] = {}
    for label, (w, h) in SIZES.items():
        out[label] = []
        for k in range(count):
            path = folder / f"{label}-{k}.png"
            if not path.exists():
                rng = np.random.default_rng(k)
                Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
            out[label].append(path)
    return out


def run_one(runtime: str, task: str, args: argparse.Namespace) -> dict[str, Any]:
    """One configuration in this process: warm-up, timed repeats, scores for the sanity column."""
    from engines import Candidate

    checkpoint, gguf = models(args.tiny, args.quant)
    images = write_images(MODELS / "bench-images", args.images)
    candidates = ([Candidate(text=PASSAGES[k % 2] * 2) for k in range(args.texts)] if task == "text"
                  else [Candidate(image=p) for p in images[task]])
    if runtime in ("ippon", "ippon-seen"):
        from engines.llamacpp_backend.vision import LlamaCppVisionReranker
        from engines.qwen3_vl import IMAGE_CACHE_BYTES

        # "ippon": every image seen for the first time (no kept encodings); "ippon-seen": the images of
        # an earlier question again (the warm-up run put their encodings in the reranker's cache).
        model = LlamaCppVisionReranker(gguf, n_threads=THREADS, max_tokens=4096,
                                       image_cache_bytes=IMAGE_CACHE_BYTES if runtime == "ippon-seen" else 0)

        def score() -> list[float]:
            return [float(s) for s in model.score(QUERY, candidates)]
    else:
        import torch

        torch.set_num_threads(THREADS)
        from tests.engines.vl_reference import VLReference

        reference = VLReference(checkpoint)

        def score() -> list[float]:
            return [reference.score(QUERY, c.text, doc_images=[c.image] if c.image else []).score for c in candidates]
    score()  # warm-up
    rates, scores = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        scores = score()
        rates.append(len(candidates) / (time.perf_counter() - start))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"runtime": runtime, "task": task, "candidates_per_s": statistics.median(rates),
            "candidates_per_s_best": max(rates), "peak_rss_mib": peak_kib / 1024, "scores": scores}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--images", type=int, default=4, help="image candidates per run, per size")
    ap.add_argument("--texts", type=int, default=8, help="text candidates per run")
    ap.add_argument("--tasks", default="512x512,1024x768,text")
    ap.add_argument("--runtimes", default="ippon,ippon-seen,transformers",
                    help="ippon: images seen for the first time; ippon-seen: seen in an earlier question")
    ap.add_argument("--quant", default="q8_0", help="the text model's GGUF type (the projector stays f16)")
    ap.add_argument("--tiny", action="store_true", help="the suite's tiny model: proves the script works")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--one", nargs=2, metavar=("RUNTIME", "TASK"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(*args.one, args)))
        return 0
    models(args.tiny, args.quant)  # build once, before the timed processes
    passthrough = ["--repeats", str(args.repeats), "--images", str(args.images), "--texts", str(args.texts),
                   "--quant", args.quant]
    passthrough += ["--tiny"] if args.tiny else []
    results = []
    for task in args.tasks.split(","):
        row = {}
        for runtime in args.runtimes.split(","):
            if runtime == "ippon-seen" and task == "text":
                continue  # no images: the same as "ippon"
            out = subprocess.run([sys.executable, __file__, "--one", runtime, task, *passthrough], check=True,
                                 capture_output=True, text=True, cwd=ROOT).stdout
            row[runtime] = json.loads(out.strip().splitlines()[-1])
            results.append(row[runtime])
        base = row.get("transformers")
        for r in row.values():
            if base is not None and r is not base:
                r["ratio_vs_transformers"] = r["candidates_per_s"] / base["candidates_per_s"]
                r["max_abs_score_diff"] = max(abs(x - y) for x, y in zip(r["scores"], base["scores"], strict=True))
            print(f"{r['task']:>9} {r['runtime']:>12}: {r['candidates_per_s']:8.3f} candidates/s "
                  f"(best {r['candidates_per_s_best']:.3f}), peak RSS {r['peak_rss_mib']:.0f} MiB"
                  + (f", {r['ratio_vs_transformers']:.2f}x transformers, max |Δscore| {r['max_abs_score_diff']:.4f}"
                     if "ratio_vs_transformers" in r else ""), file=sys.stderr)
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k != "scores"} for r in results], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
