"""`ippon models pull`: a catalog model in the chosen format, from its ready build or by conversion.

Steps: pick the source (the GGUF / MLX build when one exists for the format and quantization,
else the original checkpoint), read its file list with sizes and hashes, check free disk,
download into `.partial/<name>/` inside models_dir (resumable, every hash checked), convert
when needed, then move the finished folder into place with its manifest in one rename.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import threading
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import converters
from engines.errors import EngineError
from engines.llamacpp_backend.gguf_header import read_gguf_layout
from engines.registry import is_apple_silicon

from ...locale import _
from . import machine
from .catalog import CatalogEntry, size_text
from .errors import ModelsError, NotEnoughDiskError
from .download import Downloader, ProgressCallback
from .hub import RemoteFile, RemoteRepo, repo_files
from .installed import (InstalledModel, file_entries, install, partial_dir, read_manifest, safe_name,
                        sweep_removed)

# Files of a checkpoint (original or MLX) worth fetching: weights, configs, tokenizer, template,
# licence. Sentence-transformers keeps its pooling settings in numbered folders (1_Pooling/).
CHECKPOINT_FILES = ("*.json", "*.safetensors", "*.txt", "*.jinja", "*.model", "*.tiktoken", "LICENSE*")
_MODULE_FOLDER = re.compile(r"^\d+_\w+/[^/]+$")
_POOLING_KIND = {3: "embedder", 4: "reranker"}
# Vision projectors (llama.cpp's mmproj files, architecture "clip") sit beside the model in
# GGUF repos, with the same quantization suffix; they are never the model.
_PROJECTOR_NAME = re.compile(r"(^|[-_.])mmproj([-_.]|$)", re.IGNORECASE)
_PROJECTOR_ARCHITECTURES = ("clip", "mmproj")


@dataclass(frozen=True, slots=True)
class PullResult:
    model: InstalledModel
    already_installed: bool = False
    converted: bool = False
    warnings: tuple[str, ...] = ()


def default_format() -> str:
    return "mlx" if is_apple_silicon() else "gguf"


def default_quant(entry: CatalogEntry, fmt: str) -> str:
    """4-bit for LLMs, 8-bit for embedders and rerankers (they lose more to 4-bit); original for hf."""
    if fmt == "hf":
        return "original"
    small = entry.kind == "llm"
    if fmt == "gguf":
        return "q4_k_m" if small else "q8_0"
    return "4bit" if small else "8bit"


def install_name(entry: CatalogEntry, fmt: str, quant: str) -> str:
    return safe_name(f"{entry.name}-hf" if fmt == "hf" else f"{entry.name}-{fmt}-{quant}")


def verification_available() -> bool:
    """Conversions are checked against transformers on PyTorch, installed with `ippon[verify]`."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))


def pull(entry: CatalogEntry, *, models_dir: Path, fmt: str | None = None, quant: str | None = None,
         convert: bool = False, progress: ProgressCallback | None = None,
         cancel: threading.Event | None = None) -> PullResult:
    """Install `entry` in `fmt` (default: mlx on Apple Silicon, else gguf) at `quant`."""
    fmt = (fmt or default_format()).lower()
    if fmt not in entry.formats():
        raise ModelsError(_("{name} is available as {formats}, not {format}").format(
            name=entry.name, formats=", ".join(entry.formats()), format=fmt))
    quant = (quant or default_quant(entry, fmt)).lower()
    if quant not in entry.quants(fmt):
        raise ModelsError(_("{name} in {format} comes as {quants}, not {quant}").format(
            name=entry.name, format=fmt, quants=", ".join(entry.quants(fmt)), quant=quant))
    name = install_name(entry, fmt, quant)
    models_dir = Path(models_dir)
    sweep_removed(models_dir)
    existing = read_manifest(models_dir / name)
    if existing is not None:
        return PullResult(existing, already_installed=True)

    warnings: list[str] = []
    build = None if convert and fmt != "hf" else entry.build_repo(fmt, quant)
    remote, files = None, []
    if build is not None:
        remote = repo_files(build, revision=entry.revision if build == entry.repo else "main")
        files = _build_files(remote, fmt, quant)
        if not files:
            if not entry.convertible:
                raise ModelsError(_("{build} holds no {format} {quant} file, and Ippon cannot convert {name}").format(
                    build=build, format=fmt, quant=quant, name=entry.name))
            warnings.append(_("{build} holds no {quant} file: converting {repo} instead").format(
                build=build, quant=quant, repo=entry.repo))
            build = None
    converting = build is None and fmt != "hf"
    if converting and not entry.convertible:
        raise ModelsError(_("{name} has no {format} {quant} build, and Ippon's converters do not handle its "
                            "architecture ({arch}); pull it with --format hf").format(
            name=entry.name, format=fmt, quant=quant, arch=entry.architecture))
    if build is None:
        remote = repo_files(entry.repo, revision=entry.revision)
        files = _checkpoint_files(remote)
    assert remote is not None
    if not files:
        raise ModelsError(_("{repo} has no model files to download").format(repo=remote.repo))

    staging = partial_dir(models_dir, name)
    # One folder per source repo, so a pull that switches between a build and a conversion never mixes files.
    source_dir = staging / f"from-{safe_name(remote.repo)}"
    downloader = Downloader(remote, source_dir, files, progress=progress, cancel=cancel)
    _check_disk(entry, models_dir, downloader, quant if converting else None, fmt=fmt)
    downloader.run()
    for path in downloader.unverified:
        warnings.append(_("{repo} publishes no hash for {file}: it was installed checked by size only (its "
                          "sha256 is kept in the model's manifest)").format(repo=remote.repo, file=path))

    source = {"repo": remote.repo, "revision": remote.revision, "converted_from": None, "verified": None}
    if downloader.unverified:
        source["unverified_files"] = list(downloader.unverified)
    if converting:
        verify = verification_available()
        if not verify:
            warnings.append(_("torch and transformers are not installed, so the conversion was not checked against "
                              "the reference (pip install 'ippon[verify]' to check it)"))
        final = _convert(entry, source_dir, staging / "build", fmt=fmt, quant=quant, verify=verify,
                         progress=progress, cancel=cancel)
        source.update(converted_from=entry.repo, verified=verify)
    else:
        final = source_dir
        _keep_only(final, {f.path for f in files})
        if fmt == "gguf":
            try:
                for file in files:
                    _check_gguf_build(entry, final / file.path, remote.repo)
            except ModelsError:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    target_file = next((p.name for p in final.glob("*.gguf")), None) if fmt == "gguf" else None
    manifest = {"model": entry.name, "kind": entry.kind, "format": fmt, "quant": quant,
                "architecture": entry.architecture, "dim": entry.dim, "path": target_file or ".",
                "source": source, "files": file_entries(final)}
    model = install(final, models_dir, name, manifest)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.parent.rmdir()  # .partial/, when no other pull is pending
    except OSError:
        pass
    return PullResult(model, converted=converting, warnings=tuple(warnings))


