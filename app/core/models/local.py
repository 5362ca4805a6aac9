"""`ippon models import PATH`: a GGUF file, an MLX folder or a Hugging Face checkpoint folder,
checked for its kind and architecture, then copied in and installed like a pulled model.

A Qwen3-VL GGUF (the image reranker or embedder) comes as two files, the text model and its
projector `mmproj-<file name>`; both are checked as a pair and copied, the projector keeping
that name so the engines find it beside the model."""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import converters
from converters.qwen3vl import mmproj_path_for, open_qwen3vl_checkpoint
from engines.errors import EngineError
from engines.llamacpp_backend.gguf_header import read_gguf_layout
from engines.llamacpp_backend.vision import check_pair, find_projector

from ...locale import _
from . import machine
from .catalog import KINDS, Catalog, size_text
from .errors import ImportRefusedError, NotEnoughDiskError
from .installed import MANIFEST, InstalledModel, file_entries, install, partial_dir, safe_name

# llama.cpp's `general.file_type` values (enum llama_ftype) for the types Ippon writes or meets most.
GGUF_FILE_TYPES = {0: "f32", 1: "f16", 7: "q8_0", 15: "q4_k_m", 17: "q5_k_m", 18: "q6_k", 32: "bf16", 2: "q4_0",
                   8: "q5_0", 14: "q4_k_s", 16: "q5_k_s", 10: "q2_k", 12: "q3_k_m"}
_POOLING_KIND = {3: "embedder", 4: "reranker"}  # <arch>.pooling_type: LAST, RANK
VL_KINDS = ("vl-reranker", "vl-embedder")
# A Qwen3-VL file or folder does not say which of the two it is; its name does (as for `ippon convert`).
_VL_NAME_KINDS = (("rerank", "vl-reranker"), ("embed", "vl-embedder"))


@dataclass(frozen=True, slots=True)
class LocalModel:
    """What a local file or folder holds, as far as its headers and config say."""

    path: Path
    format: str  # gguf | mlx | hf
    kind: str
    quant: str
    architecture: str
    dim: int | None
    projector: Path | None = None  # a Qwen3-VL GGUF's mmproj file


def inspect_local(path: Path, *, kind: str | None = None, mmproj: Path | None = None) -> LocalModel:
    """Kind, format and quantization of a local model, or ImportRefusedError saying what is wrong.

    `mmproj`: a Qwen3-VL GGUF's projector when it is not `mmproj-<file name>` beside the model.
    """
    path = Path(path).expanduser().absolute()
    if kind is not None and kind not in KINDS:
        raise ImportRefusedError(_("unknown kind {kind!r}; choose one of {kinds}").format(kind=kind, kinds=", ".join(KINDS)))
    if not path.exists():
        raise ImportRefusedError(_("{path}: no such file or folder").format(path=path))
    if path.is_file():
        return _inspect_gguf(path, kind, mmproj)
    if not path.is_dir():  # a FIFO or a device: never opened
        raise ImportRefusedError(_("{path}: not a regular file (a FIFO, socket or device); import a .gguf file or "
                                   "a model folder").format(path=path))
    model_folder_files(path)  # refuses links out of the folder before any file in it is read
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ImportRefusedError(_("{path}: not a model folder (no config.json); import a .gguf file, an MLX folder "
                                   "or a Hugging Face checkpoint folder").format(path=path))
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImportRefusedError(_("{file}: unreadable ({reason})").format(file=config_file, reason=exc)) from exc
    if mmproj is not None:
        raise ImportRefusedError(_("{path}: --mmproj goes with a Qwen3-VL .gguf file; a model folder holds its "
                                   "vision part itself").format(path=path))
    if config.get("model_type") == "qwen3_vl":
        return _inspect_vl_folder(path, config, kind)
    _refuse_vl_kind(path, kind)
    if "ippon_kind" in config or "quantization" in config:
        return _inspect_mlx(path, config, kind)
    try:
        ckpt = converters.open_checkpoint(path, kind=kind)
    except converters.ConversionError as exc:
        raise ImportRefusedError(_("cannot import: {reason}").format(reason=exc)) from exc
    dim = ckpt.dims.hidden_size if ckpt.kind.value == "embedder" else None
    return LocalModel(path, "hf", ckpt.kind.value, "original", "qwen3", dim)


