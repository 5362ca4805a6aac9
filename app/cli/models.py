"""`ippon models recommend | list | pull | import | remove | use`: the models from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

import converters

from ..core import models
from ..core.service import IpponService
from .progress import ProgressBar, describe_conversion, stage_name
from ..locale import N_, _
from .terminal import markup_safe


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("models", help=_("recommend, download, import and choose models"),
                           description=_("The models Ippon runs: a recommendation for this machine, downloads "
                                         "from the Hugging Face Hub (resumable, verified), local imports, and "
                                         "which installed model config.toml uses."))
    actions = group.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    catalog = argparse.ArgumentParser(add_help=False)
    catalog.add_argument("--catalog", type=Path, metavar="FILE",
                         help=_("a catalog file of one's own (default: the shipped resources/models.toml)"))

    rec = actions.add_parser("recommend", parents=[catalog], help=_("the LLM, embedder and reranker for this machine"))
    rec.add_argument("--assume-ram", type=float, metavar="GB", help=_("plan for this much RAM instead"))
    rec.add_argument("--assume-chip", choices=("apple", "x86"), help=_("plan for Apple Silicon (MLX) or not (GGUF)"))
    rec.add_argument("--assume-disk", type=float, metavar="GB", help=_("plan for this much free disk instead"))
    rec.add_argument("--assume-cores", type=int, metavar="N", help=_("plan for this many CPU cores instead"))
    rec.add_argument("--assume-gpu", type=float, metavar="GB",
                     help=_("plan for an NVIDIA GPU with this much memory (0: none) instead"))
    rec.add_argument("--json", action="store_true")
    rec.set_defaults(handler=run_recommend)

    lst = actions.add_parser("list", parents=[catalog], help=_("the catalog and the installed models"))
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=run_list)

    pull = actions.add_parser("pull", parents=[catalog], help=_("download a catalog model (converting if needed)"),
                              description=_("Download a catalog model into the models folder. Without an official "
                                            "build in the chosen format and quantization, the original checkpoint "
                                            "is downloaded and converted. An interrupted pull resumes when run again."))
    pull.add_argument("name", metavar="NAME", help=_("a catalog name (see `ippon models list`)"))
    pull.add_argument("--format", choices=models.catalog.FORMATS,
                      help=_("default: mlx on Apple Silicon, gguf elsewhere; hf keeps the original checkpoint"))
    pull.add_argument("--quant", help=_("GGUF: q4_k_m, q8_0, f16, …; MLX: 4bit, 8bit, bf16 "
                                        "(default: 4-bit for LLMs, 8-bit for embedders and rerankers)"))
    pull.add_argument("--convert", action="store_true", help=_("build from the original even if a build exists"))
    pull.add_argument("--use", action="store_true", help=_("then point config.toml at it"))
    pull.add_argument("--json", action="store_true", help=_("print one JSON object and no progress"))
    pull.set_defaults(handler=run_pull)

    imp = actions.add_parser("import", help=_("install a local GGUF file, MLX folder or Hugging Face checkpoint"),
                             description=_("Copy a local model into the models folder after checking its kind and "
                                           "architecture: a .gguf file, an MLX folder, or a Hugging Face checkpoint "
                                           "folder (config.json, *.safetensors, tokenizer.json). A Qwen3-VL .gguf "
                                           "(image reranker or embedder) is copied with its projector, "
                                           "mmproj-<file name> beside it."))
    imp.add_argument("path", type=Path, metavar="PATH")
    imp.add_argument("--name", help=_("the installed name (default: from the file or folder name)"))
    imp.add_argument("--kind", choices=models.catalog.KINDS,
                     help=_("what it is, when its name and config do not tell (rerankers look like LLMs; a Qwen3-VL "
                            "model is a vl-reranker or a vl-embedder)"))
    imp.add_argument("--mmproj", type=Path, metavar="FILE",
                     help=_("a Qwen3-VL .gguf's projector, when it is not mmproj-<file name> beside the model"))
    imp.add_argument("--use", action="store_true", help=_("then point config.toml at it"))
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(handler=run_import)

    rm = actions.add_parser("remove", help=_("delete an installed model"))
    rm.add_argument("name", metavar="NAME")
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(handler=run_remove)

    use = actions.add_parser("use", help=_("point config.toml's llm, embedder, reranker, vision_reranker or "
                                           "image_embedder at an installed model"))
    use.add_argument("name", metavar="NAME")
    use.add_argument("--dim", type=int, help=_("embedders: the vector size to store (Matryoshka, 32 up to full)"))
    use.add_argument("--json", action="store_true")
    use.set_defaults(handler=run_use)


def describe_models_progress(event: Any) -> tuple[str, int, int, str]:
    """Downloads in MB (rich counts whole units), conversions per tensor."""
    if isinstance(event, models.DownloadProgress):
        done, total = (event.file_done, event.file_total) if event.stage == "verify" else (event.done, event.total)
        total_mb = max(1, -(-total // 10**6))
        done_mb = total_mb if done >= total else done // 10**6
        if event.stage == "verify":
            return "verify", done_mb, total_mb, f"{stage_name('verify')} {event.file}"
        rate = f" {event.rate / 1e6:.1f} MB/s" if event.rate else ""
        return "download", done_mb, total_mb, f"MB {event.file}{rate}"
    if isinstance(event, converters.ConversionProgress):
        return describe_conversion(event)
    return "work", 0, 1, str(event)


def _size(n: float) -> str:
    return models.catalog.size_text(n)


def run_recommend(args: argparse.Namespace, service: IpponService) -> int:
    rec = service.recommend_models(ram_gb=args.assume_ram, chip=args.assume_chip, disk_gb=args.assume_disk,
                                   cores=args.assume_cores, gpu_gb=args.assume_gpu,
                                   catalog=args.catalog)
    vision = service.recommend_vision_reranker(rec.machine, catalog=args.catalog)
    if args.json:
        print(json.dumps({**rec.as_dict(), "vision_reranker": vision.as_dict() if vision else None},
                         ensure_ascii=False))
        return 0
    m = rec.machine
    fmt = "MLX (Metal)" if m.apple_silicon else "GGUF (llama.cpp)"
    print(_("For {ram:.0f} GB RAM, {chip}, {compute}, {disk:.0f} GB free disk: {fmt} builds").format(
        ram=m.ram_gib, chip=_("Apple Silicon") if m.apple_silicon else _("x86 / other"), compute=m.compute,
        disk=m.free_disk_gib, fmt=fmt))
    for pick in rec.picks():
        what = (_("{name} {quant} (about {size} of memory, {dim}-dimension vectors)") if pick.dim else
                _("{name} {quant} (about {size} of memory)")).format(name=pick.entry.name, quant=pick.quant,
                                                                     size=_size(pick.memory), dim=pick.dim)
        print(f"  {models.catalog.kind_name(pick.role):<9} {what}")
        print(f"            {pick.reason}")
    print(_("Install them with:"))
    for pick in rec.picks():
        print(f"  ippon models pull {pick.entry.name} --format {pick.format} --quant {pick.quant} --use")
    if vision is not None:
        print(_("Optional, to judge screenshots and figures by their pixels: {name}").format(name=vision.entry.name))
        print(f"            {vision.reason}")
        print(f"  ippon models pull {vision.entry.name} --format hf --use")
    return 0


ROLE_NAMES = {"llm": N_("answering model (llm)"), "embedder": N_("embedder"), "reranker": N_("reranker"),
              "vision_reranker": N_("image reranker (vision_reranker)"),
              "image_embedder": N_("image embedder (image_embedder)")}


def configured_models(service: IpponService, in_use: dict[str, str]) -> list[dict[str, str | None]]:
    """What config.toml sets for each role, and the installed model it is (None: a path or name of its own)."""
    installed_as = {key: name for name, key in in_use.items()}
    rows = []
    for key in ROLE_NAMES:
        value = getattr(service.config, key)
        if value:
            rows.append({"role": key, "value": str(value), "installed": installed_as.get(key)})
    return rows


def run_list(args: argparse.Namespace, service: IpponService) -> int:
    catalog = service.model_catalog(args.catalog)
    installed = service.installed_models()
    in_use = service.models_in_use()
    by_model: dict[str, list[str]] = {}
    for m in installed:
        by_model.setdefault(m.model or "", []).append(m.name)
    if args.json:
        print(json.dumps({
            "catalog": [{**e.as_dict(), "installed": by_model.get(e.name, [])} for e in catalog],
            "installed": [{**m.as_dict(), "in_use": in_use.get(m.name)} for m in installed],
            "configured": configured_models(service, in_use),
        }, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(_("model"), _("kind"), _("params"), _("formats"), _("installed"), box=None, title=_("Catalog"))
    for column in table.columns:
        column.overflow = "fold"  # Japanese headings are wide: wrap them rather than cut them
    for e in catalog:
        names = [f"{n}{' *' if n in in_use else ''}" for n in by_model.get(e.name, [])]
        label = _("{name} (alternative)").format(name=e.name) if e.alternative else e.name
        table.add_row(markup_safe(label), models.catalog.kind_name(e.kind), f"{e.params_b:g}B", ", ".join(e.formats()),
                      markup_safe("\n".join(names), keep_newlines=True))
    console = Console()
    console.print(table)
    configured = configured_models(service, in_use)
    if configured:
        setting = Table(_("role"), _("config.toml"), _("installed as"), box=None, title=_("Configured"))
        for row in configured:
            setting.add_row(_(ROLE_NAMES[row["role"]]), markup_safe(row["value"]),
                            markup_safe(row["installed"] or _("(its own path or name)")))
        for column in setting.columns[1:]:
            column.overflow = "fold"  # a path is never cut short
        console.print(setting)
    if installed:
        mine = Table(_("installed"), _("kind"), _("format"), _("size"), _("used as"), box=None, title=_("Installed"))
        for m in installed:
            mine.add_row(markup_safe(m.name), models.catalog.kind_name(m.kind), f"{m.format} {m.quant}", _size(m.size_bytes),
                         in_use.get(m.name, ""))
        console.print(mine)
    elif configured:
        console.print(_("Nothing in the models folder yet; config.toml uses the models above. "
                        "`ippon models import PATH` copies one in."))
    else:
        console.print(_("Nothing installed yet: `ippon models recommend`, then `ippon models pull NAME`."))
    return 0


IMPORTED = N_("Imported {name} ({kind}, {format} {quant}, {size}) at {path}")


def _report(model: models.InstalledModel, verb: str, args: argparse.Namespace, extra: dict | None = None) -> None:
    """`verb`: the N_() sentence that says what happened, with the model's {name}, {kind}, … in it."""
    if args.json:
        print(json.dumps({**model.as_dict(), **(extra or {})}, ensure_ascii=False))
    else:
        print(_(verb).format(name=model.name, kind=models.catalog.kind_name(model.kind), format=model.format,
                             quant=model.quant, size=_size(model.size_bytes), path=model.path))


