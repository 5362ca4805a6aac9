"""One frozen configuration object, loaded from TOML; IPPON_HOME overrides the data directory."""

from __future__ import annotations

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

    @property
    def config_file(self) -> Path:
        return self.data_dir / "config.toml"


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
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{file}: unknown setting(s): {', '.join(unknown)}")
    data_dir = Path(str(values.get("data_dir", data_dir))).expanduser()
    models_dir = Path(str(values.get("models_dir", data_dir / "models"))).expanduser()
    threads = values.get("threads", 0)
    if not isinstance(threads, int) or threads < 0:
        raise ConfigError(f"{file}: threads must be a whole number >= 0 (0 means automatic), not {threads!r}")
    remote_url = values.get("remote_url")
    return Config(data_dir=data_dir, models_dir=models_dir, backend=str(values.get("backend", "auto")),
                  remote_url=str(remote_url) if remote_url else None, threads=threads)
