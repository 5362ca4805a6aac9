"""`ippon add | remove | sources | reindex | watch`: the library from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from ..core.service import IpponService
from ..locale import N_, _, ngettext
from ..locale.stored import shown_reason
from .progress import ProgressBar, describe_ingest
from .terminal import markup_safe, visible


def register(sub: argparse._SubParsersAction) -> None:
    add = sub.add_parser("add", help=_("add files or folders to the library (incremental)"),
                         description=_("Add files or folders to the library. Unchanged files are skipped, "
                                       "changed ones re-indexed, deleted ones dropped."))
    add.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add.add_argument("--watch", action="store_true", help=_("also follow these folders with `ippon watch`"))
    add.add_argument("--no-vectors", action="store_true",
                     help=_("only make the files searchable by keyword now; compute vectors later"))
    add.add_argument("--json", action="store_true", help=_("print a JSON summary and no progress"))
    add.set_defaults(handler=run_add)

    remove = sub.add_parser("remove", help=_("remove files or folders from the library"))
    remove.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    remove.add_argument("--json", action="store_true")
    remove.set_defaults(handler=run_remove)

    sources = sub.add_parser("sources", help=_("list the library's files and their status"))
    sources.add_argument("--errors", action="store_true", help=_("only the files that could not be indexed"))
    sources.add_argument("--json", action="store_true")
    sources.set_defaults(handler=run_sources)

    reindex = sub.add_parser("reindex", help=_("index everything again (after a parser or embedder change)"))
    reindex.add_argument("--vectors", action="store_true",
                         help=_("keep the text, recompute every vector with the configured embedder"))
    reindex.add_argument("--json", action="store_true")
    reindex.set_defaults(handler=run_reindex)

    watch = sub.add_parser("watch", help=_("follow the watched folders and index changes until stopped"))
    watch.add_argument("--json", action="store_true", help=_("print one JSON line per update"))
    watch.set_defaults(handler=run_watch)


# Shown in the sources table; the stored value stays English.
STATUS_NAMES = {"indexed": N_("indexed"), "failed": N_("failed"), "skipped": N_("skipped")}


def _summary_line(summary: dict) -> str:
    line = _("{added} added, {updated} updated, {unchanged} unchanged, {removed} removed, {failed} failed, "
             "{skipped} skipped; {chunks} chunks and {vectors} vectors written").format(**{"vectors": 0, **summary})
    return line + ("\n" + _("Cancelled: run the same command again to finish.") if summary.get("cancelled") else "")


def _run_ingest(args: argparse.Namespace, work) -> int:  # noqa: ANN001 - a callable taking progress, cancel
    cancel = threading.Event()
    with ProgressBar(describe_ingest, enabled=not args.json) as on_progress:
        try:
            summary = work(progress=on_progress, cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise
    data = summary.as_dict()
    if args.json:
        print(json.dumps(data))
    else:
        print(_summary_line(data))
        for path, reason in summary.failures[:20]:
            print("  " + _("failed: {path}: {reason}").format(path=visible(path), reason=visible(reason)),
                  file=sys.stderr)
        for path, reason in summary.skipped_paths[:20]:
            print("  " + _("skipped: {path}: {reason}").format(path=visible(path), reason=visible(reason)),
                  file=sys.stderr)
        if data["failed"]:
            print(_("See `ippon sources --errors` for every file that failed and why."), file=sys.stderr)
    return 0


def run_add(args: argparse.Namespace, service: IpponService) -> int:
    return _run_ingest(args, lambda **kw: service.add(args.paths, watch=args.watch, vectors=not args.no_vectors,
                                                      **kw))


def run_reindex(args: argparse.Namespace, service: IpponService) -> int:
    return _run_ingest(args, lambda **kw: service.reindex(vectors_only=args.vectors, **kw))


def upgrade_index_if_needed(service: IpponService, *, quiet: bool) -> None:
    """Bring a library made by an older Ippon to the current keyword index before searching it (once)."""
    if not service.index_outdated():
        return
    from ..core.library import LibraryBusyError

    if not quiet:
        print(_("Updating this library's keyword index for the new Japanese search (once)…"), file=sys.stderr)
    cancel = threading.Event()
    with ProgressBar(describe_ingest, enabled=not quiet) as on_progress:
        try:
            service.upgrade_index(progress=on_progress, cancel=cancel)
        except LibraryBusyError:
            pass  # another process is writing (and will upgrade it); the old index answers meanwhile
        except KeyboardInterrupt:
            cancel.set()
            raise


def run_remove(args: argparse.Namespace, service: IpponService) -> int:
    removed = service.remove(args.paths)
    print(json.dumps({"removed": removed}) if args.json else
          ngettext("Removed {n} file from the library.", "Removed {n} files from the library.", removed).format(n=removed))
    return 0


def run_sources(args: argparse.Namespace, service: IpponService) -> int:
    records = service.sources(errors_only=args.errors)
    if args.json:
        print(json.dumps([{"path": r.path, "status": r.status, "chunks": r.chunks, "error": r.error,
                           "format": r.format, "warnings": r.warnings} for r in records], ensure_ascii=False))
        return 0
    if not records:
        print(_("No failed files.") if args.errors else _("The library is empty: add folders with `ippon add PATH`."))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(_("status"), _("chunks"), _("path"), _("error") if args.errors else _("format"), box=None)
    for column in table.columns[2:]:
        column.overflow = "fold"  # a path or a reason is never cut short: it wraps, whole
    for r in records:
        table.add_row(_(STATUS_NAMES[r.status]) if r.status in STATUS_NAMES else r.status, str(r.chunks), markup_safe(r.path),
                      markup_safe(shown_reason(r.path, r.error)) if args.errors else markup_safe(r.format))
    Console().print(table)
    return 0


def run_watch(args: argparse.Namespace, service: IpponService) -> int:
    from ..core.watch import watch_library

    stop = threading.Event()

    def report(summary) -> None:  # noqa: ANN001 - an IngestSummary
        data = summary.as_dict()
        print(json.dumps(data) if args.json else _summary_line(data), flush=True)

    roots = [r.path for r in service.library.roots() if r.watch]
    if not roots:
        print(_("No watched folders: add one with `ippon add --watch FOLDER`."), file=sys.stderr)
        return 1
    if not args.json:
        print(ngettext("Watching {n} folder; Ctrl-C to stop.", "Watching {n} folders; Ctrl-C to stop.",
                       len(roots)).format(n=len(roots)), file=sys.stderr)
    try:
        watch_library(service.library, on_update=report, stop=stop)
    except KeyboardInterrupt:
        stop.set()
    return 0
