"""The follow-up task of scripts/bench/query.py: time to first token of a follow-up against a first question.

Each round asks a first question in a new thread, then a follow-up with a pronoun in the same
thread (「それ」: the rewrite step runs) and one without (no rewrite, history only). On the
real-dims models the difference between the first question's time to first token and the
follow-up's is what conversations cost: the rewrite call (rewrite_ms) and the longer prompt
the earlier turn adds (prompt_tokens).
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

FOLLOWUPS = ("それはどう設定しますか", "その手順をもう一度教えてください")  # with a marker: rewritten
PLAIN_FOLLOWUPS = ("監視の設定画面について教えてください",)  # without one: history only, no rewrite


def followup_worker(service: Any, questions: list[str], *, max_tokens: int = 16) -> dict[str, Any]:
    from app.core.answer import AskDone
    from app.core.conversation import AskTurn
    from engines import AnswerDelta, ChatSettings

    chat = ChatSettings(temperature=0, max_tokens=max_tokens)

    def run(question: str, thread: str | None) -> tuple[dict[str, Any], str]:
        start = time.perf_counter()
        first = done = turn = None
        for event in service.ask(question, retrieval=service.retrieval_settings(), chat=chat, thread=thread):
            if isinstance(event, AnswerDelta) and first is None:
                first = time.perf_counter()
            elif isinstance(event, AskTurn):
                turn = event
            elif isinstance(event, AskDone):
                done = event
        end = time.perf_counter()
        t = {"wall_first_token_ms": ((first or end) - start) * 1000, "wall_total_ms": (end - start) * 1000,
             "llm_ttft_ms": done.timings.get("time_to_first_token_s", 0) * 1000,
             "rewrite_ms": done.timings.get("rewrite_ms", 0.0), "prompt_tokens": done.timings.get("prompt_tokens", 0),
             "history_turns": turn.history_turns, "rewritten": turn.rewritten}
        print(f"    {'follow-up' if thread else 'first'}: " + ", ".join(
            f"{k} {v:.0f}" for k, v in t.items() if k.endswith("_ms")), file=sys.stderr, flush=True)
        return t, turn.thread_id

    warm, _ = run(questions[0], None)  # loads the models
    rows: dict[str, list[dict[str, Any]]] = {"first": [], "followup_rewritten": [], "followup_plain": []}
    for i, question in enumerate(questions[1:]):
        first, thread = run(question, None)
        rows["first"].append(first)
        rows["followup_rewritten"].append(run(FOLLOWUPS[i % len(FOLLOWUPS)], thread)[0])
        rows["followup_plain"].append(run(PLAIN_FOLLOWUPS[i % len(PLAIN_FOLLOWUPS)], thread)[0])
    keys = ("wall_first_token_ms", "wall_total_ms", "llm_ttft_ms", "rewrite_ms", "prompt_tokens")
    median = {kind: {k: statistics.median(r[k] for r in runs) for k in keys} for kind, runs in rows.items() if runs}
    return {"kind": "followup", "warm_up_ms": warm["wall_total_ms"], "rounds": len(questions) - 1,
            "runs": rows, "median": median}


def print_followup(r: dict[str, Any], llm: str) -> None:
    m = r["median"]
    print(f"\nFollow-ups ({llm}, greedy; median of {r['rounds']} rounds after a warm-up): time to first token")
    print(f"{'question':<34}{'wall to 1st token ms':>22}{'rewrite ms':>12}{'LLM TTFT ms':>13}{'prompt tok':>12}")
    names = {"first": "first question (new thread)", "followup_rewritten": "follow-up with それ (rewritten)",
             "followup_plain": "follow-up, no marker (history)"}
    for kind, label in names.items():
        if kind in m:
            row = m[kind]
            print(f"{label:<34}{row['wall_first_token_ms']:>22.1f}{row['rewrite_ms']:>12.1f}"
                  f"{row['llm_ttft_ms']:>13.1f}{row['prompt_tokens']:>12.0f}")