def model_folder_files(root: Path) -> list[tuple[str, Path]]:
    """(path inside the folder, the file whose bytes it holds) for every file of a model folder.

    Links are followed only to regular files inside the folder, or, for a Hugging Face cache
    snapshot (`models--*/snapshots/<rev>/`, whose files are links into the repo's `blobs/`),
    inside that blobs folder; a link out of them, a link to a folder, a link loop or anything
    that is not a regular file (a FIFO, a device) refuses the import, naming it. Hidden files and
    the manifest are left out.
    """
    root = Path(root)
    real_root = root.resolve()
    allowed = [real_root]
    if real_root.parent.name == "snapshots" and real_root.parent.parent.name.startswith("models--"):
        allowed.append(real_root.parent.parent / "blobs")
    found: list[tuple[str, Path]] = []
    pending = [real_root]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.startswith(".") or entry.name == MANIFEST:
                    continue
                shown = Path(entry.path)
                rel = shown.relative_to(real_root).as_posix()
                if entry.is_symlink():
                    found.append((rel, _link_target(shown, allowed)))
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(shown)
                elif entry.is_file(follow_symlinks=False):
                    found.append((rel, shown))
                else:
                    raise ImportRefusedError(_("{path}: not a regular file (a FIFO, socket or device); remove it "
                                               "from the model folder").format(path=shown))
    return sorted(found)


def _link_target(link: Path, allowed: list[Path]) -> Path:
    try:
        target = link.resolve(strict=True)
        mode = target.stat().st_mode
    except (OSError, RuntimeError):
        raise ImportRefusedError(_("{path}: a link that loops or points at nothing; remove it from the model "
                                   "folder").format(path=link)) from None
    if not any(target == root or target.is_relative_to(root) for root in allowed):
        raise ImportRefusedError(_("{path}: a link to {target}, outside the model folder; Ippon does not copy "
                                   "files from outside the folder it imports (copy the file in instead)").format(
                                       path=link, target=target))
    if not stat.S_ISREG(mode):
        raise ImportRefusedError(_("{path}: a link to {target}, which is not a regular file; links to folders "
                                   "and devices are not followed").format(path=link, target=target))
    return target


def _refuse_vl_kind(path: Path, kind: str | None) -> None:
    if kind in VL_KINDS:
        raise ImportRefusedError(_("{path}: not a Qwen3-VL model, so not a {kind} (a Qwen3-VL model is a qwen3vl "
                                   ".gguf file with its mmproj- projector, or a folder whose config.json says "
                                   "model_type qwen3_vl)").format(path=path, kind=kind))


def _vl_kind(path: Path, kind: str | None) -> str:
    """vl-reranker or vl-embedder: as given, else by the file or folder name."""
    if kind is not None and kind not in VL_KINDS:
        raise ImportRefusedError(_("{path}: a Qwen3-VL model, so a vl-reranker or a vl-embedder, not {kind}")
                                 .format(path=path, kind=kind))
    named = {found for word, found in _VL_NAME_KINDS if word in path.name.lower()}
    if kind is None and len(named) != 1:
        raise ImportRefusedError(_("{path}: a Qwen3-VL model whose name does not say whether it is the image "
                                   "reranker or the image embedder; pass --kind vl-reranker or --kind vl-embedder")
                                 .format(path=path))
    return kind or named.pop()


def _gguf_quant(meta: dict) -> str:
    file_type = meta.get("general.file_type")
    return GGUF_FILE_TYPES.get(file_type, f"type{file_type}") if isinstance(file_type, int) else "unknown"


