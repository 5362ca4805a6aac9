"""Suite-wide set-up: headless Qt, no MLX kernel compilation, no Hub, a private data dir,
and the suite's own tiny Qwen3 models (built once per factory version, then cached)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

# Before anything imports Qt, mlx or huggingface_hub.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MLX_DISABLE_COMPILE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

from converters import convert  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FACTORY = ROOT / "scripts" / "make_test_models.py"
FACTORY_DATA = ROOT / "scripts" / "testmodels"
CACHE = ROOT / ".cache" / "test-models"


def load_factory():
    spec = importlib.util.spec_from_file_location("make_test_models", FACTORY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _factory_key() -> str:
    digest = hashlib.sha256(FACTORY.read_bytes())
    for path in sorted(FACTORY_DATA.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    """Never touch the user's real data directory."""
    monkeypatch.setenv("IPPON_HOME", str(tmp_path / "ippon-home"))


def cached_test_models() -> dict[str, Path]:
    """name -> folder of each tiny test model, built once per version of the factory (benchmarks use it too)."""
    factory = load_factory()
    return _built_once(CACHE / _factory_key(), factory.TEST_MODEL_NAMES, factory.build_test_models)


def _built_once(folder: Path, names: tuple[str, ...] | list[str], build) -> dict[str, Path]:  # noqa: ANN001
    """name -> folder of each model `build` writes, built into `folder` unless it is all there (built
    beside it first and renamed, so a run that dies half way leaves nothing that looks complete)."""
    if not all((folder / name / "config.json").exists() for name in names):
        tmp = folder.with_name(folder.name + f".building-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        build(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    return {name: folder / name for name in names}


VL_FACTORY = ROOT / "scripts" / "make_test_vl_models.py"


def cached_vl_test_models() -> dict[str, Path]:
    """name -> folder of each tiny Qwen3-VL test model (its own cache key: the suite's models stay put)."""
    spec = importlib.util.spec_from_file_location("make_test_vl_models", VL_FACTORY)
    factory = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(factory)
    key = hashlib.sha256((_factory_key() + VL_FACTORY.read_text(encoding="utf-8")).encode()).hexdigest()[:16]
    return _built_once(CACHE / f"vl-{key}", factory.VL_TEST_MODEL_NAMES, factory.build_vl_test_models)


@pytest.fixture(scope="session")
def vl_test_models() -> dict[str, Path]:
    """name -> folder of each tiny Qwen3-VL test model (vl-reranker, vl-embedder)."""
    return cached_vl_test_models()


@pytest.fixture(scope="session")
def test_models() -> dict[str, Path]:
    """name -> folder of each tiny test model, keyed by the factory's own content."""
    return cached_test_models()


@pytest.fixture()
def model_copy(test_models, tmp_path):
    """A private copy of one test model, for tests that damage it."""
    def copy(name: str) -> Path:
        dst = tmp_path / name
        shutil.copytree(test_models[name], dst)
        return dst
    return copy


@pytest.fixture(scope="session")
def attack_corpus():
    """scripts/attack_corpus.py, the generator of hostile files users and reviewers run too."""
    import sys

    if "attack_corpus" not in sys.modules:
        spec = importlib.util.spec_from_file_location("attack_corpus", ROOT / "scripts" / "attack_corpus.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules["attack_corpus"]


# Tests run llama.cpp on one thread: deterministic, and fair to other processes on the machine.
LLAMA_OPTIONS = {"n_threads": 1}


@pytest.fixture(scope="session")
def engine_models(test_models, tmp_path_factory):
    """(model, fmt) -> path of the converted file or folder, converted on first use.

    fmt: "gguf" (f16), "mlx" (bf16, the converter's default) or "mlx-f32".
    """
    out_dir = tmp_path_factory.mktemp("engine-models")
    cache: dict[tuple[str, str], Path] = {}

    def get(model: str, fmt: str) -> Path:
        if (model, fmt) not in cache:
            to, quant = {"gguf": ("gguf", "f16"), "mlx": ("mlx", None), "mlx-f32": ("mlx", "f32")}[fmt]
            out = out_dir / (f"{model}.gguf" if to == "gguf" else f"{model}-{fmt}")
            cache[model, fmt] = convert(test_models[model], to=to, quant=quant, out=out).output
        return cache[model, fmt]
    return get


def options_for(fmt: str) -> dict:
    return dict(LLAMA_OPTIONS) if fmt == "gguf" else {}
