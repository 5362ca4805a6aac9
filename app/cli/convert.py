"""`ippon convert`: Hugging Face checkpoint to GGUF or MLX."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

import converters

from ..core.service import IpponService
from ..locale import _
from .progress import ProgressBar, describe_conversion


def register(sub: argparse._SubParsersAction) -> None:
    conv = sub.add_parser("convert", help=_("convert a Hugging Face Qwen3 checkpoint to GGUF or MLX"),
                          description=_("Convert a Hugging Face Qwen3 checkpoint (LLM, Qwen3-Embedding or "
                                        "Qwen3-Reranker) to GGUF for llama.cpp or to MLX."))
    conv.add_argument("src", type=Path, help=_("checkpoint folder (config.json, *.safetensors, tokenizer.json)"))
    conv.add_argument("--to", required=True, choices=converters.FORMATS, help=_("output format"))
    conv.add_argument("--out", required=True, type=Path, help=_("output .gguf file or MLX folder"))
    conv.add_argument("--quant", help=f"GGUF: {', '.join(converters.GGUF_TYPES)} (default f16); "
                                      "MLX: 4bit or 8bit (default: keep bf16)")
    conv.add_argument("--group-size", type=int, default=64, choices=(32, 64, 128), help=_("MLX quantization group"))
    conv.add_argument("--kind", choices=[k.value for k in converters.ModelKind],
                      help=_("model kind (default: detected; rerankers are told apart by config.json's _name_or_path, "
                             "a '# Qwen3-Reranker' README heading or their folder name)"))
    conv.add_argument("--verify", action="store_true",
                      help=_("compare with the reference implementation (transformers) before keeping the output"))
    conv.add_argument("--force", action="store_true", help=_("replace the output if it exists"))
    conv.add_argument("--json", action="store_true", help=_("print one JSON object and no progress"))
    conv.set_defaults(handler=run)


def run(args: argparse.Namespace, service: IpponService) -> int:
    cancel = threading.Event()
    with ProgressBar(describe_conversion, enabled=not args.json) as on_progress:
        try:
            result = service.convert_model(args.src, to=args.to, out=args.out, quant=args.quant,
                                           group_size=args.group_size, kind=args.kind, force=args.force,
                                           verify=args.verify, progress=on_progress, cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise
    payload = {"output": str(result.output), "format": result.format, "quant": result.quant,
               "kind": result.kind.value, "kind_evidence": result.kind_evidence,
               "bytes": result.output_bytes, "seconds": round(result.seconds, 3),
               "projector": str(result.projector) if result.projector else None,
               "verification": result.verification.as_dict() if result.verification else None}
    if args.json:
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    print(_("Wrote {path} ({kind}, {format} {quant}, {mib:.1f} MiB) in {s:.1f} s").format(
        path=result.output, kind=result.kind.value, format=result.format, quant=result.quant,
        mib=result.output_bytes / 2**20, s=result.seconds))
    if result.projector:
        print(_("With its image projector: {path}").format(path=result.projector))
    if result.kind_evidence != "given":
        print(_("The kind ({kind}) was told by: {evidence} (pass --kind to choose it)").format(
            kind=result.kind.value, evidence=result.kind_evidence))
    if result.verification:
        print(_("Verified against transformers (fp32):"))
        for check in result.verification.checks:
            print(f"  {check.describe()}")
    return 0