def _inspect_gguf(path: Path, kind: str | None, mmproj: Path | None) -> LocalModel:
    try:
        meta = read_gguf_layout(path).metadata
    except EngineError as exc:
        raise ImportRefusedError(_("cannot import: {reason}").format(reason=exc)) from exc
    arch = str(meta.get("general.architecture", "?"))
    if arch == "qwen3vl":
        return _inspect_vl_gguf(path, meta, kind, mmproj)
    if arch == "clip":
        raise ImportRefusedError(_("{path}: a projector (mmproj), not a model; import the Qwen3-VL model file it "
                                   "belongs to and the projector comes along").format(path=path))
    if arch != "qwen3":
        raise ImportRefusedError(_("{path}: architecture {arch!r}; Ippon runs Qwen3 models (architecture qwen3) "
                                   "and Qwen3-VL models (qwen3vl)").format(path=path, arch=arch))
    _refuse_vl_kind(path, kind)
    if mmproj is not None:
        raise ImportRefusedError(_("{path}: not a Qwen3-VL model, so it takes no projector (--mmproj)")
                                 .format(path=path))
    found = _POOLING_KIND.get(int(meta.get(f"{arch}.pooling_type") or 0), "llm")
    if kind is not None and kind != found:
        raise ImportRefusedError(_("{path}: this GGUF holds a model of kind {found} (by its pooling type), not "
                                   "{kind}; convert the Hugging Face checkpoint with `ippon convert --to gguf` to get "
                                   "one").format(path=path, found=found, kind=kind))
    dim = meta.get(f"{arch}.embedding_length") if found == "embedder" else None
    return LocalModel(path, "gguf", found, _gguf_quant(meta), arch, dim if isinstance(dim, int) else None)


def _inspect_vl_gguf(path: Path, meta: dict, kind: str | None, mmproj: Path | None) -> LocalModel:
    """A qwen3vl text model and its projector, checked as a pair (the engines' own checks)."""
    try:
        projector = find_projector(path, mmproj)
        check_pair(path, projector)
    except EngineError as exc:
        raise ImportRefusedError(_("{path}: a Qwen3-VL model is imported with its projector: {reason}")
                                 .format(path=path, reason=exc)) from exc
    found = _vl_kind(path, kind)
    dim = meta.get("qwen3vl.embedding_length") if found == "vl-embedder" else None
    return LocalModel(path, "gguf", found, _gguf_quant(meta), "qwen3vl", dim if isinstance(dim, int) else None,
                      projector.absolute())


def _inspect_vl_folder(path: Path, config: dict, kind: str | None) -> LocalModel:
    """A Qwen3-VL folder: an MLX one (mlx-vlm's layout) or the Hugging Face checkpoint, which mlx-vlm also runs."""
    if not list(path.glob("*.safetensors")) or not (path / "tokenizer.json").is_file():
        raise ImportRefusedError(_("{path}: a Qwen3-VL folder needs *.safetensors weights and tokenizer.json")
                                 .format(path=path))
    found = _vl_kind(path, kind)
    text = config.get("text_config") or {}
    dim = text.get("hidden_size") if found == "vl-embedder" else None
    if "quantization" not in config and _is_vl_checkpoint(path):
        return LocalModel(path, "hf", found, "original", "qwen3_vl", dim)
    bits = (config.get("quantization") or {}).get("bits")
    dtype = config.get("torch_dtype") or text.get("torch_dtype") or text.get("dtype")
    quant = f"{bits}bit" if bits else ("f32" if dtype == "float32" else "bf16")
    return LocalModel(path, "mlx", found, quant, "qwen3_vl", dim)


def _is_vl_checkpoint(path: Path) -> bool:
    """Whether the weights are in Hugging Face layout (mlx-vlm writes its own tensor names)."""
    try:
        open_qwen3vl_checkpoint(path)
    except converters.ConversionError:
        return False
    return True


