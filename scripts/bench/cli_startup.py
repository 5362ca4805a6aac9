#!/usr/bin/env python3
"""Whole-process wall time of the short CLI commands (issue 14: <= 1.0 s on 2 cores).

    .venv/bin/python scripts/bench/cli_startup.py [--files 33] [--runs 5] [--json]

A library of --files small Japanese Markdown files is made with the current code in a private
IPPON_HOME (no models: keyword search), then `ippon sources`, `ippon search 設定ファイル` and
`ippon --help` each run --runs times as new processes, interleaved; the median wall time of each
is printed. Every command also runs with the store's native read path switched off (`public`:
lancedb's Python layer, what every read did before lance_reader.py), for the same code and
machine. Figures, not pass/fail; run on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
NATIVE = "import sys; from app.launcher import main; sys.exit(main(sys.argv[1:]))"
PUBLIC = ("import sys; import app.core.store as store; store.open_reader = lambda folder: None; "
          "from app.launcher import main; sys.exit(main(sys.argv[1:]))")
COMMANDS = {"sources": ["sources"], "search": ["search", "設定ファイル"], "help": ["--help"]}


def make_library(home: Path, files: int) -> None:
    docs = home.parent / "docs"
    docs.mkdir(parents=True)
    for i in range(files):
        (docs / f"文書{i:03d}.md").write_text(
            f"# 文書{i}\n\n設定ファイルの場所は ~/.ippon です。番号 {i} の手順を説明します。\n", encoding="utf-8")
    subprocess.run([PYTHON, "-c", NATIVE, "add", str(docs), "--json"], env=_env(home), check=True,
                   capture_output=True)


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "IPPON_HOME": str(home), "IPPON_LANG": "en"}


def wall_time(code: str, argv: list[str], home: Path) -> float:
    start = time.perf_counter()
    subprocess.run([PYTHON, "-c", code, *argv], env=_env(home), check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=33)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ippon-cli-bench-") as tmp:
        home = Path(tmp) / "home"
        make_library(home, args.files)
        times: dict[str, list[float]] = {}
        for _run in range(args.runs):
            for name, argv in COMMANDS.items():
                label = name if name == "help" else f"{name} (native reads)"
                times.setdefault(label, []).append(wall_time(NATIVE, argv, home))
                if name != "help":
                    times.setdefault(f"{name} (lancedb public API)", []).append(wall_time(PUBLIC, argv, home))
    medians = {name: round(statistics.median(values), 3) for name, values in times.items()}
    if args.json:
        print(json.dumps({"files": args.files, "runs": args.runs, "median_s": medians, "all_s": times}))
    else:
        for name, value in medians.items():
            print(f"{name:32} median {value:.2f} s  ({', '.join(f'{t:.2f}' for t in times[name])})")
        print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