def _build_files(remote: RemoteRepo, fmt: str, quant: str) -> list[RemoteFile]:
    """The one GGUF file of `quant` in a GGUF repo (by its name's suffix, never a vision projector),
    or the files of an MLX build or an original checkpoint."""
    if fmt in ("mlx", "hf"):
        return _checkpoint_files(remote)
    pattern = re.compile(rf"(^|[-_.]){re.escape(quant)}\.gguf$", re.IGNORECASE)
    matches = sorted((f for f in remote.files
                      if "/" not in f.path and pattern.search(f.path) and not _PROJECTOR_NAME.search(f.path)),
                     key=lambda f: len(f.path))
    return matches[:1]


def _checkpoint_files(remote: RemoteRepo) -> list[RemoteFile]:
    return [f for f in remote.files
            if ("/" not in f.path or _MODULE_FOLDER.match(f.path))
            and any(fnmatch(f.path.rsplit("/", 1)[-1], p) for p in CHECKPOINT_FILES)]


def _check_disk(entry: CatalogEntry, models_dir: Path, downloader: Downloader, convert_quant: str | None, *,
                fmt: str) -> None:
    needed = downloader.total - downloader.bytes_on_disk()
    if convert_quant is not None:
        needed += entry.needs(convert_quant).disk
    free = machine.free_disk_bytes(models_dir)
    if needed > free:
        what = (_("{name} ({format}, converted)") if convert_quant else _("{name} ({format})")).format(
            name=entry.name, format=fmt)
        raise NotEnoughDiskError(_("not enough free disk for {what}: it needs {size} and {free} is free under "
                                   "{folder}; free some space or pick a smaller model or quantization (`ippon models "
                                   "recommend`)").format(what=what, size=size_text(needed), free=size_text(free),
                                                         folder=models_dir))


def _keep_only(folder: Path, wanted: set[str]) -> None:
    """Drop what an earlier run left beside the files of this pull (a `.part` of an older revision)."""
    for path in [p for p in folder.rglob("*") if p.is_file()]:
        if path.relative_to(folder).as_posix() not in wanted:
            path.unlink()


def _convert(entry: CatalogEntry, source: Path, out_dir: Path, *, fmt: str, quant: str, verify: bool,
             progress: ProgressCallback | None, cancel: threading.Event | None) -> Path:
    shutil.rmtree(out_dir, ignore_errors=True)  # the leftovers of an earlier, failed conversion
    out = out_dir if fmt == "mlx" else out_dir / f"{entry.name}-{quant}.gguf"
    if fmt == "gguf":
        out_dir.mkdir(parents=True)
    converters.convert(source, to=fmt, out=out, quant=quant, kind=entry.kind, verify=verify,
                       progress=progress, cancel=cancel)
    return out_dir


def _check_gguf_build(entry: CatalogEntry, path: Path, repo: str) -> None:
    """A downloaded GGUF must be whole and hold what the catalog says, or the engines would refuse it later."""
    try:
        meta = read_gguf_layout(path).metadata
    except EngineError as exc:
        raise ModelsError(f"{repo}: {exc}") from exc
    arch = meta.get("general.architecture")
    if arch in _PROJECTOR_ARCHITECTURES or meta.get("general.type") == "mmproj":
        raise ModelsError(_("{repo}/{file} is a vision projector ({arch}), not the {name} model itself").format(
            repo=repo, file=path.name, arch=arch, name=entry.name))
    if entry.architecture != "qwen3":
        return
    kind = _POOLING_KIND.get(int(meta.get(f"{arch}.pooling_type") or 0), "llm")
    if arch != "qwen3" or kind != entry.kind:
        raise ModelsError(_("{repo}/{file} is {arch} {kind}, not the Qwen3 {wanted} Ippon needs; pull with "
                            "--convert to build it from the original checkpoint").format(
            repo=repo, file=path.name, arch=arch, kind=kind, wanted=entry.kind))


__all__ = ["PullResult", "default_format", "default_quant", "install_name", "pull"]
