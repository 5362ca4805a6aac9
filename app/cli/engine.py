"""`ippon engine chat|embed|rerank`: one model, one call — for scripting and debugging the engines."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import engines

from ..core.service import IpponService
from ..locale import _
from .options import add_thinking_options, chat_settings, positive, print_delta
from .terminal import visible


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("engine", help=_("run one model directly (chat, embed, rerank)"),
                            description=_("Run a chat model, embedder or reranker directly: a GGUF file (llama.cpp), "
                                          "an MLX folder, or a model name on an OpenAI-compatible server (--url)."))
    commands = parser.add_subparsers(dest="engine_command", metavar="ACTION", required=True)

    chat = commands.add_parser("chat", help=_("stream a chat answer"))
    _model_options(chat)
    chat.add_argument("prompt", help=_("the user message"))
    chat.add_argument("--system", help=_("a system message"))
    add_thinking_options(chat)
    chat.add_argument("--n-ctx", type=positive, default=8192, help=_("context window to load (local backends)"))
    chat.set_defaults(handler=run_chat)

    embed = commands.add_parser("embed", help=_("print embedding vectors"))
    _model_options(embed)
    embed.add_argument("texts", nargs="*", metavar="TEXT")
    embed.add_argument("--image", action="append", default=[], type=Path, metavar="IMG",
                       help=_("an image to embed by its pixels (a Qwen3-VL embedder; repeatable; after the texts)"))
    embed.add_argument("--mmproj", type=Path, metavar="FILE",
                       help=_("the Qwen3-VL projector of a GGUF model (default: mmproj-<model> beside it)"))
    embed.add_argument("--query", action="store_true", help=_("format the texts as queries (with the instruction)"))
    embed.add_argument("--instruction", help=_("the query instruction (default: web search)"))
    embed.add_argument("--dim", type=positive, help=_("Matryoshka size (default: the model's full dimension)"))
    embed.set_defaults(handler=run_embed)

    info = commands.add_parser("info", help=_("the backends installed here and the device each computes on"))
    info.add_argument("--json", action="store_true", help=_("print one JSON object"))
    info.set_defaults(handler=run_info)

    rerank = commands.add_parser("rerank", help=_("print P(yes) for each document (text first, then --image ones)"))
    _model_options(rerank)
    rerank.add_argument("--query", required=True)
    rerank.add_argument("documents", nargs="*", metavar="DOCUMENT")
    rerank.add_argument("--instruction", help=_("the reranker instruction (default: web search)"))
    rerank.add_argument("--image", action="append", default=[], type=Path, metavar="IMG",
                        help=_("an image document, scored by its pixels (a Qwen3-VL reranker; repeatable)"))
    rerank.add_argument("--query-image", action="append", default=[], type=Path, metavar="IMG",
                        help=_("an image that is part of the query (a Qwen3-VL reranker; repeatable)"))
    rerank.add_argument("--mmproj", type=Path, metavar="FILE",
                        help=_("the Qwen3-VL projector of a GGUF model (default: mmproj-<model> beside it)"))
    rerank.set_defaults(handler=run_rerank)


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=_("a GGUF file, an MLX folder, or a model name on --url"))
    parser.add_argument("--backend", choices=("auto", *engines.BACKENDS), help=_("default: from the configuration (auto)"))
    parser.add_argument("--url", help=_("an OpenAI-compatible server (implies --backend remote)"))
    parser.add_argument("--json", action="store_true", help=_("print one JSON object"))


def run_chat(args: argparse.Namespace, service: IpponService) -> int:
    options = {} if args.url else {"n_ctx": args.n_ctx}
    model = service.load_engine("chat", args.model, backend=args.backend, url=args.url, **options)
    messages = ([engines.Message("system", args.system)] if args.system else []) + [engines.Message("user", args.prompt)]
    settings = chat_settings(args)
    cancel = engines.CancelToken()
    done = None
    try:
        for event in model.chat(messages, settings=settings, cancel=cancel):
            if isinstance(event, engines.ChatDone):
                done = event
            elif not args.json:
                print_delta(event)
    except KeyboardInterrupt:
        cancel.cancel()
        raise
    finally:
        model.close()
    if args.json:
        print(json.dumps({"text": done.text, "thinking": done.thinking, "stats": done.stats.as_dict()},
                         ensure_ascii=False))
    else:
        s = done.stats
        print("\n" + _("[{prompt} prompt tokens, {generated} generated ({thinking} thinking), first token {first:.2f} s, "
                       "{speed:.1f} tokens/s, {reason}]").format(
            prompt=s.prompt_tokens, generated=s.generated_tokens, thinking=s.thinking_tokens,
            first=s.time_to_first_token_s, speed=s.tokens_per_s, reason=s.finish_reason), file=sys.stderr)
    return 0


def run_embed(args: argparse.Namespace, service: IpponService) -> int:
    if args.image or args.mmproj or engines.is_vision_model(args.model):
        return run_vision_embed(args, service)
    if not args.texts:
        raise engines.EngineError(_("give at least one text to embed"))
    model = service.load_engine("embedder", args.model, backend=args.backend, url=args.url)
    try:
        vectors = model.embed(args.texts, kind="query" if args.query else "document",
                              instruction=args.instruction, dim=args.dim)
    finally:
        model.close()
    if args.json:
        print(json.dumps({"vectors": vectors.tolist(), "dim": int(vectors.shape[1])}))
    else:
        for text, vector in zip(args.texts, vectors, strict=True):
            head = ", ".join(f"{x:+.4f}" for x in vector[:6])
            print(f"{len(vector)} dims [{head}, …]  {visible(text[:60])}")
    return 0


def run_vision_embed(args: argparse.Namespace, service: IpponService) -> int:
    """Qwen3-VL-Embedding: the texts, then the images; an image that cannot be read gets null and its reason."""
    items = _candidates(args.texts, args.image)
    if not items:
        raise engines.EngineError(_("give at least one text or --image to embed"))
    model = _load_vision_engine("vision_embedder", args, service)
    failures: list[engines.CandidateFailure] = []
    try:
        # The instruction is the model's own default for documents; --query takes --instruction as the task.
        instruction = args.instruction if args.query else None
        vectors = model.embed(items, instruction=instruction, dim=args.dim, failures=failures)
    finally:
        model.close()
    failed = {f.index for f in failures}
    rows = [None if i in failed else vector.tolist() for i, vector in enumerate(vectors)]
    if args.json:
        print(json.dumps({"vectors": rows, "dim": int(vectors.shape[1]), "errors": _failure_rows(failures)},
                         ensure_ascii=False))
    else:
        for item, row in zip(items, rows, strict=True):
            if row is not None:
                head = ", ".join(f"{x:+.4f}" for x in row[:6])
                print(f"{len(row)} dims [{head}, …]  {visible((item.text or str(item.image))[:60])}")
    for failure in failures:
        print(_("not embedded: {reason}").format(reason=visible(failure.reason)), file=sys.stderr)
    return 1 if failures else 0


def run_rerank(args: argparse.Namespace, service: IpponService) -> int:
    if args.image or args.query_image or args.mmproj or engines.is_vision_model(args.model):
        return run_vision_rerank(args, service)
    if not args.documents:
        raise engines.EngineError(_("give at least one document to rerank"))
    model = service.load_engine("reranker", args.model, backend=args.backend, url=args.url)
    try:
        scores = model.score(args.query, args.documents, instruction=args.instruction)
    finally:
        model.close()
    if args.json:
        print(json.dumps({"scores": [float(s) for s in scores]}))
    else:
        for score, document in sorted(zip(scores, args.documents, strict=True), key=lambda p: -p[0]):
            print(f"{score:.4f}  {visible(document[:70])}")
    return 0


def run_vision_rerank(args: argparse.Namespace, service: IpponService) -> int:
    """Qwen3-VL-Reranker: text documents, then images; a candidate that cannot be read gets null and its reason."""
    candidates = _candidates(args.documents, args.image)
    if not candidates:
        raise engines.EngineError(_("give at least one document or --image to rerank"))
    model = _load_vision_engine("vision_reranker", args, service)
    failures: list[engines.CandidateFailure] = []
    try:
        scores = model.score(args.query, candidates, instruction=args.instruction, query_images=args.query_image,
                             failures=failures)
    finally:
        model.close()
    values = [None if math.isnan(s) else float(s) for s in scores]
    labels = [c.text if c.text is not None else str(c.image) for c in candidates]
    if args.json:
        print(json.dumps({"scores": values, "errors": _failure_rows(failures)}, ensure_ascii=False))
    else:
        ranked = sorted((p for p in zip(values, labels, strict=True) if p[0] is not None), key=lambda p: -p[0])
        for score, label in ranked:
            print(f"{score:.4f}  {visible(label[:70])}")
    for failure in failures:
        print(_("not scored: {reason}").format(reason=visible(failure.reason)), file=sys.stderr)
    return 1 if failures else 0


def _candidates(texts: list[str], images: list[Path]) -> list[engines.Candidate]:
    """The texts first, then the images: the order the JSON output's indexes and errors refer to."""
    return [engines.Candidate(text=t) for t in texts] + [engines.Candidate(image=p) for p in images]


def _load_vision_engine(kind: str, args: argparse.Namespace, service: IpponService):
    options = {"mmproj": args.mmproj} if args.mmproj else {}
    return service.load_engine(kind, args.model, backend=args.backend, url=args.url, **options)


def _failure_rows(failures: list[engines.CandidateFailure]) -> list[dict]:
    return [{"index": f.index, "reason": f.reason} for f in failures]


def run_info(args: argparse.Namespace, service: IpponService) -> int:
    from engines.devices import backends_info

    info = {"backends": backends_info(), "default_backend": engines.default_backend(),
            "configured_backend": service.config.backend}
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    for name, backend in info["backends"].items():
        if not backend["installed"]:
            print(_("{name}: not installed").format(name=name))
        else:
            print(_("{name} {version}: computes on {device}").format(name=name, version=backend["version"],
                                                                   device=backend["device"] or backend.get("error")))
    print(_("default backend: {name}").format(name=info["default_backend"]))
    return 0