def _then_use(args: argparse.Namespace, service: IpponService, model: models.InstalledModel) -> dict | None:
    if not getattr(args, "use", False):
        if not args.json and model.config_key:
            print(_("Use it with `ippon models use {name}`.").format(name=model.name))
        return None
    written = service.use_model(model.name)
    if not args.json:
        _print_use(written)
    return written


def run_pull(args: argparse.Namespace, service: IpponService) -> int:
    cancel = threading.Event()
    with ProgressBar(describe_models_progress, enabled=not args.json) as on_progress:
        try:
            result = service.pull_model(args.name, format=args.format, quant=args.quant, convert=args.convert,
                                        catalog=args.catalog, progress=on_progress, cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            print(_("ippon: interrupted; run the same command again to resume the download"), file=sys.stderr)
            raise
    for warning in result.warnings:
        print(_("ippon: warning: {message}").format(message=warning), file=sys.stderr)
    verb = (N_("Already installed: {name} ({kind}, {format} {quant}, {size}) at {path}") if result.already_installed
            else N_("Converted and installed {name} ({kind}, {format} {quant}, {size}) at {path}") if result.converted
            else N_("Installed {name} ({kind}, {format} {quant}, {size}) at {path}"))
    if args.json:
        used = _then_use(args, service, result.model)
        _report(result.model, verb, args, {"already_installed": result.already_installed,
                                           "converted": result.converted, "warnings": list(result.warnings),
                                           "config": used})
        return 0
    _report(result.model, verb, args)
    _then_use(args, service, result.model)
    return 0


def run_import(args: argparse.Namespace, service: IpponService) -> int:
    model = service.import_model(args.path, name=args.name, kind=args.kind, mmproj=args.mmproj)
    if args.json:
        used = _then_use(args, service, model)
        _report(model, IMPORTED, args, {"config": used})
        return 0
    _report(model, IMPORTED, args)
    _then_use(args, service, model)
    return 0


def run_remove(args: argparse.Namespace, service: IpponService) -> int:
    model, key = service.remove_model(args.name)
    if args.json:
        print(json.dumps({"removed": model.name, "was_in_use_as": key}))
        return 0
    print(_("Removed {name} ({size} freed).").format(name=model.name, size=_size(model.size_bytes)))
    if key:
        print(_("ippon: warning: config.toml's `{key}` still points at it: `ippon models use` another one")
              .format(key=key), file=sys.stderr)
    return 0


def _print_use(written: dict) -> None:
    for key, value in written.items():
        print(f"config.toml: {key} = {value}" if value is not None else
              _("config.toml: {key} removed (full size)").format(key=key))
    if "embedder" in written:
        print(_("The library's vectors come from the embedder: run `ippon reindex --vectors` to recompute them."))
    if "image_embedder" in written:
        print(_("The images' vectors come from the image embedder: run `ippon images index` to compute them."))


def run_use(args: argparse.Namespace, service: IpponService) -> int:
    written = service.use_model(args.name, dim=args.dim)
    if args.json:
        print(json.dumps(written, ensure_ascii=False))
    else:
        _print_use(written)
    return 0
