"""Measure retrieval (and answers) on the user's own questions, for several configurations side by side.

A question set is JSON Lines: {"id", "question", "positive": [...], "answers": [...]}; a
positive is a path (absolute, or the end of one: "manual/setup.md"), a source id, or
{"path": ..., "page": N}. Relevance is judged per source: the ranking is the list of
distinct sources in the order their first chunk appears, so one file cut into ten chunks
counts once.
"""

from __future__ import annotations

import json
import math
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IpponError
from ..locale import _
from .answer import AskDone
from .retrieval import Result, Retrieval

K_VALUES = (1, 5, 10)


class QuestionSetError(IpponError):
    """The question file cannot be used; the message names the line."""


@dataclass(frozen=True, slots=True)
class Positive:
    path: str  # an absolute path, the end of one, or a source id
    page: int | None = None

    def matches(self, path: str, source_id: str, page: int | None) -> bool:
        if self.page is not None and page != self.page:
            return False
        target = unicodedata.normalize("NFC", self.path)
        return target == source_id or path == target or path.endswith("/" + target.lstrip("/"))

    def describe(self) -> str:
        return f"{self.path}" + (f" p.{self.page}" if self.page is not None else "")


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    positives: tuple[Positive, ...]
    answers: tuple[str, ...] = ()


def load_questions(path: Path) -> list[Question]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(_("{path}: cannot read the question set ({reason})").format(path=path, reason=exc)) from exc
    questions = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            positives = tuple(Positive(p) if isinstance(p, str) else Positive(str(p["path"]), p.get("page"))
                              for p in item["positive"])
            question = Question(str(item.get("id", number)), str(item["question"]), positives,
                                tuple(item.get("answers", ())))
        except (ValueError, KeyError, TypeError) as exc:
            raise QuestionSetError(_("{path}:{line}: not a question line ({reason}); expected {shape}").format(
                path=path, line=number, reason=exc, shape='{"id", "question", "positive": [...], "answers": [...]}'
            )) from exc
        if not question.positives:
            raise QuestionSetError(_("{path}:{line}: the question has no positive source").format(path=path, line=number))
        questions.append(question)
    if not questions:
        raise QuestionSetError(_("{path}: no questions").format(path=path))
    return questions


def relevance(results: Sequence[Result], positives: Sequence[Positive]) -> list[int]:
    """For each distinct source in rank order: the index of the positive it satisfies, or -1."""
    seen: set[tuple[str, int | None]] = set()
    out = []
    for r in results:
        key = (r.hit.source_id, r.hit.page)
        if key in seen:
            continue
        seen.add(key)
        out.append(next((i for i, p in enumerate(positives) if p.matches(r.hit.path, r.hit.source_id, r.hit.page)),
                        -1))
    return out


def metrics_for(ranked: Sequence[int], n_positives: int) -> dict[str, float]:
    """recall@k, MRR@10 and nDCG@10 (binary relevance) for one ranking; each positive counts once."""
    found: list[int] = []  # 1-based ranks at which a new positive appears
    seen: set[int] = set()
    for rank, index in enumerate(ranked, 1):
        if index >= 0 and index not in seen:
            seen.add(index)
            found.append(rank)
    out = {f"recall@{k}": sum(1 for r in found if r <= k) / n_positives for k in K_VALUES}
    out["mrr@10"] = 1.0 / found[0] if found and found[0] <= 10 else 0.0
    dcg = sum(1.0 / math.log2(r + 1) for r in found if r <= 10)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(n_positives, 10) + 1))
    out["ndcg@10"] = dcg / ideal
    return out


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    arr = np.asarray(values, dtype=np.float64)
    return {"p50": round(float(np.percentile(arr, 50)), 3), "p95": round(float(np.percentile(arr, 95)), 3)}


def _normalize_answer(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split()).rstrip("。.")


@dataclass(slots=True)
class ConfigReport:
    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.metrics, "latency_ms": self.latency_ms}


