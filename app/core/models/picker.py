"""The hardware-aware picker: one LLM, embedder and reranker for this machine, each with its reason.

The rules, simple enough to say in a sentence each:

- Format: MLX on Apple Silicon (Metal), GGUF for llama.cpp everywhere else.
- The three models together stay within 60% of RAM, leaving ~40% to the OS and apps; the LLM
  alone gets at most a third of RAM, so long answers never push the machine into swap.
- The LLM is the largest Qwen3 (hybrid thinking) whose estimate fits, 8-bit before 4-bit of
  the same size; without Apple Silicon it stays 4-bit (a CPU's decode is bound by memory
  bandwidth). With an NVIDIA GPU that llama.cpp's build uses, the GPU's memory is the limit.
- And it must be fast enough: reading a question with 3 short sources (544 tokens) must take
  at most half of the default answer budget (8 s), at the machine's estimated prefill speed
  (the CPU cores, or the GPU); otherwise the next smaller Qwen3 is chosen, and the reason
  says how long the larger one would take.
- Embedder and reranker are 8-bit (they lose more to 4-bit than LLMs do). The embedder is
  0.6B, or 4B on Apple Silicon with 48 GB or more; the reranker is 0.6B (it scores 50
  candidates per question, so its speed is the answer's latency).
- The three builds may use at most half the free disk, with room for the largest original
  checkpoint a conversion starts from (deleted once converted); a small disk means smaller
  picks, and the reason says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...locale import _
from .catalog import GIB, Catalog, CatalogEntry
from .errors import CatalogError
from .machine import Machine

USABLE_SHARE = 0.60
GPU_SHARE = 0.85  # of an NVIDIA GPU's memory, for the three models (the rest: its context and buffers)
# What the LLM must read within half the default time budget (app/core/budget.py): the question
# and 3 passages of 160 tokens.
SPEED_PROMPT_TOKENS = 64 + 3 * 160
SPEED_SECONDS = 8.0 / 2
LLM_SHARE = 1 / 3
DISK_SHARE = 0.5
BIG_EMBEDDER_RAM = 48 * GIB
# format -> (4-bit, 8-bit) quantization names
QUANTS = {"gguf": ("q4_k_m", "q8_0"), "mlx": ("4bit", "8bit")}


@dataclass(frozen=True, slots=True)
class Pick:
    role: str
    entry: CatalogEntry
    quant: str
    format: str
    reason: str
    dim: int | None = None

    @property
    def memory(self) -> int:
        return self.entry.needs(self.quant).memory

    @property
    def disk(self) -> int:
        return self.entry.needs(self.quant).disk

    def as_dict(self) -> dict[str, Any]:
        data = {"name": self.entry.name, "params_b": self.entry.params_b, "quant": self.quant,
                "format": self.format, "reason": self.reason, "memory_gb": round(self.memory / GIB, 1),
                "disk_gb": round(self.disk / GIB, 1)}
        if self.role == "embedder":
            data["dim"] = self.dim
        return data


@dataclass(frozen=True, slots=True)
class Recommendation:
    machine: Machine
    llm: Pick
    embedder: Pick
    reranker: Pick

    def picks(self) -> tuple[Pick, Pick, Pick]:
        return self.llm, self.embedder, self.reranker

    def as_dict(self) -> dict[str, Any]:
        return {"llm": self.llm.as_dict(), "embedder": self.embedder.as_dict(), "reranker": self.reranker.as_dict(),
                "machine": self.machine.as_dict()}


def recommend(machine: Machine, catalog: Catalog) -> Recommendation:
    fmt = "mlx" if machine.apple_silicon else "gguf"
    q4, q8 = QUANTS[fmt]
    ram, disk_budget = machine.ram_bytes, machine.free_disk_bytes * DISK_SHARE
    embedders = _candidates(catalog, "embedder")
    rerankers = _candidates(catalog, "reranker")
    llms = _candidates(catalog, "llm")

    reranker = Pick("reranker", rerankers[0], q8, fmt,
                    _("It reads every candidate it scores before the answer starts, so the small 0.6B at 8-bit "
                      "(about {gb} GB) reranks the most candidates in the time where 4B gains little.")
                    .format(gb=_gb(rerankers[0].needs(q8).memory)))

    small, big = embedders[0], embedders[-1]
    embedder_entry, embedder_reason = small, _(
        "Fast enough to index large folders (about {gb} GB at 8-bit, which embedders need more than LLMs), with "
        "{dim}-dimension vectors that retrieve Japanese well.").format(gb=_gb(small.needs(q8).memory), dim=small.dim)
    if machine.apple_silicon and ram >= BIG_EMBEDDER_RAM and big is not small:
        smallest_llm = Pick("llm", llms[-1], q4, fmt, "")
        if _disk_needed([Pick("embedder", big, q8, fmt, ""), reranker, smallest_llm]) <= disk_budget:
            embedder_entry, embedder_reason = big, _(
                "With {ram} GB RAM and Apple Silicon's GPU there is room for {big} (about {gb} GB at 8-bit), which "
                "retrieves better than {small}.").format(ram=_gb(ram), big=big.name, gb=_gb(big.needs(q8).memory),
                                                        small=small.name)
        else:
            embedder_reason = _("{big} would fit in memory, but {free} GB of free disk is too little for it, so "
                                "{small}.").format(big=big.name, free=_gb(machine.free_disk_bytes), small=small.name)
    embedder = Pick("embedder", embedder_entry, q8, fmt, embedder_reason, dim=embedder_entry.dim)

    others = embedder.memory + reranker.memory
    memory_budget = min(ram * LLM_SHARE, ram * USABLE_SHARE - others)
    if machine.gpu_bytes:
        memory_budget = machine.gpu_bytes * GPU_SHARE - others
    quants = (q8, q4) if machine.apple_silicon else (q4,)
    options = [(e, q) for e in llms for q in quants]
    by_memory = next(((e, q) for e, q in options if e.needs(q).memory <= memory_budget), None)
    fitting = [(e, q) for e, q in options if e.needs(q).memory <= memory_budget
               and _disk_needed([Pick("llm", e, q, fmt, ""), embedder, reranker]) <= disk_budget]
    chosen = next(((e, q) for e, q in fitting if _read_seconds(machine, e) <= SPEED_SECONDS),
                  fitting[-1] if fitting else None)
    llm = Pick("llm", *(chosen or options[-1]), fmt, "")
    slower = fitting[0] if fitting and chosen is not None and fitting[0] != chosen else None
    return Recommendation(machine, _with_llm_reason(llm, machine, by_memory, fitting[0] if fitting else None, slower),
                          embedder, reranker)


def _read_seconds(machine: Machine, entry: CatalogEntry) -> float:
    """Estimated seconds for the LLM to read a question with 3 short sources on this machine."""
    return SPEED_PROMPT_TOKENS / machine.prefill_tokens_per_s(entry.params_b)


def _candidates(catalog: Catalog, kind: str) -> list[CatalogEntry]:
    """The catalog's picker candidates of one kind, smallest first (largest first for the LLM)."""
    found = sorted(catalog.of_kind(kind, candidates_only=True), key=lambda e: e.params_b, reverse=kind == "llm")
    if not found:
        raise CatalogError(_("{file}: no {kind} is marked `candidate = true` for the picker").format(
            file=catalog.source, kind=kind))
    return found


