"""`ippon eval`: retrieval (and answer) quality on your own questions, configurations side by side."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..locale import _, ngettext
from ..core.evaluation import format_table_rows
from ..core.service import IpponService
from .options import positive
from .progress import ProgressBar
from .terminal import markup_safe, visible


def register(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("eval", help=_("measure retrieval on a question set (or: eval generate --out FILE)"),
                        description=_("Run a question set (JSON Lines: id, question, positive, answers) through one or "
                                      "more configurations and report recall@1/5/10, MRR@10, nDCG@10, answer checks and "
                                      "latency side by side, then every miss. `ippon eval generate --out FILE` writes "
                                      "a question set from your own documents with the LLM."))
    ev.add_argument("questions", metavar="QUESTIONS.jsonl|generate")
    ev.add_argument("--mode", choices=("hybrid", "lexical", "vector"))
    ev.add_argument("--rerank", action=argparse.BooleanOptionalAction, default=None)
    ev.add_argument("--config", action="append", default=[], metavar="NAME=FILE",
                    help=_("a configuration to compare (TOML: mode, rerank, embedder, embed_dim, reranker, llm, "
                           "candidates, top_k); repeat for several"))
    ev.add_argument("--out", type=Path, help=_("with `generate`: the question file to write"))
    ev.add_argument("--n", type=positive, default=50, help=_("with `generate`: how many questions (default 50)"))
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(handler=run_eval)


def _configs(items: list[str]) -> dict[str, Path | None]:
    if not items:
        return {"default": None}
    configs: dict[str, Path | None] = {}
    for item in items:
        name, sep, file = item.partition("=")
        if not sep or not name or not file:
            raise SystemExit(f"ippon: error: --config takes NAME=FILE, not {item!r}")
        configs[name] = Path(file)
    return configs


def run_eval(args: argparse.Namespace, service: IpponService) -> int:
    if args.questions == "generate":
        if args.out is None:
            raise SystemExit("ippon: error: eval generate needs --out FILE")
        with ProgressBar(lambda e: ("generate", e[0], e[1], "questions"), enabled=not args.json) as on_progress:
            progress = (lambda done, total: on_progress((done, total))) if on_progress else None
            count = service.generate_questions(args.out, n=args.n, progress=progress)
        print(json.dumps({"questions": count, "out": str(args.out)}) if args.json
              else f"Wrote {count} questions to {args.out}")
        return 0
    with ProgressBar(lambda e: (e[0], e[1], e[2], f"{e[0]} questions"), enabled=not args.json) as on_progress:
        progress = (lambda name, done, total: on_progress((name, done, total))) if on_progress else None
        reports = service.evaluate(Path(args.questions), _configs(args.config), mode=args.mode, rerank=args.rerank,
                                   progress=progress)
    if args.json:
        print(json.dumps({"configs": {r.name: r.as_dict() for r in reports},
                          "misses": {r.name: r.misses for r in reports}}, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    header, rows = format_table_rows(reports)
    table = Table(*header)
    for row in rows:
        table.add_row(*(markup_safe(cell) for cell in row))
    console = Console()
    console.print(table)
    for r in reports:
        if r.misses:
            console.print("\n" + ngettext("[bold]{name}[/bold]: {n} question with no positive in the top 10",
                                          "[bold]{name}[/bold]: {n} questions with no positive in the top 10",
                                          len(r.misses)).format(name=markup_safe(r.name), n=len(r.misses)))
            for miss in r.misses:
                console.print(_("  {id}: {question}\n    expected {expected}; first: {first}").format(
                    id=visible(miss["id"]), question=visible(miss["question"]),
                    expected=visible(", ".join(miss["expected"])), first=visible(miss["first"] or _("nothing"))),
                    markup=False)
    if not any(r.misses for r in reports):
        print(_("No misses."), file=sys.stderr)
    return 0
