"""The configuration file: defaults, checks with clear messages, and updates that keep the user's lines."""

from __future__ import annotations

import pytest

from app.config import load_config, update_config_file
from app.errors import ConfigError


def test_defaults_and_ippon_home(tmp_path, monkeypatch):
    monkeypatch.setenv("IPPON_HOME", str(tmp_path))
    config = load_config()
    assert config.data_dir == tmp_path and config.models_dir == tmp_path / "models"
    assert (config.chunk_tokens, config.top_k, config.llm) == (400, 8, None)


def test_bad_values_name_the_file_and_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("IPPON_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text("top_k = 0\n")
    with pytest.raises(ConfigError, match=r"config.toml: top_k must be a whole number from 1 to 100, not 0"):
        load_config()
    (tmp_path / "config.toml").write_text("colour = 'red'\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config()


def test_updates_keep_comments_and_other_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("IPPON_HOME", str(tmp_path))
    file = tmp_path / "config.toml"
    file.write_text("# my settings\nthreads = 2\nllm = \"/old.gguf\"\n", encoding="utf-8")
    update_config_file({"llm": "/モデル/new.gguf", "top_k": 5})
    assert file.read_text(encoding="utf-8").startswith("# my settings\nthreads = 2\nllm = \"/モデル/new.gguf\"")
    config = load_config()
    assert (config.llm, config.top_k, config.threads) == ("/モデル/new.gguf", 5, 2)
    update_config_file({"llm": None})
    assert load_config().llm is None and "llm" not in file.read_text(encoding="utf-8")
    with pytest.raises(ConfigError):
        update_config_file({"top_k": 1000})
    assert load_config().top_k == 5  # a rejected update changes nothing
