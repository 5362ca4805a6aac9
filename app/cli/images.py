"""`ippon images index`: vectors from the pixels of the library's images (Qwen3-VL-Embedding, `image_embedder`)."""

from __future__ import annotations

import argparse
import json
import sys

from ..core.service import IpponService
from ..locale import _


def register(sub: argparse._SubParsersAction) -> None:
    images = sub.add_parser("images", help=_("the library's images, found by their pixels (Qwen3-VL-Embedding)"))
    actions = images.add_subparsers(dest="images_command", metavar="ACTION", required=True)
    index = actions.add_parser("index", help=_("embed new and changed images by their pixels (`ippon add` does it "
                                                "too when image_embedder is set)"))
    index.add_argument("--json", action="store_true", help=_("print one JSON object"))
    index.set_defaults(handler=run_index)


def run_index(args: argparse.Namespace, service: IpponService) -> int:
    report = service.index_images()
    errors = [{"path": report.paths[f.index], "reason": f.reason} for f in report.failed]
    if args.json:
        print(json.dumps({"embedded": report.embedded, "kept": report.kept, "images": len(report.paths),
                          "errors": errors}, ensure_ascii=False))
    else:
        print(_("{embedded} images embedded by their pixels, {kept} unchanged, of {total}").format(
            embedded=report.embedded, kept=report.kept, total=len(report.paths)))
    for error in errors:
        print(_("not embedded: {reason}").format(reason=error["reason"]), file=sys.stderr)
    return 1 if errors else 0
