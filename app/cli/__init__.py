"""`ippon …`: each subcommand is a thin call into app.core.service.IpponService."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import converters
import engines

from ..config import load_config
from ..core.service import IpponService
from ..errors import IpponError, user_message
from ..locale import _
from . import ask, convert, engine, evaluate, images, library, models, serve
from . import threads as thread_commands
from .parser_words import speak_the_users_language
from .terminal import visible

# Errors whose message is meant for the user; anything else is a bug and keeps its traceback.
USER_ERRORS = (IpponError, converters.ConversionError, engines.EngineError)


def build_parser() -> argparse.ArgumentParser:
    speak_the_users_language()
    parser = argparse.ArgumentParser(prog="ippon", description=_("一本 Ippon — private, Japanese-first RAG on Qwen3. "
                                     "Run `ippon` with no arguments (or `ippon gui`) to open the window."))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for command in (library, ask, evaluate, engine, convert, models, serve, images):
        command.register(sub)
    thread_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        # `ippon` alone opens the window (app.launcher); reaching here means the CLI was called directly.
        parser.print_help()
        return 0
    try:
        service = IpponService(load_config())
        return args.handler(args, service)
    except USER_ERRORS as exc:
        print(_("ippon: error: {message}").format(message=visible(user_message(exc), keep_newlines=True)),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_("ippon: cancelled"), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`ippon search … | head`): not an error worth a traceback.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
