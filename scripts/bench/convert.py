#!/usr/bin/env python3
"""Benchmark the converters on a random-weight checkpoint with real Qwen3 dimensions.

    .venv/bin/python scripts/bench/convert.py [--model qwen3-1.7b] [--tasks read,gguf:f16,gguf:q8_0,...]

Each task runs in its own process, so its peak RSS is its own, and in rounds (read, f16,
q8_0, ..., read, f16, ...), each task after a sync with no output of any task left; the
figures are medians. Files are read once before timing so every task (and the floor) sees a warm page
cache: the figures compare the work done, not the disk. The floor is copying every tensor's
bytes into memory once, in the converter's slices: the least any converter must do.
Targets (issue "Foundation and converters"): GGUF q8_0 <= 2x the floor, and peak RSS of GGUF
f16/q8_0 <= 1.5 GB.
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

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TASKS = ("read", "gguf:f16", "gguf:q8_0", "gguf:q4_k_m", "mlx:4bit")
RSS_LIMIT_MB = 1536
Q8_RATIO_LIMIT = 2.0


def output_path(task: str, model: Path, out_dir: Path) -> Path:
    fmt, quant = task.split(":")
    return out_dir / (f"{model.name}-{quant}.gguf" if fmt == "gguf" else f"{model.name}-{quant}-mlx")


def run_worker(task: str, model: Path, out_dir: Path) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from converters import convert, open_checkpoint

    started = time.perf_counter()
    if task == "read":  # every tensor's bytes copied into memory once, in the converter's slices
        ckpt = open_checkpoint(model)
        total = sum(ckpt.read_raw(name, start, stop).nbytes for name in ckpt.tensors
                    for start, stop in ckpt.row_chunks(name))
        return {"seconds": time.perf_counter() - started, "bytes": total}
    fmt, quant = task.split(":")
    result = convert(model, to=fmt, quant=quant, out=output_path(task, model, out_dir), force=True)
    return {"seconds": time.perf_counter() - started, "bytes": result.output_bytes}


def measure(task: str, model: Path, out_dir: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--worker", task, "--model-dir", str(model), "--out-dir", str(out_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "MLX_DISABLE_COMPILE": "1"})
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"task {task} failed")
    figures = json.loads(out.strip().splitlines()[-1])
    # ru_maxrss is KiB on Linux, bytes on macOS.
    figures["peak_rss_mb"] = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    return figures


def warm_page_cache(model: Path) -> None:
    for file in sorted(model.glob("*.safetensors")):
        with open(file, "rb") as f:
            while f.read(1 << 24):
                pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="qwen3-1.7b", help="real-dims checkpoint name (built if missing)")
    ap.add_argument("--models-dir", type=Path, default=ROOT / ".cache" / "bench-models")
    ap.add_argument("--out-dir", type=Path, default=None)
    ap.add_argument("--tasks", default=",".join(DEFAULT_TASKS))
    ap.add_argument("--repeats", type=int, default=3, help="rounds of every task (figures are medians)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.model_dir, args.out_dir)))
        return 0

    model = args.models_dir / args.model
    if not (model / "config.json").exists():
        sys.path.insert(0, str(ROOT / "scripts"))
        from make_test_models import build_real_dims

        build_real_dims(args.model, args.models_dir)
    out_dir = args.out_dir or args.models_dir / "bench-out"
    out_dir.mkdir(parents=True, exist_ok=True)
    warm_page_cache(model)

    tasks = args.tasks.split(",")
    runs: dict[str, list[dict[str, float]]] = {}
    for round_ in range(1, args.repeats + 1):
        for task in tasks:
            # Every task starts alike: no output of any task left in the page cache, nothing
            # dirty still being written back (the kernel would throttle the next writer for it).
            # Left in place, the earlier outputs cost the next conversion up to a second here.
            for other in tasks:
                if other != "read":
                    out = output_path(other, model, out_dir)
                    shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
            os.sync()
            r = measure(task, model, out_dir)
            runs.setdefault(task, []).append(r)
            print(f"  #{round_} {task}: {r['seconds']:.2f} s", file=sys.stderr, flush=True)
    results = {task: {"seconds": statistics.median(r["seconds"] for r in rs), "best": min(r["seconds"] for r in rs),
                      "peak_rss_mb": max(r["peak_rss_mb"] for r in rs), "bytes": rs[-1]["bytes"]}
               for task, rs in runs.items()}
    floor = results.get("read", {}).get("seconds")

    print(f"\nConverter benchmark: {args.model} (random weights, real dims), {os.cpu_count()} cores, "
          f"median (and best) of {args.repeats} rounds, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'task':<14}{'wall s':>9}{'best s':>9}{'x floor':>9}{'peak RSS MB':>13}{'output MB':>11}")
    for task, r in results.items():
        ratio = f"{r['seconds'] / floor:.2f}" if floor else "-"
        print(f"{task:<14}{r['seconds']:>9.2f}{r['best']:>9.2f}{ratio:>9}{r['peak_rss_mb']:>13.0f}"
              f"{r['bytes'] / 2**20:>11.0f}")
    verdicts = []
    if floor and "gguf:q8_0" in results:
        ratio = results["gguf:q8_0"]["seconds"] / floor
        verdicts.append(f"GGUF q8_0 = {ratio:.2f}x the read floor (target <= {Q8_RATIO_LIMIT}x): "
                        f"{'met' if ratio <= Q8_RATIO_LIMIT else 'MISSED'}")
    for task in ("gguf:f16", "gguf:q8_0"):
        if task in results:
            rss = results[task]["peak_rss_mb"]
            verdicts.append(f"{task} peak RSS = {rss:.0f} MB (target <= {RSS_LIMIT_MB} MB): "
                            f"{'met' if rss <= RSS_LIMIT_MB else 'MISSED'}")
    print("\n".join(verdicts))
    if args.out_dir is None:
        shutil.rmtree(out_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
