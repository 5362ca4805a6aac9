"""The model catalog (resources/models.toml): what can be pulled, from which repos, and what it needs."""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import converters

from ...locale import N_, _
from .errors import CatalogError, UnknownModelError

KINDS = ("llm", "embedder", "reranker", "vl-reranker", "vl-embedder")
# What each kind is called on screen (the stored and configured values stay these English ids).
KIND_NAMES = {"llm": N_("LLM"), "embedder": N_("embedder"), "reranker": N_("reranker"),
              "vl-reranker": N_("image reranker"), "vl-embedder": N_("image embedder")}
FORMATS = ("gguf", "mlx", "hf")
# The kinds Ippon's converters (and engines) handle, for the Qwen3 architecture only.
CONVERTIBLE_KINDS = ("llm", "embedder", "reranker")
GIB = 2**30


def kind_name(kind: str) -> str:
    """A model kind in the user's language (an unknown one as it is)."""
    return _(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


# resources/ sits beside the packages, in the repository and (through pyproject's package-data
# entry "../resources/models.toml") in site-packages, so one relative path finds it in both.
DEFAULT_CATALOG = Path(__file__).resolve().parents[3] / "resources" / "models.toml"
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def size_text(n: float) -> str:
    """Bytes for people: GB (binary, as the picker counts) from 0.1 GB up, MB below."""
    return f"{n / GIB:.2f} GB" if n >= GIB / 10 else f"{n / 2**20:.1f} MB"


@dataclass(frozen=True, slots=True)
class Needs:
    """Estimated bytes on disk and in memory for one quantization (see the catalog's header)."""

    disk: int
    memory: int

    def as_dict(self) -> dict[str, float]:
        return {"disk_gb": round(self.disk / GIB, 2), "memory_gb": round(self.memory / GIB, 2)}


@dataclass(frozen=True, slots=True)
class Estimates:
    bytes_per_param: dict[str, float]
    context_tokens: dict[str, int]
    runtime_overhead: int


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    name: str
    kind: str
    params_b: float
    kv_kib_per_token: float
    repo: str
    estimates: Estimates = field(repr=False)
    architecture: str = "qwen3"
    revision: str = "main"
    gguf_repo: str | None = None
    gguf_quants: tuple[str, ...] = ()
    mlx_repos: dict[str, str] = field(default_factory=dict)
    dim: int | None = None
    min_dim: int | None = None
    thinking: bool | None = None
    prefer_conversion: bool = False
    candidate: bool = False
    alternative: bool = False
    gated: bool = False

    @property
    def convertible(self) -> bool:
        """Whether Ippon's converters can build GGUF / MLX from the original checkpoint."""
        return self.architecture == "qwen3" and self.kind in CONVERTIBLE_KINDS

    def formats(self) -> tuple[str, ...]:
        """The formats this model can be installed in (from a build, or by conversion)."""
        found = ["hf"]
        if self.gguf_repo or self.convertible:
            found.insert(0, "gguf")
        if self.mlx_repos or self.convertible:
            found.insert(-1, "mlx")
        return tuple(found)

    def quants(self, fmt: str) -> tuple[str, ...]:
        """The quantizations available in `fmt`: any the converters write, else those of the builds."""
        if fmt == "hf":
            return ("original",)
        if self.convertible:
            return tuple(converters.GGUF_TYPES if fmt == "gguf" else converters.MLX_QUANTS)
        return self.gguf_quants if fmt == "gguf" else tuple(self.mlx_repos)

    def build_repo(self, fmt: str, quant: str) -> str | None:
        """The repo holding a ready build of (fmt, quant), or None when the original must be converted."""
        if fmt == "hf":
            return self.repo
        if self.prefer_conversion and self.convertible:
            return None
        if fmt == "gguf":
            return self.gguf_repo if quant in self.gguf_quants else None
        return self.mlx_repos.get(quant)

    def conversion_disk(self, fmt: str, quant: str) -> int:
        """Disk the original checkpoint takes while it is converted (0 when a build is downloaded)."""
        return 0 if self.build_repo(fmt, quant) else self.needs("original").disk

    def needs(self, quant: str) -> Needs:
        """Disk and memory estimates for one quantization ("original" counts as bf16)."""
        per_param = self.estimates.bytes_per_param.get("bf16" if quant == "original" else quant)
        if per_param is None:
            raise CatalogError(_("no size estimate for quantization {quant!r} (add it to [estimates])").format(quant=quant))
        disk = int(self.params_b * 1e9 * per_param)
        context = self.estimates.context_tokens.get(self.kind, 0)
        kv = int(self.kv_kib_per_token * 1024 * context)
        return Needs(disk=disk, memory=disk + kv + self.estimates.runtime_overhead)

    def as_dict(self) -> dict[str, Any]:
        shown = [q for q in ("q4_k_m", "q8_0", "4bit", "8bit", "bf16") if q in self.estimates.bytes_per_param]
        return {"name": self.name, "kind": self.kind, "architecture": self.architecture, "params_b": self.params_b,
                "repo": self.repo, "gguf_repo": self.gguf_repo, "gguf_quants": list(self.gguf_quants),
                "mlx_repos": dict(self.mlx_repos), "formats": list(self.formats()), "dim": self.dim,
                "min_dim": self.min_dim, "thinking": self.thinking, "alternative": self.alternative,
                "gated": self.gated, "needs": {q: self.needs(q).as_dict() for q in shown}}


@dataclass(frozen=True, slots=True)
class Catalog:
    entries: dict[str, CatalogEntry]
    estimates: Estimates
    source: Path | None = None

    def __iter__(self):  # noqa: ANN204 - an iterator of entries
        return iter(self.entries.values())

    def get(self, name: str) -> CatalogEntry:
        """The entry named `name` (case does not matter), or an error suggesting close names."""
        by_lower = {n.lower(): e for n, e in self.entries.items()}
        entry = by_lower.get(name.lower())
        if entry is None:
            close = difflib.get_close_matches(name, list(self.entries), n=3, cutoff=0.5)
            raise UnknownModelError(
                _("no model named {name!r} in the catalog; did you mean {close}?").format(name=name, close=", ".join(close))
                if close else _("no model named {name!r} in the catalog; see `ippon models list`").format(name=name))
        return entry

    def of_kind(self, kind: str, *, candidates_only: bool = False) -> list[CatalogEntry]:
        return [e for e in self if e.kind == kind and (e.candidate or not candidates_only)]


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and check a catalog file (default: the shipped resources/models.toml)."""
    file = Path(path) if path is not None else DEFAULT_CATALOG
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(_("{file}: the model catalog is missing (reinstall Ippon)").format(file=file)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(_("{file}: cannot read the model catalog: {reason}").format(file=file, reason=exc)) from exc
    estimates = _estimates(file, data.get("estimates", {}))
    entries: dict[str, CatalogEntry] = {}
    for raw in data.get("models", []):
        entry = _entry(file, raw, estimates)
        if entry.name.lower() in {n.lower() for n in entries}:
            raise CatalogError(_("{file}: model {name!r} is listed twice").format(file=file, name=entry.name))
        entries[entry.name] = entry
    if not entries:
        raise CatalogError(_("{file}: the catalog lists no [[models]]").format(file=file))
    return Catalog(entries, estimates, file)


def _estimates(file: Path, raw: dict[str, Any]) -> Estimates:
    try:
        per_param = {str(k): float(v) for k, v in raw["bytes_per_param"].items()}
        context = {str(k): int(v) for k, v in raw["context_tokens"].items()}
        overhead = int(float(raw.get("runtime_overhead_gib", 0)) * GIB)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CatalogError(_("{file}: [estimates] needs bytes_per_param and context_tokens tables ({reason})").format(
            file=file, reason=exc)) from exc
    return Estimates(per_param, context, overhead)


def _entry(file: Path, raw: dict[str, Any], estimates: Estimates) -> CatalogEntry:
    name = raw.get("name")
    where = _("{file}: model {name!r}").format(file=file, name=name)
    if not isinstance(name, str) or not name:
        raise CatalogError(_("{file}: a [[models]] entry has no name").format(file=file))
    if raw.get("kind") not in KINDS:
        raise CatalogError(_("{where}: kind must be one of {kinds}, not {kind!r}").format(
            where=where, kinds=", ".join(KINDS), kind=raw.get("kind")))
    for key in ("repo",):
        if not isinstance(raw.get(key), str) or not _REPO_ID.match(raw[key]):
            raise CatalogError(_("{where}: {key} must be a Hugging Face repo id (owner/name)").format(where=where, key=key))
    params = raw.get("params_b")
    if isinstance(params, bool) or not isinstance(params, (int, float)) or params <= 0:
        raise CatalogError(_("{where}: params_b must be a positive number of billions of parameters").format(where=where))
    gguf = raw.get("gguf") or {}
    gguf_repo = gguf.get("repo")
    gguf_quants = tuple(q.lower() for q in gguf.get("quants", ()))
    if gguf and (not isinstance(gguf_repo, str) or not _REPO_ID.match(gguf_repo) or not gguf_quants):
        raise CatalogError(_("{where}: gguf needs a repo (owner/name) and the quants it holds").format(where=where))
    if unknown := [q for q in gguf_quants if q not in converters.GGUF_TYPES]:
        raise CatalogError(_("{where}: unknown GGUF quantization(s) {quants}").format(where=where, quants=", ".join(unknown)))
    mlx = {str(q): str(r) for q, r in (raw.get("mlx") or {}).items()}
    if bad := [q for q, r in mlx.items() if q not in converters.MLX_QUANTS or not _REPO_ID.match(r)]:
        raise CatalogError(_("{where}: mlx maps a quantization ({quants}) to a repo; bad: {bad}").format(
            where=where, quants=", ".join(converters.MLX_QUANTS), bad=", ".join(bad)))
    if raw["kind"] == "embedder" and not isinstance(raw.get("dim"), int):
        raise CatalogError(_("{where}: an embedder needs its vector size (dim)").format(where=where))
    known = {"name", "kind", "params_b", "kv_kib_per_token", "repo", "architecture", "revision", "gguf", "mlx",
             "dim", "min_dim", "thinking", "prefer_conversion", "candidate", "alternative", "gated"}
    if unknown_keys := sorted(set(raw) - known):
        raise CatalogError(_("{where}: unknown key(s) {keys}").format(where=where, keys=", ".join(unknown_keys)))
    return CatalogEntry(
        name=name, kind=raw["kind"], params_b=float(params), kv_kib_per_token=float(raw.get("kv_kib_per_token", 0)),
        repo=raw["repo"], estimates=estimates, architecture=raw.get("architecture", "qwen3"),
        revision=raw.get("revision", "main"), gguf_repo=gguf_repo, gguf_quants=gguf_quants, mlx_repos=mlx,
        dim=raw.get("dim"), min_dim=raw.get("min_dim"), thinking=raw.get("thinking"),
        prefer_conversion=bool(raw.get("prefer_conversion", False)), candidate=bool(raw.get("candidate", False)),
        alternative=bool(raw.get("alternative", False)), gated=bool(raw.get("gated", False)))
