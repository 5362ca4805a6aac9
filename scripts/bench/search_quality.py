#!/usr/bin/env python3
"""Benchmark keyword-search quality on the Japanese development sets: today's search beside the ICU index
Ippon used before, lexical mode only (no model).

    .venv/bin/python scripts/bench/search_quality.py [--data ../shared/ja-retrieval-dev] [--json] [--misses]

The sets (read in place, never copied; see their README): `jsquad/` (655 Wikipedia paragraphs,
150 natural questions) and `compound/` (the same paragraphs, 150 two-or-more-character nouns that
occur only inside longer compounds). A paragraph is indexed as `title + "\\n" + text`, one chunk.

- icu: the full-text index Ippon built before the analysed terms (LanceDB FTS, ICU word
  segmentation, no stemming, ASCII folding, the store's stop words) over the NFKC text, built
  straight in LanceDB exactly as `LibraryStore.optimize` used to.
- ippon: the library as Ippon builds it now (LibraryStore: write_files, optimize, search_lexical).

recall@k is the share of questions with a positive paragraph among the first k results (the
issue's measure; a question with several positives needs one), MRR@10 the mean reciprocal rank of
the first positive, and `no hit` counts questions that got no result at all. `--misses` also lists
each question today's search does not answer first, with the rank of its first positive. Also printed: the
analyser's dictionary load time and its speed over the paragraphs (chunks/s), for the cost side.
The quality figures are deterministic; the two timings depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "ja-retrieval-dev"
SETS = ("jsquad", "compound")
DEPTH = 10


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scores(rankings: list[list[str]], questions: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in (1, 5, 10):
        out[f"recall@{k}"] = sum(any(p in ranked[:k] for p in q["positive_ids"])
                                 for ranked, q in zip(rankings, questions, strict=True)) / len(questions)
    out["mrr@10"] = sum(next((1 / rank for rank, pid in enumerate(ranked[:10], 1) if pid in q["positive_ids"]), 0.0)
                        for ranked, q in zip(rankings, questions, strict=True)) / len(questions)
    out["no_hit"] = sum(1 for ranked in rankings if not ranked)
    return out


def first_positive(ranked: list[str], question: dict[str, Any]) -> int | str:
    return next((rank for rank, pid in enumerate(ranked, 1) if pid in question["positive_ids"]), "-")


def icu_search(folder: Path, ids: list[str], texts: list[str]) -> Any:
    """The pre-analysis index, as the store built it, and a search function over it."""
    import lancedb
    import pyarrow as pa
    from lancedb.index import FTS

    from app.core.store import STOP_WORDS, search_text

    table = lancedb.connect(str(folder)).create_table(
        "chunks", pa.table({"chunk_id": ids, "search_text": [search_text(t) for t in texts]}))
    table.create_index("search_text", config=FTS(base_tokenizer="icu", stem=False, ascii_folding=True,
                                                 remove_stop_words=True, custom_stop_words=list(STOP_WORDS)))

    def search(query: str) -> list[str]:
        text = search_text(query).strip()
        rows = (table.search(text, query_type="fts", fts_columns="search_text").select(["chunk_id", "_score"])
                .limit(DEPTH).to_arrow().to_pylist())
        return [r["chunk_id"] for r in rows]

    return search


def ippon_search(folder: Path, ids: list[str], texts: list[str]) -> Any:
    from app.core.store import ChunkRecord, FileUpdate, LibraryStore, SourceRecord, search_text, text_hash

    store = LibraryStore(folder)
    updates = []
    for pid, text in zip(ids, texts, strict=True):
        norm = search_text(text)
        chunk = ChunkRecord(chunk_id=pid, source_id=pid, ordinal=0, path=f"/dev/{pid}.txt", format="txt", text=text,
                            search_text=norm, text_hash=text_hash(norm), page=None, slide=None, heading=None,
                            kind="text", char_start=0, char_end=len(text), mtime_ns=1)
        updates.append(FileUpdate(SourceRecord(source_id=pid, path=chunk.path, format="txt", size=len(text),
                                               mtime_ns=1, content_hash=pid, status="indexed", chunks=1), [chunk]))
    store.write_files(updates)
    store.optimize()
    return lambda query: [h.chunk_id for h in store.search_lexical(query, limit=DEPTH)]


def analysis_cost(texts: list[str]) -> dict[str, float]:
    from app.core.analysis import JapaneseAnalyzer

    start = time.perf_counter()
    analyser = JapaneseAnalyzer()
    analyser.analyse("辞書を読み込む")
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    for text in texts:
        analyser.analyse(text)
    elapsed = time.perf_counter() - start
    return {"dictionary_load_s": round(load_s, 3), "chunks_per_s": round(len(texts) / elapsed, 1),
            "chars_per_chunk": round(sum(map(len, texts)) / len(texts), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the development sets' folder")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--misses", action="store_true",
                        help="list the questions whose positive the new search does not rank first")
    args = parser.parse_args()
    if not (args.data / "jsquad" / "passages.jsonl").is_file():
        print(f"{args.data}: no development sets there (expected jsquad/ and compound/)", file=sys.stderr)
        return 1
    passages = read_jsonl(args.data / "jsquad" / "passages.jsonl")
    ids = [p["id"] for p in passages]
    texts = [p["title"] + "\n" + p["text"] for p in passages]
    questions = {name: read_jsonl(args.data / name / "questions.jsonl") for name in SETS}
    started = time.perf_counter()
    cost = analysis_cost(texts)
    results: dict[str, dict[str, dict[str, float]]] = {}
    misses: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        searches = {"icu": icu_search(Path(tmp) / "icu", ids, texts),
                    "ippon": ippon_search(Path(tmp) / "ippon", ids, texts)}
        for name, qs in questions.items():
            for label, search in searches.items():
                rankings = [search(q["question"]) for q in qs]
                results.setdefault(name, {})[label] = scores(rankings, qs)
                if label == "ippon":
                    misses += [f"{name}\t{first_positive(ranked, q)}\t{q['question']}"
                               for ranked, q in zip(rankings, qs, strict=True) if first_positive(ranked, q) != 1]
    wall = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps({"results": results, "analysis": cost, "wall_s": wall}, indent=2))
        return 0
    print(f"{'set':10} {'index':6} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'no hit':>7}")
    for name, by_index in results.items():
        for label, m in by_index.items():
            print(f"{name:10} {label:6} {m['recall@1']:6.3f} {m['recall@5']:6.3f} {m['recall@10']:6.3f} "
                  f"{m['mrr@10']:7.3f} {m['no_hit']:7.0f}")
    if args.misses:
        print("\nset\trank of the first positive (- = not in the first 10)\tquestion")
        print("\n".join(misses))
    print(f"analysis: dictionary load {cost['dictionary_load_s']} s; {cost['chunks_per_s']} chunks/s "
          f"({cost['chars_per_chunk']} characters each); whole run {wall} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