def _disk_needed(picks: list[Pick]) -> int:
    """The builds, plus the largest original checkpoint converted on the way (pulls run one at a time)."""
    return (sum(p.disk for p in picks)
            + max(p.entry.conversion_disk(p.format, p.quant) for p in picks))


def _with_llm_reason(llm: Pick, machine: Machine, by_memory: tuple | None, chosen: tuple | None,
                     slower: tuple | None) -> Pick:
    name, quant, mem = llm.entry.name, llm.quant, _gb(llm.memory)
    ram, free = _gb(machine.ram_bytes), _gb(machine.free_disk_bytes)
    seconds = _read_seconds(machine, llm.entry)
    if slower is not None:
        reason = _("{bigger} would fit, but on {compute} it would take about {slow:.0f} s to read a question with 3 "
                   "sources (estimated), so {name} at {quant}, which does in about {s:.1f} s and keeps answers within "
                   "seconds.").format(bigger=slower[0].name, compute=machine.compute,
                                      slow=_read_seconds(machine, slower[0]), name=name, quant=quant, s=seconds)
        return Pick(llm.role, llm.entry, llm.quant, llm.format, reason)
    if chosen is None:
        reason = _("Even the smallest Qwen3 is tight with {ram} GB RAM and {free} GB free disk: expect slow "
                   "answers, and free memory or disk for a better pick.").format(ram=ram, free=free)
    elif by_memory is not None and by_memory != chosen:
        bigger = f"{by_memory[0].name} {by_memory[1]}"
        reason = _("{bigger} would fit in memory, but only {free} GB of disk is free and the models may use at most "
                   "half of it, so {name} at {quant} (about {mem} GB of memory).").format(
            bigger=bigger, free=free, name=name, quant=quant, mem=mem)
    elif machine.gpu_bytes:
        reason = _("The largest Qwen3 that fits the {gpu} GB NVIDIA GPU beside the embedder and the reranker at "
                   "{quant} (about {mem} GB with an 8K-token context), reading a question with 3 sources in about "
                   "{s:.1f} s (estimated).").format(gpu=_gb(machine.gpu_bytes), quant=quant, mem=mem, s=seconds)
    else:
        reason = (_("The largest Qwen3 that fits a third of {ram} GB RAM at {quant} (about {mem} GB with an 8K-token "
                    "context), leaving the rest to the OS, your apps, the embedder and the reranker.")
                  if machine.apple_silicon else
                  _("The largest Qwen3 that fits a third of {ram} GB RAM at {quant} (about {mem} GB with an 8K-token "
                    "context), leaving the rest to the OS, your apps, the embedder and the reranker; 4-bit, since on "
                    "a CPU answers are bound by memory bandwidth and 4-bit reads half the bytes.")
                  ).format(ram=ram, quant=quant, mem=mem)
    return Pick(llm.role, llm.entry, llm.quant, llm.format, reason)


def _gb(n: float) -> str:
    value = n / GIB
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


# The machines of README's model guide (RAM GB, Apple Silicon, free disk GB).
GUIDE_MACHINES = [(ram, apple, disk) for ram in (8, 16, 24, 64) for apple in (True, False) for disk in (10, 500)]


def guide_table(catalog: Catalog) -> str:
    """README's model guide, made by the picker itself so the numbers cannot drift from it."""
    rows = ["| RAM | chip (x86: 4 cores, no GPU) | free disk | LLM | embedder (dim) | reranker | models' memory |",
            "|---|---|---|---|---|---|---|"]
    for ram, apple, disk in GUIDE_MACHINES:
        rec = recommend(Machine(int(ram * GIB), apple, int(disk * GIB)), catalog)
        memory = sum(p.memory for p in rec.picks()) / GIB
        rows.append(f"| {ram} GB | {'Apple Silicon' if apple else 'x86 / other'} | {disk} GB | "
                    f"{rec.llm.entry.name} {rec.llm.quant} | {rec.embedder.entry.name} {rec.embedder.quant} "
                    f"({rec.embedder.dim}) | {rec.reranker.entry.name} {rec.reranker.quant} | {memory:.1f} GB |")
    return "\n".join(rows)