def evaluate(name: str, questions: Sequence[Question], search: Callable[[str], Retrieval], *,
             answer: Callable[[str, Retrieval], AskDone] | None = None,
             progress: Callable[[int, int], None] | None = None) -> ConfigReport:
    """Run every question through `search` (and `answer` when given) and average the figures."""
    report = ConfigReport(name)
    sums: dict[str, float] = {}
    stage_times: dict[str, list[float]] = {}
    for done, q in enumerate(questions, 1):
        start = time.perf_counter()
        retrieval = search(q.question)
        stage_times.setdefault("total", []).append((time.perf_counter() - start) * 1000)
        for stage, ms in retrieval.timings.items():
            if stage.endswith("_ms"):
                stage_times.setdefault(stage.removesuffix("_ms"), []).append(ms)
        ranked = relevance(retrieval.results, q.positives)
        for key, value in metrics_for(ranked, len(q.positives)).items():
            sums[key] = sums.get(key, 0.0) + value
        if not any(i >= 0 for i in ranked[:10]):
            top = retrieval.results[0].hit if retrieval.results else None
            report.misses.append({"id": q.id, "question": q.question,
                                  "expected": [p.describe() for p in q.positives],
                                  "first": (f"{top.path}" + (f" p.{top.page}" if top.page else "")) if top else None})
        if answer is not None and q.answers:
            start = time.perf_counter()
            done = answer(q.question, retrieval)
            stage_times.setdefault("answer", []).append((time.perf_counter() - start) * 1000)
            if "time_to_first_token_s" in done.timings:  # what the user waits for: search, then the LLM's first token
                stage_times.setdefault("first_token", []).append(
                    stage_times["total"][-1] + done.timings["time_to_first_token_s"] * 1000)
            text = _normalize_answer(done.answer)
            expected = [_normalize_answer(a) for a in q.answers]
            sums["answer_contains"] = sums.get("answer_contains", 0.0) + any(e in text for e in expected)
            sums["answer_exact"] = sums.get("answer_exact", 0.0) + any(e == text for e in expected)
            sums["_answered"] = sums.get("_answered", 0.0) + 1
        if progress is not None:
            progress(done, len(questions))
    answered = sums.pop("_answered", 0.0)
    report.metrics = {k: round(v / (answered if k.startswith("answer_") else len(questions)), 4)
                      for k, v in sums.items()}
    report.latency_ms = {stage: percentiles(times) for stage, times in stage_times.items()}
    return report


def format_table_rows(reports: Iterable[ConfigReport]) -> tuple[list[str], list[list[str]]]:
    """Metric rows with one column per config, for a terminal table."""
    reports = list(reports)
    keys = [f"recall@{k}" for k in K_VALUES] + ["mrr@10", "ndcg@10", "answer_contains", "answer_exact"]
    rows = [[key] + [f"{r.metrics[key]:.3f}" if key in r.metrics else "-" for r in reports]
            for key in keys if any(key in r.metrics for r in reports)]
    stages = sorted({s for r in reports for s in r.latency_ms})
    for stage in stages:
        rows.append([f"{stage} ms p50/p95"] + [
            f"{r.latency_ms[stage]['p50']:.1f} / {r.latency_ms[stage]['p95']:.1f}" if stage in r.latency_ms else "-"
            for r in reports])
    return ["metric"] + [r.name for r in reports], rows


# --- configurations ---------------------------------------------------------------------------

# vision_reranker = "" turns off a Qwen3-VL reranker config.toml sets: text reranking beside pixel reranking.
_CONFIG_KEYS = {"mode": str, "rerank": bool, "embedder": str, "embed_dim": int, "reranker": str, "llm": str,
                "candidates": int, "top_k": int, "vision_reranker": str}


def load_eval_config(path: Path) -> dict[str, Any]:
    """One configuration to compare: a TOML file with any of mode, rerank, embedder, embed_dim, reranker,
    llm, candidates, top_k (the rest come from the app's configuration)."""
    import tomllib

    try:
        values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise IpponError(_("{path}: cannot read the evaluation config ({reason})").format(path=path, reason=exc)) from exc
    for key, value in values.items():
        if key not in _CONFIG_KEYS:
            raise IpponError(_("{path}: unknown setting {key!r}; known: {known}").format(
                path=path, key=key, known=", ".join(_CONFIG_KEYS)))
        if not isinstance(value, _CONFIG_KEYS[key]) or (key == "mode" and value not in ("lexical", "vector",
                                                                                        "hybrid")):
            raise IpponError(_("{path}: {key} has the wrong type or value: {value!r}").format(path=path, key=key,
                                                                                          value=value))
    return values


class MatrixVectors:
    """Vectors held in memory and searched exactly (cosine on unit rows); filters are not applied."""

    def __init__(self, hits: Sequence[Any], matrix: np.ndarray) -> None:
        self.hits = list(hits)
        self.matrix = matrix
        self.dim = int(matrix.shape[1]) if len(self.hits) else None

    def search(self, vector: np.ndarray, *, limit: int, where: str | None = None) -> list[Any]:
        from dataclasses import replace

        scores = self.matrix @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores)[:limit]
        return [replace(self.hits[i], score=float(scores[i])) for i in order]


def eval_vectors(store: Any, embedder: Any, embedder_id: str, dim: int) -> Any:
    """The vectors a configuration searches: the library's own when they match; the stored ones cut to a
    smaller Matryoshka size; or, for another embedder, every chunk embedded again (in memory)."""
    from .retrieval import LibraryVectors

    current = store.embedder()
    if current == (embedder_id, dim):
        return LibraryVectors(store)
    if current is not None and current[0] == embedder_id and dim < current[1]:
        hits, _texts, matrix = store.all_chunks(with_vectors=True)
        cut = matrix[:, :dim] if matrix is not None else np.zeros((0, dim), np.float32)
        return MatrixVectors(hits, cut / np.maximum(np.linalg.norm(cut, axis=1, keepdims=True), 1e-12))
    hits, texts, _ = store.all_chunks()
    matrix = embedder.embed(texts, kind="document", dim=dim) if texts else np.zeros((0, dim), np.float32)
    return MatrixVectors(hits, matrix)
