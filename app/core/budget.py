"""A time to the first answer token, turned into how much work each stage may do.

Before the first token of an answer, the reranker reads every candidate it scores and the LLM
reads every source it is given: on a CPU both cost about a token of prefill each, and
nothing else comes close (retrieval takes milliseconds). So the budget is split between the
two by measured speeds (`speed.py`):

- the LLM first gets what it needs for its fixed prompt (system prompt, question) and for up
  to `top_k` passages, but at most half of the time — and never less than `min_sources`
  passages, since an answer needs something to read;
- the reranker gets the rest: as many candidates, best fused first, as its speed allows
  (up to `candidates`), and never fewer than `min_rerank` — reranking only pays when it sees
  the few candidates the answer is likely among (lexical recall@5 is 1.0 on the Japanese
  dev set); candidates beyond that keep their fused order below the reranked;
- time the reranker cannot use (fewer candidates than it could read) goes back to the LLM;
- with a VL reranker, images and PDF pages are judged by their pixels in the time the two
  leave (an image is hundreds of positions through a vision encoder: on a CPU that may be only
  the best-ranked one, which always is); the others are judged by their text.

A setting the user gave explicitly (`candidates`, `top_k`) wins over the budget. With a model
whose speed is unknown (a remote server) the budget cuts nothing and says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from engines.qwen3 import estimate_tokens

from ..locale import _
from .passages import focus_passage
from .retrieval import Retrieval

# Tokens the LLM reads besides the sources: the question and the template's markers. (The
# system prompt comes first and is the same for every question: llama.cpp and MLX keep it in
# their cache from one question to the next, so only the first question pays for it.)
LLM_FIXED_TOKENS = 64
# Tokens the reranker reads per candidate besides the passage: its prompt's closing part; and,
# once per question, its system prompt, instruction and the query (shared by every candidate).
RERANK_FIXED_TOKENS = 12
RERANK_SHARED_TOKENS = 80
FIRST_TOKEN_MARGIN_S = 0.6  # retrieval (embedding the query: ~0.4 s on 2 cores), the first token, the Python between


@dataclass(frozen=True, slots=True)
class BudgetInputs:
    target_s: float  # the wanted time to the first answer token
    top_k: int  # most passages the LLM may read
    candidates: int  # most fused candidates the reranker may read
    rerank_passage_tokens: int  # the cap on the passage of a candidate the reranker reads
    source_passage_tokens: int  # the cap on the passage of a source the LLM reads
    llm_tokens_per_s: float | None  # measured prefill speed; None when unknown
    rerank_tokens_per_s: float | None  # None when unknown or when there is no reranker
    spent_s: float = 0.0  # already gone (rewriting a follow-up) when the plan is made
    llm_extra_tokens: int = 0  # what else the LLM reads: earlier turns of the conversation
    min_sources: int = 3  # an answer needs something to read, even past the target
    min_rerank: int = 5  # and a reranker something to choose from
    explicit_top_k: bool = False
    explicit_candidates: bool = False
    has_reranker: bool = True
    # A VL reranker's speed on image positions (speed.py); None: no VL reranker, or not measured.
    pixel_tokens_per_s: float | None = None


@dataclass(frozen=True, slots=True)
class BudgetPlan:
    rerank: int  # candidates the reranker scores
    sources: int  # most passages the LLM reads
    source_tokens: int | None  # tokens of passages the LLM may read; None: no cap but its window
    # Image positions a VL reranker may read (images and PDF pages by their pixels, best fused first;
    # retrieval.py); None: no limit.
    pixel_tokens: int | None = None
    estimate_s: dict[str, float] = field(default_factory=dict)  # predicted seconds per stage
    reasons: tuple[str, ...] = ()  # what decided it, for `--json` and the window's details

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_budget(inputs: BudgetInputs) -> BudgetPlan:
    i = inputs
    reasons: list[str] = []
    per_candidate = i.rerank_passage_tokens + RERANK_FIXED_TOKENS
    passage = i.source_passage_tokens
    if not i.has_reranker:
        rerank_speed = None
    else:
        rerank_speed = i.rerank_tokens_per_s
    if i.llm_tokens_per_s is None or (i.has_reranker and rerank_speed is None and not i.explicit_candidates):
        reasons.append(_("speed unknown (a remote model or not measured): no budget applied"))
        return BudgetPlan(rerank=i.candidates if i.has_reranker else 0, sources=i.top_k, source_tokens=None,
                          reasons=tuple(reasons))
    llm_speed = i.llm_tokens_per_s
    available = max(0.0, i.target_s - i.spent_s - FIRST_TOKEN_MARGIN_S)
    fixed_s = (LLM_FIXED_TOKENS + i.llm_extra_tokens) / llm_speed
    wanted_s = fixed_s + i.top_k * passage / llm_speed
    floor_s = fixed_s + min(i.min_sources, i.top_k) * passage / llm_speed

    if i.explicit_top_k:
        llm_s = wanted_s
        reasons.append(_("top_k {n} set explicitly").format(n=i.top_k))
    elif not i.has_reranker:
        llm_s = min(wanted_s, max(floor_s, available))
    else:
        llm_s = min(wanted_s, max(floor_s, available / 2))

    if not i.has_reranker:
        rerank = 0
        rerank_s = 0.0
    elif i.explicit_candidates:
        rerank = i.candidates
        rerank_s = (rerank * per_candidate + RERANK_SHARED_TOKENS) / rerank_speed if rerank_speed else 0.0
        reasons.append(_("candidates {n} set explicitly").format(n=i.candidates))
    else:
        left = max(0.0, available - llm_s - RERANK_SHARED_TOKENS / rerank_speed)
        rerank = min(i.candidates, max(i.min_rerank, int(left * rerank_speed / per_candidate)))
        rerank_s = (rerank * per_candidate + RERANK_SHARED_TOKENS) / rerank_speed if rerank else 0.0
        if rerank < i.candidates:
            reasons.append(_("reranking {n} of {total} candidates fits {s:.1f} s at {speed:.0f} tokens/s").format(
                n=rerank, total=i.candidates, s=max(left, rerank_s), speed=rerank_speed))
        if not i.explicit_top_k:
            # What the reranker did not use goes back to the LLM; what its floor took comes out of the
            # LLM's share, down to the LLM's own floor.
            llm_s = min(wanted_s, max(floor_s, available - rerank_s))

    source_tokens = None if i.explicit_top_k else max(passage, int((llm_s - fixed_s) * llm_speed))
    sources = (i.top_k if source_tokens is None
               else max(min(i.min_sources, i.top_k), min(i.top_k, source_tokens // passage)))
    if source_tokens is not None and sources < i.top_k:
        reasons.append(_("the LLM reads {n} tokens of sources in {s:.1f} s at {speed:.0f} tokens/s").format(
            n=source_tokens, s=llm_s, speed=llm_speed))
    pixel_tokens, pixel_s = None, 0.0
    if i.has_reranker and i.pixel_tokens_per_s:
        # Pixels get what the text plan leaves: on a slow machine only the best image or page (always
        # judged by its pixels, in retrieval), on a fast one every image among the candidates.
        pixel_s = max(0.0, available - rerank_s - llm_s)
        pixel_tokens = int(pixel_s * i.pixel_tokens_per_s)
        reasons.append(_("images and pages judged by their pixels: {n} image tokens fit {s:.1f} s at {speed:.0f} "
                         "tokens/s (the best-ranked one always)").format(n=pixel_tokens, s=pixel_s,
                                                                         speed=i.pixel_tokens_per_s))
    estimate = {"rerank_s": round(rerank_s, 2), "llm_prompt_s": round(llm_s, 2),
                "first_token_s": round(i.spent_s + rerank_s + pixel_s + llm_s + FIRST_TOKEN_MARGIN_S, 2)}
    if pixel_tokens is not None:
        estimate["pixels_s"] = round(pixel_s, 2)
    if estimate["first_token_s"] > i.target_s + 0.05:
        reasons.append(_("over the {target:g} s target: this machine needs at least {s:.1f} s for {n} source(s)")
                       .format(target=i.target_s, s=estimate["first_token_s"], n=sources))
    return BudgetPlan(rerank=rerank, sources=sources, source_tokens=source_tokens, pixel_tokens=pixel_tokens,
                      estimate_s=estimate, reasons=tuple(reasons))


def focus_sources(found: Retrieval, question: str, plan: BudgetPlan, *, passage_tokens: int) -> Retrieval:
    """What the LLM reads under `plan`: the first `plan.sources` results, each its passage of at most
    `passage_tokens` tokens (offsets narrowed to the passage, so a citation points at what was read)."""
    results = []
    for result in found.results[:plan.sources]:
        hit = result.hit
        if plan.source_tokens is not None:
            passage = focus_passage(hit.text, question, max_tokens=passage_tokens, count_tokens=estimate_tokens)
            if not passage.whole:
                hit = replace(hit, text=passage.text, char_start=hit.char_start + passage.start,
                              char_end=hit.char_start + passage.end)
        results.append(replace(result, hit=hit))
    timings = {**found.timings, "reranked": found.rerank_count, "candidates": found.candidate_count,
               "budget": plan.as_dict()}
    return replace(found, results=results, timings=timings)