def _inspect_mlx(path: Path, config: dict, kind: str | None) -> LocalModel:
    arch = config.get("model_type")
    if arch != "qwen3":
        raise ImportRefusedError(_("{path}: model_type {arch!r}; Ippon runs Qwen3 models (qwen3)").format(path=path,
                                                                                                      arch=arch))
    if not list(path.glob("*.safetensors")) or not (path / "tokenizer.json").is_file():
        raise ImportRefusedError(_("{path}: an MLX folder needs *.safetensors weights and tokenizer.json")
                                 .format(path=path))
    declared = config.get("ippon_kind")
    if declared in KINDS:
        found = declared
    elif (path / "modules.json").is_file() or (path / "1_Pooling").is_dir():
        found = "embedder"
    else:
        found = "reranker" if "rerank" in path.name.lower() else "llm"
    if declared in KINDS and kind is not None and kind != declared:
        raise ImportRefusedError(_("{path}: its config says it is a {declared}, not a {kind}").format(
            path=path, declared=declared, kind=kind))
    found = kind or found
    bits = (config.get("quantization") or {}).get("bits")
    quant = f"{bits}bit" if bits else ("f32" if config.get("torch_dtype") == "float32" else "bf16")
    return LocalModel(path, "mlx", found, quant, "qwen3", config.get("hidden_size") if found == "embedder" else None)


def import_model(path: Path, *, models_dir: Path, name: str | None = None, kind: str | None = None,
                 catalog: Catalog | None = None, mmproj: Path | None = None) -> InstalledModel:
    """Check `path`, copy it under models_dir and install it; the original is left untouched.

    A Qwen3-VL GGUF brings its projector (`mmproj`, else mmproj-<file name> beside it) along.
    """
    local = inspect_local(path, kind=kind, mmproj=mmproj)
    stem = local.path.stem if local.format == "gguf" else local.path.name
    folder_name = safe_name(name or (stem if local.format == "gguf" else f"{stem}-{local.format}"))
    files = [] if local.path.is_file() else model_folder_files(local.path)
    # Every byte that will be copied, the targets of links included.
    size = (sum(f.stat().st_size for f in (local.path, local.projector) if f is not None) if local.path.is_file()
            else sum(src.stat().st_size for _rel, src in files))
    free = machine.free_disk_bytes(models_dir)
    if size > free:
        raise NotEnoughDiskError(_("importing {name} needs {size} of free disk and {free} is free under {folder}")
                                 .format(name=local.path.name, size=size_text(size), free=size_text(free),
                                         folder=models_dir))
    staged = partial_dir(models_dir, f"import-{folder_name}")
    shutil.rmtree(staged, ignore_errors=True)
    staged.parent.mkdir(parents=True, exist_ok=True)
    try:
        staged.mkdir()
        if local.format == "gguf":
            shutil.copy2(local.path, staged / local.path.name)
            if local.projector is not None:  # under the name the engines look for beside the model
                shutil.copy2(local.projector, mmproj_path_for(staged / local.path.name))
        else:
            for rel, source in files:
                (staged / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, staged / rel)  # the bytes, never the link itself
        model = _catalog_name(local, catalog)
        source = {"imported_from": str(local.path)}
        if local.projector is not None:
            source["projector_from"] = str(local.projector)
        manifest = {"model": model, "kind": local.kind, "format": local.format, "quant": local.quant,
                    "architecture": local.architecture, "dim": local.dim,
                    "path": local.path.name if local.format == "gguf" else ".",
                    "source": source, "files": file_entries(staged)}
        return install(staged, models_dir, folder_name, manifest)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _catalog_name(local: LocalModel, catalog: Catalog | None) -> str | None:
    """The catalog entry a file or folder is named after (Qwen3-1.7B-Q8_0.gguf -> Qwen3-1.7B), if any."""
    if catalog is None:
        return None
    stem = local.path.name.lower()
    matches = [e.name for e in catalog if stem.startswith(e.name.lower()) and e.kind == local.kind]
    return max(matches, key=len) if matches else None
