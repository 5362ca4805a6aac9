"""Command-line options shared by several commands."""

from __future__ import annotations

import argparse
import sys

import engines

from ..locale import _
from .terminal import visible


def positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def add_thinking_options(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--think", dest="thinking", action="store_true", default=False, help=_("thinking on"))
    mode.add_argument("--no-think", dest="thinking", action="store_false", help=_("thinking off (the default)"))
    mode.add_argument("--think-budget", type=positive, metavar="N",
                      help=_("thinking on, stopped after N thinking tokens"))
    parser.add_argument("--max-tokens", type=positive, default=1024, help=_("the most tokens to generate"))
    parser.add_argument("--temperature", type=float, help=_("default: Qwen3's recommendation for the mode"))
    parser.add_argument("--top-p", type=float)
    parser.add_argument("--top-k", type=int)
    parser.add_argument("--presence-penalty", type=float)
    parser.add_argument("--seed", type=int)


def chat_settings(args: argparse.Namespace) -> engines.ChatSettings:
    return engines.ChatSettings(thinking=args.thinking or args.think_budget is not None,
                                think_budget=args.think_budget, max_tokens=args.max_tokens,
                                temperature=args.temperature, top_p=args.top_p, top_k=args.top_k,
                                presence_penalty=args.presence_penalty, seed=args.seed)


def print_delta(event: engines.AnswerDelta | engines.ThinkingDelta) -> None:
    """Stream text as it comes: thinking to stderr, so stdout is exactly the answer."""
    stream = sys.stderr if isinstance(event, engines.ThinkingDelta) else sys.stdout
    stream.write(visible(event.text, keep_newlines=True))  # a model can echo a document's escape codes
    stream.flush()
