"""`ippon search` and `ippon ask`: the library's answers from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

import engines

from ..core.answer import AskDone, AskSources, shown_source_label
from ..core.conversation import AskTurn
from ..core.retrieval import SearchFilters
from ..core.service import IpponService
from ..core.snippets import make_snippet
from ..locale import _
from .library import upgrade_index_if_needed
from .options import add_thinking_options, chat_settings, positive, print_delta
from .terminal import visible
from .threads import add_thread_options, chosen_thread


def _retrieval_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=("hybrid", "lexical", "vector"), default="hybrid",
                        help=_("hybrid (default; lexical until vectors exist), keywords only, or vectors only"))
    parser.add_argument("--rerank", action=argparse.BooleanOptionalAction, default=True,
                        help=_("rerank with the configured Qwen3-Reranker (default: on when one is configured)"))
    parser.add_argument("--folder", action="append", default=[], metavar="PATH", help=_("only files under PATH"))
    parser.add_argument("--type", action="append", default=[], metavar="FORMAT",
                        help=_("only files of this format (pdf, md, txt, html, docx, pptx, csv, tsv, image)"))
    parser.add_argument("--after", type=_date, metavar="YYYY-MM-DD", help=_("only files modified since this day"))
    parser.add_argument("--json", action="store_true", help=_("print JSON"))


def register(sub: argparse._SubParsersAction) -> None:
    search = sub.add_parser("search", help=_("search the library (no LLM)"))
    search.add_argument("query")
    search.add_argument("--limit", type=positive, default=10, help=_("how many results (default 10)"))
    _retrieval_options(search)
    search.set_defaults(handler=run_search)

    ask = sub.add_parser("ask", help=_("ask the library; the answer cites its sources"))
    ask.add_argument("question")
    ask.add_argument("--limit", type=positive,
                     help=_("sources given to the LLM (default: as many as the answer_seconds budget allows, up to top_k)"))
    ask.add_argument("--candidates", type=positive,
                     help=_("candidates the reranker scores (default: as many as the budget allows, up to candidates)"))
    ask.add_argument("--debug", action="store_true",
                     help=_("with --json: add the exact prompt the LLM read and how many control tokens it holds"))
    _retrieval_options(ask)
    add_thinking_options(ask)
    add_thread_options(ask)
    ask.set_defaults(handler=run_ask)


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text} is not a date like 2026-01-31") from exc


def _settings(args: argparse.Namespace, service: IpponService, limit: int | None, *,
              candidates: int | None = None):
    filters = SearchFilters(folders=tuple(args.folder), formats=tuple(args.type), modified_after=args.after)
    return service.retrieval_settings(mode=args.mode, rerank=args.rerank, top_k=limit, candidates=candidates,
                                      filters=filters)


def run_search(args: argparse.Namespace, service: IpponService) -> int:
    upgrade_index_if_needed(service, quiet=args.json)
    found = service.search(args.query, _settings(args, service, args.limit))
    snippets = [make_snippet(args.query, r.hit.text) for r in found.results]
    rows = [{"path": r.hit.path, "page": r.hit.page, "slide": r.hit.slide, "heading": r.hit.heading,
             "score": round(r.score, 6), "text": r.hit.text, "char_start": r.hit.char_start,
             "char_end": r.hit.char_end, "snippet": s.as_dict(), **_pixels_json(r)}
            for r, s in zip(found.results, snippets, strict=True)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print(_("Nothing in the library matches. Try other words or the terms the documents use, or check with "
                "`ippon sources` that the file is indexed."), file=sys.stderr)
        return 0
    # On a terminal the matched words are bold; in a pipe the snippet stays plain text.
    before, after = ("\x1b[1m", "\x1b[0m") if sys.stdout.isatty() else ("", "")
    for n, (row, snippet) in enumerate(zip(rows, snippets, strict=True), 1):
        text = snippet.marked(before=before, after=after, shown=visible)
        label = visible(shown_source_label(row["path"], row["page"], row["slide"]))
        print(f"{n:2}. {row['score']:.4f}  {label}\n    {text}")
    print(f"[{found.mode}{', reranked' if found.reranked else ''}; "
          + ", ".join(f"{k} {v:.0f} ms" for k, v in found.timings.items()) + "]", file=sys.stderr)
    return 0


def _pixels_json(result) -> dict:  # noqa: ANN001 - a retrieval Result
    """With a VL reranker: whether the result was judged by its pixels, the image it saw, or why not."""
    if result.pixels is None:
        return {}
    return {"pixels": result.pixels.image is not None,
            "pixel_image": str(result.pixels.image) if result.pixels.image else None,
            "pixel_error": result.pixels.error, "pixel_skipped": result.pixels.skipped}


def print_sources(done: AskDone, *, shown=str) -> None:  # noqa: ANN001 - makes outside text printable
    """The sources the answer cites (stdout), then those it was given but did not cite (stderr)."""
    for c in done.citations:
        print(f"[{c.n}] {shown(shown_source_label(c.path, c.page, c.slide))}  {shown(c.path)}")
    numbers = {c.n for c in done.citations}
    uncited = [c for c in done.sources if c.n not in numbers]
    if not uncited:
        return
    if not done.citations:
        print(_("The answer cites none of the {n} sources it was given:").format(n=len(done.sources)), file=sys.stderr)
    else:
        print(_("Given but not cited:"), file=sys.stderr)
    for c in uncited:
        print(f"  [{c.n}] {shown(shown_source_label(c.path, c.page, c.slide))}", file=sys.stderr)


def run_ask(args: argparse.Namespace, service: IpponService) -> int:
    upgrade_index_if_needed(service, quiet=args.json)
    cancel = engines.CancelToken()
    done: AskDone | None = None
    turn: AskTurn | None = None
    try:
        retrieval = _settings(args, service, args.limit, candidates=args.candidates)
        for event in service.ask(args.question, retrieval=retrieval,
                                 chat=chat_settings(args), cancel=cancel, thread=chosen_thread(args, service)):
            if isinstance(event, AskDone):
                done = event
            elif isinstance(event, AskTurn):
                turn = event
                for note in event.notes if not args.json else ():
                    print(f"({visible(note)})", file=sys.stderr)  # a rewrite is the model's text
            elif isinstance(event, AskSources):
                if not args.json and event.sources:
                    # The search results at once, before the model has read them.
                    labels = ", ".join(f"[{c.n}] {visible(shown_source_label(c.path, c.page, c.slide))}"
                                       for c in event.sources)
                    print(_("(found: {sources})").format(sources=labels), file=sys.stderr, flush=True)
                if event.dropped and not args.json:
                    print(_("({n} more sources did not fit the model's context window)").format(n=event.dropped),
                          file=sys.stderr)
            elif not args.json:
                print_delta(event)
    except KeyboardInterrupt:
        cancel.cancel()
        raise
    if args.json:
        print(json.dumps({"answer": done.answer, "thinking": done.thinking, "not_found": done.not_found,
                          "citations": [{"n": c.n, "path": c.path, "page": c.page, "slide": c.slide, "text": c.text,
                                         "char_start": c.char_start, "char_end": c.char_end} for c in done.citations],
                          "sources": [c.as_dict() for c in done.sources], "timings": done.timings,
                          "thread": turn.thread_id, "turn": turn.position, "search_question": turn.search_question,
                          "history_dropped": turn.history_dropped,
                          **({"prompt": done.prompt.as_dict() if done.prompt else None} if args.debug else {})},
                         ensure_ascii=False))
        return 0
    print()
    if "budget" in done.timings and service.config.reranker:
        print(_("(reranked {n} of {total} candidates; {sources} sources read, for an answer within {s:g} s)").format(
            n=done.timings["reranked"], total=done.timings["candidates"], sources=len(done.sources),
            s=service.config.answer_seconds), file=sys.stderr)
    print_sources(done, shown=visible)
    print(_("(conversation {id}: `ippon ask -c …` asks a follow-up)").format(id=turn.thread_id), file=sys.stderr)
    return 0
