"""Installed models: one folder per model under Config.models_dir, each with a small manifest.

A folder counts as installed only when its manifest is there, and a model arrives by one
rename of a finished folder (built under `.partial/` inside models_dir, on the same disk), so
a failed, cancelled or killed pull or import never shows up as a half-installed model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ...locale import _
from .errors import AlreadyInstalledError, UnknownModelError

MANIFEST = "ippon-model.json"
PARTIAL_DIR = ".partial"
# The config.toml key each kind is used through.
CONFIG_KEY = {"llm": "llm", "embedder": "embedder", "reranker": "reranker", "vl-reranker": "vision_reranker",
              "vl-embedder": "image_embedder"}


@dataclass(frozen=True, slots=True)
class InstalledModel:
    name: str  # the folder's name, e.g. qwen3-1.7b-gguf-q4_k_m
    folder: Path
    kind: str
    format: str
    quant: str
    path: Path  # what the engines load: the .gguf file, or the folder itself
    architecture: str = "qwen3"
    model: str | None = None  # the catalog entry, None for an import the catalog does not know
    dim: int | None = None
    source: dict[str, Any] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    installed_at: str = ""

    @property
    def size_bytes(self) -> int:
        return sum(int(f.get("size", 0)) for f in self.files)

    @property
    def config_key(self) -> str | None:
        return CONFIG_KEY.get(self.kind)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "kind": self.kind, "format": self.format,
                "quant": self.quant, "architecture": self.architecture, "path": str(self.path), "dim": self.dim,
                "bytes": self.size_bytes, "source": self.source, "installed_at": self.installed_at}


def safe_name(text: str) -> str:
    """A folder name from a model or file name: lower case, no spaces or path characters."""
    name = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")
    return name or "model"


def partial_dir(models_dir: Path, name: str) -> Path:
    return Path(models_dir) / PARTIAL_DIR / name


def read_manifest(folder: Path) -> InstalledModel | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return InstalledModel(name=folder.name, folder=folder, kind=data["kind"], format=data["format"],
                              quant=data["quant"], path=(folder / data.get("path", ".")).resolve(),
                              architecture=data.get("architecture", "qwen3"), model=data.get("model"),
                              dim=data.get("dim"), source=data.get("source", {}), files=data.get("files", []),
                              installed_at=data.get("installed_at", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not a model folder (or one damaged by hand): not listed


def installed_models(models_dir: Path) -> list[InstalledModel]:
    root = Path(models_dir)
    if not root.is_dir():
        return []
    found = (read_manifest(d) for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith("."))
    return [m for m in found if m is not None]


def find_installed(models_dir: Path, name: str) -> InstalledModel:
    """By folder name, or by catalog name when exactly one installed model has it (case does not matter)."""
    models = installed_models(models_dir)
    wanted = name.lower()
    exact = [m for m in models if m.name == wanted or m.name == safe_name(name)]
    if exact:
        return exact[0]
    by_model = [m for m in models if (m.model or "").lower() == wanted]
    if len(by_model) == 1:
        return by_model[0]
    if by_model:
        raise UnknownModelError(_("{name!r} is installed {n} times: name one of {names}").format(
            name=name, n=len(by_model), names=", ".join(m.name for m in by_model)))
    raise UnknownModelError(_("no installed model named {name!r}; see `ippon models list`").format(name=name))


def file_entries(folder: Path) -> list[dict[str, Any]]:
    """Every file of a folder with its size and sha256 (the manifest's `files`)."""
    entries = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(8 * 2**20):
                digest.update(block)
        entries.append({"path": path.relative_to(folder).as_posix(), "size": path.stat().st_size,
                        "sha256": digest.hexdigest()})
    return entries


def install(staged: Path, models_dir: Path, name: str, manifest: dict[str, Any]) -> InstalledModel:
    """Write the manifest into a finished folder and move it into place in one rename."""
    target = Path(models_dir) / name
    if target.exists():
        raise AlreadyInstalledError(_("{target}: a model named {name!r} is already installed (`ippon models remove "
                                      "{name}` first)").format(target=target, name=name))
    manifest = {"name": name, **manifest, "installed_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    (staged / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.rename(staged, target)  # staged is inside models_dir: same disk, atomic
    model = read_manifest(target)
    assert model is not None
    return model


def remove_installed(models_dir: Path, name: str) -> InstalledModel:
    """Delete an installed model (and any partial download of the same name)."""
    sweep_removed(models_dir)
    model = find_installed(models_dir, name)
    trash = partial_dir(models_dir, f"removing-{model.name}-{os.getpid()}")
    trash.parent.mkdir(parents=True, exist_ok=True)
    os.rename(model.folder, trash)  # gone from the list at once, even if deleting the bytes is interrupted
    shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(partial_dir(models_dir, model.name), ignore_errors=True)
    return model


def sweep_removed(models_dir: Path) -> None:
    """Leftovers of removals that were interrupted."""
    root = Path(models_dir) / PARTIAL_DIR
    if root.is_dir():
        for leftover in root.glob("removing-*"):
            shutil.rmtree(leftover, ignore_errors=True)
