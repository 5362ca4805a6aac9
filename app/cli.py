"""`ippon …`: each subcommand is a thin call into app.core.service.IpponService."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import converters

from .config import load_config
from .core.service import IpponService
from .errors import IpponError

# Errors whose message is meant for the user; anything else is a bug and keeps its traceback.
USER_ERRORS = (IpponError, converters.ConversionError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ippon", description="一本 Ippon — private, Japanese-first RAG on Qwen3.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    conv = sub.add_parser("convert", help="convert a Hugging Face Qwen3 checkpoint to GGUF or MLX",
                          description="Convert a Hugging Face Qwen3 checkpoint (LLM, Qwen3-Embedding or "
                                      "Qwen3-Reranker) to GGUF for llama.cpp or to MLX.")
    conv.add_argument("src", type=Path, help="checkpoint folder (config.json, *.safetensors, tokenizer.json)")
    conv.add_argument("--to", required=True, choices=converters.FORMATS, help="output format")
    conv.add_argument("--out", required=True, type=Path, help="output .gguf file or MLX folder")
    conv.add_argument("--quant", help=f"GGUF: {', '.join(converters.GGUF_TYPES)} (default f16); "
                                      "MLX: 4bit or 8bit (default: keep bf16)")
    conv.add_argument("--group-size", type=int, default=64, choices=(32, 64, 128), help="MLX quantization group")
    conv.add_argument("--kind", choices=[k.value for k in converters.ModelKind],
                      help="model kind (default: detected; rerankers are told apart by their folder name)")
    conv.add_argument("--verify", action="store_true",
                      help="compare with the reference implementation (transformers) before keeping the output")
    conv.add_argument("--force", action="store_true", help="replace the output if it exists")
    conv.add_argument("--json", action="store_true", help="print one JSON object and no progress")
    conv.set_defaults(handler=_cmd_convert)
    return parser


def _cmd_convert(args: argparse.Namespace, service: IpponService) -> int:
    cancel = threading.Event()
    with _progress_display(enabled=not args.json) as on_progress:
        try:
            result = service.convert_model(args.src, to=args.to, out=args.out, quant=args.quant,
                                           group_size=args.group_size, kind=args.kind, force=args.force,
                                           verify=args.verify, progress=on_progress, cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise
    payload = {"output": str(result.output), "format": result.format, "quant": result.quant,
               "kind": result.kind.value, "bytes": result.output_bytes, "seconds": round(result.seconds, 3),
               "verification": result.verification.as_dict() if result.verification else None}
    if args.json:
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    print(f"Wrote {result.output} ({result.kind.value}, {result.format} {result.quant}, "
          f"{result.output_bytes / 2**20:.1f} MiB) in {result.seconds:.1f} s")
    if result.verification:
        print("Verified against transformers (fp32):")
        for check in result.verification.checks:
            print(f"  {check.describe()}")
    return 0


class _progress_display:
    """A rich progress bar on a terminal; nothing when quiet or not a terminal."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._bar = None

    def __enter__(self) -> Callable[[converters.ConversionProgress], None] | None:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeRemainingColumn(), transient=True)
        self._bar.start()
        tasks: dict[str, int] = {}

        def on_progress(event: converters.ConversionProgress) -> None:
            if event.stage not in tasks:
                tasks[event.stage] = self._bar.add_task(event.stage, total=event.tensors_total)
            self._bar.update(tasks[event.stage], completed=event.tensors_done,
                             description=f"{event.stage} {event.tensor}"[:48])

        return on_progress

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        # The desktop window arrives with the GUI; until then the CLI is the whole app.
        parser.print_help()
        return 0
    try:
        service = IpponService(load_config())
        return args.handler(args, service)
    except USER_ERRORS as exc:
        print(f"ippon: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ippon: cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
