"""A real server on 127.0.0.1 (a free port) over a small library, with the suite's tiny models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from app.config import load_config
from app.core.service import IpponService
from app.serve.server import IpponServer

# The trained tiny model answers RAG_QUESTION exactly from fuji.md (scripts/testmodels/chat_examples.json).
DOCS = {"fuji.md": "# 富士山\n\n富士山の標高は3776メートルです。静岡県と山梨県にまたがります。",
        "port.txt": "サーバーのポート番号は8080です。",
        "manuals/network.md": "# ネットワーク\n\nネットワーク設定のポート番号は443です。ファイアウォールを確認します。"}
RAG_QUESTION = "富士山の標高は？"
RAG_ANSWER = "富士山の標高は3776メートルです[1]。"


@dataclass
class Running:
    server: IpponServer
    service: IpponService
    url: str
    key: str
    home: Path
    docs: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def write_home(root: Path, engine_models, *, llm: str, **settings) -> tuple[Path, Path]:
    """A data folder with config.toml naming the tiny models, and a library of DOCS added to it."""
    docs, home = root / "docs", root / "home"
    for name, text in DOCS.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text, encoding="utf-8")
    home.mkdir()
    lines = [f'data_dir = "{home}"', "threads = 1", f'llm = "{engine_models(llm, "gguf")}"',
             f'embedder = "{engine_models("embedder", "gguf")}"', f'reranker = "{engine_models("reranker", "gguf")}"']
    lines += [f"{key} = {value!r}" for key, value in settings.items()]
    (home / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    service = IpponService(load_config(home / "config.toml"))
    service.add([docs])
    service.close()
    return home, docs


def start(home: Path, docs: Path) -> Running:
    service = IpponService(load_config(home / "config.toml"))
    server = IpponServer(service, port=0)
    listening = server.start()
    return Running(server, service, listening.url, listening.key, home, docs)


@pytest.fixture(scope="module")
def running(tmp_path_factory, engine_models):
    """The trained chat model, the embedder and the reranker, default limits."""
    home, docs = write_home(tmp_path_factory.mktemp("serve"), engine_models, llm="llm-chat")
    run = start(home, docs)
    yield run
    run.server.stop()
