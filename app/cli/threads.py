"""`ippon threads list|show|rename|delete|export`, and the options `ippon ask` continues a thread with."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from ..core.answer import shown_source_label
from ..core.service import IpponService
from ..core.threads import Thread, ThreadError, export_markdown
from ..locale import _
from .terminal import visible


def add_thread_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--thread", metavar="ID",
                       help=_("ask a follow-up in this conversation (see `ippon threads list`)"))
    group.add_argument("-c", "--continue", dest="continue_last", action="store_true",
                       help=_("ask a follow-up in the latest conversation"))


def chosen_thread(args: argparse.Namespace, service: IpponService) -> str | None:
    """The thread `ippon ask` continues, or None for a new one."""
    if args.thread:
        return service.threads.get(args.thread).id
    if args.continue_last:
        last = service.threads.last()
        if last is None:
            raise ThreadError(_("there is no conversation to continue yet: ask without -c first"))
        return last.id
    return None


def register(sub: argparse._SubParsersAction) -> None:
    threads = sub.add_parser("threads", help=_("conversations: list, show, rename, delete, export"))
    commands = threads.add_subparsers(dest="threads_command", metavar="COMMAND", required=True)
    listing = commands.add_parser("list", help=_("conversations, newest first"))
    listing.add_argument("--search", metavar="TEXT", help=_("only conversations whose title, questions or answers "
                           "contain TEXT"))
    listing.add_argument("--limit", type=int, help=_("at most this many"))
    listing.add_argument("--json", action="store_true", help=_("print JSON"))
    listing.set_defaults(handler=run_list)
    show = commands.add_parser("show", help=_("a conversation's turns in order"))
    show.add_argument("id", help=_("the conversation's id (or its first characters)"))
    show.add_argument("--json", action="store_true", help=_("print JSON"))
    show.set_defaults(handler=run_show)
    rename = commands.add_parser("rename", help=_("give a conversation a new title"))
    rename.add_argument("id")
    rename.add_argument("title")
    rename.add_argument("--json", action="store_true", help=_("print JSON"))
    rename.set_defaults(handler=run_rename)
    delete = commands.add_parser("delete", help=_("delete a conversation"))
    delete.add_argument("id")
    delete.add_argument("--json", action="store_true", help=_("print JSON"))
    delete.set_defaults(handler=run_delete)
    export = commands.add_parser("export", help=_("a conversation as Markdown, with numbered sources"))
    export.add_argument("id")
    export.add_argument("--out", type=Path, metavar="FILE", help=_("write to FILE (default: standard output)"))
    export.add_argument("--json", action="store_true", help=_("print JSON (the Markdown and where it went)"))
    export.set_defaults(handler=run_export)


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def run_list(args: argparse.Namespace, service: IpponService) -> int:
    threads = service.threads.list(search=args.search, limit=args.limit)
    if args.json:
        print(json.dumps([t.as_dict() for t in threads], ensure_ascii=False))
        return 0
    if not threads:
        print(_("No conversations."), file=sys.stderr)
    for t in threads:
        print(f"{t.id}  {_when(t.updated)}  {t.turn_count:3}  {visible(t.title)}")
    return 0


def run_show(args: argparse.Namespace, service: IpponService) -> int:
    thread = service.threads.get(args.id)
    if args.json:
        print(json.dumps(thread.as_dict(with_turns=True), ensure_ascii=False))
        return 0
    # Titles, questions, answers and paths come from users, documents and the model: shown, never obeyed.
    print(f"# {visible(thread.title)}  ({thread.id})")
    for turn in thread.turns:
        print(f"\n## {turn.position}. {visible(turn.question)}")
        for note in turn.notes:
            print(f"({visible(note)})")
        print()
        answer = visible(turn.answer, keep_newlines=True)
        if turn.status != "done":
            answer = (answer + "\n" if answer else "") + _("(the answer was interrupted)")
        print(answer)
        for c in turn.sources:
            print(f"[{c.n}] {visible(shown_source_label(c.path, c.page, c.slide))}  {visible(c.path)}")
    return 0


def _done(args: argparse.Namespace, thread: Thread, message: str) -> int:
    if args.json:
        print(json.dumps(thread.as_dict(), ensure_ascii=False))
    else:
        print(message, file=sys.stderr)
    return 0


def run_rename(args: argparse.Namespace, service: IpponService) -> int:
    thread = service.threads.rename(args.id, args.title)
    return _done(args, thread, _("Renamed {id} to “{title}”.").format(id=thread.id, title=visible(thread.title)))


def run_delete(args: argparse.Namespace, service: IpponService) -> int:
    thread = service.threads.delete(args.id)
    return _done(args, thread, _("Deleted {id} (“{title}”).").format(id=thread.id, title=visible(thread.title)))


def run_export(args: argparse.Namespace, service: IpponService) -> int:
    base = args.out.resolve().parent if args.out else None  # links relative to where the export lives
    markdown = export_markdown(service.threads.get(args.id), base=base)
    if args.out:
        try:
            args.out.write_text(markdown, encoding="utf-8")
        except OSError as exc:
            raise ThreadError(_("{path}: cannot write the export: {reason}").format(path=args.out,
                                                                                   reason=exc.strerror)) from exc
    if args.json:
        print(json.dumps({"markdown": markdown, "out": str(args.out) if args.out else None}, ensure_ascii=False))
    elif not args.out:
        sys.stdout.write(markdown)
    return 0
