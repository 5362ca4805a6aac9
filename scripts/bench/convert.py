#!/usr/bin/env python3
"""Benchmark the converters on a random-weight checkpoint with real Qwen3 dimensions.

    .venv/bin/python scripts/bench/convert.py [--model qwen3-1.7b] [--tasks read,gguf:f16,gguf:q8_0,...]

Each task runs in its own process, so its peak RSS is its own. Files are read once before
timing so every task (and the floor) sees a warm page cache: the figures compare the work
done, not the disk. The floor is reading every tensor's bytes once, the least any converter
must do. Targets (issue "Foundation and converters"): GGUF q8_0 <= 2x the floor, and peak
RSS of GGUF f16/q8_0 <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TASKS = ("read", "gguf:f16", "gguf:q8_0", "gguf:q4_k_m", "mlx:4bit")
RSS_LIMIT_MB = 1536
Q8_RATIO_LIMIT = 2.0


def run_worker(task: str, model: Path, out_dir: Path) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from converters import convert, open_checkpoint

    started = time.perf_counter()
    if task == "read":
        ckpt = open_checkpoint(model)
        total = sum(ckpt.read_raw(name).nbytes for name in ckpt.tensors)
        return {"seconds": time.perf_counter() - started, "bytes": total}
    fmt, quant = task.split(":")
    out = out_dir / (f"{model.name}-{quant}.gguf" if fmt == "gguf" else f"{model.name}-{quant}-mlx")
    result = convert(model, to=fmt, quant=quant, out=out, force=True)
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

    results = {}
    for task in args.tasks.split(","):
        results[task] = measure(task, model, out_dir)
        print(f"  {task}: {results[task]['seconds']:.1f} s", file=sys.stderr, flush=True)
    floor = results.get("read", {}).get("seconds")

    print(f"\nConverter benchmark: {args.model} (random weights, real dims), {os.cpu_count()} cores")
    print(f"{'task':<14}{'wall s':>9}{'x floor':>9}{'peak RSS MB':>13}{'output MB':>11}")
    for task, r in results.items():
        ratio = f"{r['seconds'] / floor:.2f}" if floor else "-"
        print(f"{task:<14}{r['seconds']:>9.2f}{ratio:>9}{r['peak_rss_mb']:>13.0f}{r['bytes'] / 2**20:>11.0f}")
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
