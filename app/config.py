"""One frozen configuration object, loaded from TOML; IPPON_HOME overrides the data directory."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

import platformdirs

from .errors import ConfigError

APP_NAME = "ippon"


@dataclass(frozen=True, slots=True)
class Config:
    data_dir: Path
    models_dir: Path
    backend: str = "auto"  # auto | llamacpp | mlx | remote
    remote_url: str | None = None  # an OpenAI-compatible server, used for model names that are not local files
    threads: int = 0  # llama.cpp threads; 0 means the performance cores
    embedder: str | None = None  # the library's embedder: a GGUF file, an MLX folder or a remote model name
    embed_dim: int | None = None  # Matryoshka size of the stored vectors (default: the model's full size)
    llm: str | None = None  # the answering model: a GGUF file, an MLX folder or a remote model name
    reranker: str | None = None  # Qwen3-Reranker: a GGUF file, an MLX folder or a remote model name
    # Qwen3-VL-Reranker (a GGUF file with its mmproj-<name> beside it, an MLX folder, or a remote
    # model name): when set, it reranks instead of `reranker`, images and PDF pages by their pixels.
    vision_reranker: str | None = None
    # Qwen3-VL-Embedding: when set, the library's images also get vectors from their pixels (one
    # vision pass each, at `ippon add`), and a search finds photos with no text at all.
    image_embedder: str | None = None
    top_k: int = 8  # sources given to the LLM
    candidates: int = 50  # fused search results given to the reranker
    chunk_tokens: int = 400
    chunk_overlap: float = 0.15
    max_file_mb: int = 200
    # Answers in seconds (app/core/budget.py): the wanted time to the first answer token; 0 turns the
    # budget off (every candidate reranked, top_k whole chunks read). top_k and candidates are then
    # the most the budget may use, unless config.toml sets them: a setting given there wins.
    answer_seconds: float = 8.0
    rerank_passage_tokens: int = 96  # the reranker reads this much of each candidate (whole sentences)
    source_passage_tokens: int = 128  # and the LLM this much of each source
    given: tuple[str, ...] = ()  # the settings config.toml sets (not a setting itself)
    # Symbolic links inside an added folder that lead outside it: skipped unless this is true.
    follow_external_links: bool = False
    # `ippon serve`: the HTTP API and MCP server (app/serve)
    serve_host: str = "127.0.0.1"  # another address also needs `ippon serve --allow-remote`
    serve_port: int = 8765
    serve_origins: tuple[str, ...] = ()  # browser origins allowed by CORS; none by default
    serve_max_body_kb: int = 1024  # larger request bodies are refused with 413
    serve_max_tokens: int = 4096  # the most tokens one request may ask a model to generate
    serve_queue: int = 64  # requests that may wait for the embedder and for the reranker; more get 429
    serve_chat_queue: int = 8  # generations that may wait for the LLM; more are told 429 (try later)

    @property
    def config_file(self) -> Path:
        return self.data_dir / "config.toml"

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mb * 2**20


# Settings a user may write in config.toml, with the type each must have and a check.
_CHECKS = {
    "backend": (str, lambda v: v in ("auto", "llamacpp", "mlx", "remote"), "auto, llamacpp, mlx or remote"),
    "remote_url": (str, lambda v: v.startswith(("http://", "https://")), "an http:// or https:// URL"),
    "threads": (int, lambda v: v >= 0, "a whole number >= 0 (0 means automatic)"),
    "embedder": (str, lambda v: bool(v), "a model file, folder or name"),
    "embed_dim": (int, lambda v: v >= 32, "a whole number >= 32"),
    "llm": (str, lambda v: bool(v), "a model file, folder or name"),
    "reranker": (str, lambda v: bool(v), "a model file, folder or name"),
    "vision_reranker": (str, lambda v: bool(v), "a model file, folder or name"),
    "image_embedder": (str, lambda v: bool(v), "a model file, folder or name"),
    "top_k": (int, lambda v: 1 <= v <= 100, "a whole number from 1 to 100"),
    "candidates": (int, lambda v: 1 <= v <= 1000, "a whole number from 1 to 1000"),
    "chunk_tokens": (int, lambda v: 64 <= v <= 8192, "a whole number from 64 to 8192"),
    "chunk_overlap": ((int, float), lambda v: 0 <= v < 0.5, "a fraction from 0 to 0.5"),
    "max_file_mb": (int, lambda v: v > 0, "a whole number of megabytes > 0"),
    "answer_seconds": ((int, float), lambda v: 0 <= v <= 3600, "seconds from 0 (no budget) to 3600"),
    "rerank_passage_tokens": (int, lambda v: 16 <= v <= 8192, "a whole number from 16 to 8192"),
    "source_passage_tokens": (int, lambda v: 16 <= v <= 8192, "a whole number from 16 to 8192"),
    "follow_external_links": (bool, lambda v: True, "true or false"),
    "serve_host": (str, lambda v: bool(v.strip()), "a host name or IP address"),
    "serve_port": (int, lambda v: 0 <= v <= 65535, "a port number from 0 to 65535"),
    "serve_origins": (list, lambda v: all(isinstance(o, str) and o.startswith(("http://", "https://")) for o in v),
                      "a list of origins like [\"http://localhost:3000\"]"),
    "serve_max_body_kb": (int, lambda v: 1 <= v <= 1024 * 1024, "a whole number of kilobytes from 1 to 1048576"),
    "serve_max_tokens": (int, lambda v: 1 <= v <= 1_000_000, "a whole number from 1 to 1000000"),
    "serve_queue": (int, lambda v: 0 <= v <= 10_000, "a whole number from 0 to 10000"),
    "serve_chat_queue": (int, lambda v: 0 <= v <= 10_000, "a whole number from 0 to 10000"),
}


def default_data_dir() -> Path:
    home = os.environ.get("IPPON_HOME")
    return Path(home).expanduser() if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def load_config(path: Path | None = None) -> Config:
    """Read config.toml from the data directory (or `path`); missing keys take their defaults."""
    data_dir = default_data_dir()
    file = path or data_dir / "config.toml"
    values: dict[str, object] = {}
    if file.exists():
        try:
            values = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{file}: cannot read the configuration: {exc}") from exc
    known = {f.name for f in fields(Config)} - {"given"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{file}: unknown setting(s): {', '.join(unknown)}")
    for key, value in values.items():
        if key in _CHECKS:
            kind, ok, expected = _CHECKS[key]
            if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind) or not ok(value):
                raise ConfigError(f"{file}: {key} must be {expected}, not {value!r}")
    data_dir = Path(str(values.pop("data_dir", data_dir))).expanduser()
    models_dir = Path(str(values.pop("models_dir", data_dir / "models"))).expanduser()
    if "serve_origins" in values:
        values["serve_origins"] = tuple(values["serve_origins"])
    return Config(data_dir=data_dir, models_dir=models_dir, given=tuple(sorted(values)), **values)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def update_config_file(updates: dict[str, object], path: Path | None = None) -> Path:
    """Set (or, with None, remove) top-level keys of config.toml, keeping every other line and comment.

    The result is checked by loading it before it replaces the file, so a bad value never
    leaves a configuration that the app cannot start with.
    """
    file = path or default_data_dir() / "config.toml"
    unknown = sorted(set(updates) - ({f.name for f in fields(Config)} - {"given"}))
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    lines = file.read_text(encoding="utf-8").splitlines() if file.exists() else []
    pending = dict(updates)
    out = []
    for line in lines:
        key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else None
        if key in pending:
            value = pending.pop(key)
            if value is not None:
                out.append(f"{key} = {_toml_value(value)}")
            continue
        out.append(line)
    out.extend(f"{key} = {_toml_value(value)}" for key, value in pending.items() if value is not None)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
    try:
        load_config(tmp)
    except ConfigError:
        tmp.unlink()
        raise
    os.replace(tmp, file)
    return file
