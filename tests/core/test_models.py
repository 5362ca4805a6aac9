"""Models: the catalog, the picker, pulls from a local Hub (progress, resume, hashes, full disk,
offline, conversion), local imports, the installed registry and the `ippon models` CLI."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tomllib
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import constants as hf_constants

from app.cli import main
from app.core import models
from app.core.models import download as download_module
from app.core.models import hub as hub_module
from app.core.models import machine as machine_module
from app.core.models import pulling as pull_module
from app.core.models.picker import GUIDE_MACHINES
from engines.llamacpp_backend.gguf_header import read_gguf_header

from .hubserver import FakeHub, HubFile, HubRepo

ROOT = Path(__file__).resolve().parents[2]
GIB = 2**30
GGUF_FILE = "Tiny-Embedding-F16.gguf"

TEST_CATALOG = """
[estimates]
runtime_overhead_gib = 0.0
[estimates.bytes_per_param]
f32 = 4.0
f16 = 2.0
bf16 = 2.0
q8_0 = 1.0625
q4_k_m = 0.6
"8bit" = 1.0625
"4bit" = 0.5625
[estimates.context_tokens]
llm = 64

[[models]]
name = "Tiny-Embedding"
kind = "embedder"
params_b = 0.0002
dim = 64
repo = "ippon-test/Tiny-Embedding"
gguf = { repo = "ippon-test/Tiny-Embedding-GGUF", quants = ["f16", "q8_0"] }

[[models]]
name = "Qwen3-0.6B"
kind = "llm"
params_b = 0.0002
repo = "Qwen/Qwen3-0.6B"

[[models]]
name = "Tiny-Chat"
kind = "llm"
params_b = 0.0002
repo = "ippon-test/Tiny-Chat"
mlx = { bf16 = "ippon-test/Tiny-Chat-MLX" }

[[models]]
name = "Tiny-Gone"
kind = "llm"
params_b = 0.0002
repo = "ippon-test/not-on-the-hub"
"""


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture()
def catalog_file(tmp_path) -> Path:
    file = tmp_path / "catalog.toml"
    file.write_text(TEST_CATALOG, encoding="utf-8")
    return file


@pytest.fixture()
def catalog(catalog_file) -> models.Catalog:
    return models.load_catalog(catalog_file)


@pytest.fixture()
def models_dir(tmp_path) -> Path:
    return tmp_path / "models"


@pytest.fixture()
def hub(test_models, engine_models, monkeypatch):
    """The local Hub, serving the suite's tiny models under Hub names, with HF_ENDPOINT pointing at it."""
    server = FakeHub()
    server.add(HubRepo.from_folder("Qwen/Qwen3-0.6B", test_models["llm-untied"]))
    server.add(HubRepo.from_folder("ippon-test/Tiny-Embedding", test_models["embedder"]))
    gguf = engine_models("embedder", "gguf")
    repo = server.add(HubRepo.from_folder("ippon-test/Tiny-Embedding-GGUF", gguf, rename={gguf.name: GGUF_FILE}))
    # A decoy whose name also ends in "f16.gguf": the quantization must be matched as a whole word.
    repo.files["Tiny-Embedding-BF16.gguf"] = HubFile("Tiny-Embedding-BF16.gguf", b"decoy", True)
    server.add(HubRepo.from_folder("ippon-test/Tiny-Chat-MLX", engine_models("llm-tied", "mlx")))
    server.start()
    # conftest sets HF_HUB_OFFLINE=1 before huggingface_hub is imported, which reads it once.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.setattr(download_module, "RETRY_WAIT", 0.0)
    yield server
    server.stop()


def _nothing_installed(models_dir: Path, name: str) -> bool:
    return not (models_dir / name).exists() and models.installed_models(models_dir) == []


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- catalog -------------------------------------------------------------------------------


def test_the_shipped_catalog_loads_and_is_consistent():
    catalog = models.load_catalog()
    assert catalog.source == ROOT / "resources" / "models.toml"
    names = {e.name for e in catalog}
    for expected in ("Qwen3-0.6B", "Qwen3-1.7B", "Qwen3-4B", "Qwen3-8B", "Qwen3-4B-Instruct-2507",
                     "Qwen3-4B-Thinking-2507", "Qwen3-Embedding-0.6B", "Qwen3-Embedding-4B", "Qwen3-Embedding-8B",
                     "Qwen3-Reranker-0.6B", "Qwen3-Reranker-4B", "Qwen3-Reranker-8B", "Qwen3-VL-Reranker-2B",
                     "Qwen3-VL-Reranker-8B"):
        assert expected in names
    assert {e.name: e.dim for e in catalog.of_kind("embedder") if e.name.startswith("Qwen3")} == {
        "Qwen3-Embedding-0.6B": 1024, "Qwen3-Embedding-4B": 2560, "Qwen3-Embedding-8B": 4096}
    assert all(e.min_dim == 32 for e in catalog.of_kind("embedder") if e.name.startswith("Qwen3"))
    alternatives = [e for e in catalog if e.alternative]
    assert {e.kind for e in alternatives} == {"llm", "embedder"} and not any(e.candidate for e in alternatives)
    for entry in catalog:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", entry.repo) and entry.kind in models.catalog.KINDS
        assert entry.params_b > 0
        if entry.architecture == "qwen3":
            assert entry.repo.startswith("Qwen/") and entry.kv_kib_per_token > 0
        for fmt in entry.formats():
            quant = models.default_quant(entry, fmt)
            assert quant in entry.quants(fmt)
            needs = entry.needs(quant)
            assert 0 < needs.disk <= needs.memory
        for quant in entry.gguf_quants:
            assert entry.needs(quant).disk < entry.needs("original").disk or quant in ("f16", "bf16")
    # Estimates in the right range: Qwen3-8B at 4-bit is ~5 GB on disk, the 0.6B embedder at 8-bit ~0.6 GB.
    assert 4 < catalog.get("Qwen3-8B").needs("q4_k_m").disk / GIB < 6
    assert 0.5 < catalog.get("qwen3-embedding-0.6b").needs("q8_0").disk / GIB < 0.8
    # The catalog ships with the package: pyproject's package data names it.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "../resources/models.toml" in pyproject["tool"]["setuptools"]["package-data"]["app"]


def test_catalog_refuses_bad_entries_clearly(tmp_path):
    base = TEST_CATALOG.split("[[models]]")[0]
    cases = {
        'name = "X"\nkind = "vision"\nparams_b = 1\nrepo = "a/b"': "kind must be one of",
        'name = "X"\nkind = "llm"\nparams_b = 1\nrepo = "not a repo"': "repo must be a Hugging Face repo id",
        'name = "X"\nkind = "llm"\nparams_b = 1\nrepo = "a/b"\ngguf = { repo = "a/b-GGUF", quants = ["q3_x"] }':
            "unknown GGUF quantization",
        'name = "X"\nkind = "embedder"\nparams_b = 1\nrepo = "a/b"': "needs its vector size",
        'name = "X"\nkind = "llm"\nparams_b = 1\nrepo = "a/b"\nsize = 3': "unknown key(s) size",
    }
    for entry, message in cases.items():
        file = tmp_path / "bad.toml"
        file.write_text(base + "[[models]]\n" + entry + "\n", encoding="utf-8")
        with pytest.raises(models.CatalogError, match=re.escape(message)):
            models.load_catalog(file)
    with pytest.raises(models.UnknownModelError, match="did you mean Qwen3-4B"):
        models.load_catalog().get("Qwen3-4")


# --- picker --------------------------------------------------------------------------------

# (RAM GB, Apple Silicon, free disk GB) -> LLM, its quant, embedder (dim); the reranker is always 0.6B 8-bit.
# x86 machines have 4 cores and no GPU: 4B and 8B would read too slowly there (1.7B's checkpoint needs converting,
# which 10 GB of free disk does not allow, hence 0.6B).
EXPECTED_PICKS = {
    (8, True, 10): ("Qwen3-1.7B", "4bit", "Qwen3-Embedding-0.6B", 1024),
    (8, True, 500): ("Qwen3-1.7B", "4bit", "Qwen3-Embedding-0.6B", 1024),
    (8, False, 10): ("Qwen3-0.6B", "q4_k_m", "Qwen3-Embedding-0.6B", 1024),
    (8, False, 500): ("Qwen3-1.7B", "q4_k_m", "Qwen3-Embedding-0.6B", 1024),
    (16, True, 10): ("Qwen3-4B", "4bit", "Qwen3-Embedding-0.6B", 1024),
    (16, True, 500): ("Qwen3-4B", "4bit", "Qwen3-Embedding-0.6B", 1024),
    (16, False, 10): ("Qwen3-0.6B", "q4_k_m", "Qwen3-Embedding-0.6B", 1024),
    (16, False, 500): ("Qwen3-1.7B", "q4_k_m", "Qwen3-Embedding-0.6B", 1024),
    (24, True, 10): ("Qwen3-4B", "4bit", "Qwen3-Embedding-0.6B", 1024),
    (24, True, 500): ("Qwen3-8B", "4bit", "Qwen3-Embedding-0.6B", 1024),
    (24, False, 10): ("Qwen3-0.6B", "q4_k_m", "Qwen3-Embedding-0.6B", 1024),
    (24, False, 500): ("Qwen3-1.7B", "q4_k_m", "Qwen3-Embedding-0.6B", 1024),
    (64, True, 10): ("Qwen3-4B", "4bit", "Qwen3-Embedding-0.6B", 1024),
    (64, True, 500): ("Qwen3-8B", "8bit", "Qwen3-Embedding-4B", 2560),
    (64, False, 10): ("Qwen3-0.6B", "q4_k_m", "Qwen3-Embedding-0.6B", 1024),
    (64, False, 500): ("Qwen3-1.7B", "q4_k_m", "Qwen3-Embedding-0.6B", 1024),
}


@pytest.mark.parametrize(("ram", "apple", "disk"), GUIDE_MACHINES)
def test_the_picker_recommends_for_a_table_of_machines(ram, apple, disk):
    rec = models.recommend(models.Machine(ram * GIB, apple, disk * GIB), models.load_catalog())
    llm, quant, embedder, dim = EXPECTED_PICKS[ram, apple, disk]
    fmt = "mlx" if apple else "gguf"
    assert (rec.llm.entry.name, rec.llm.quant, rec.llm.format) == (llm, quant, fmt)
    assert (rec.embedder.entry.name, rec.embedder.dim, rec.embedder.format) == (embedder, dim, fmt)
    assert (rec.reranker.entry.name, rec.reranker.quant) == ("Qwen3-Reranker-0.6B", "8bit" if apple else "q8_0")
    for pick in rec.picks():  # one sentence each
        assert pick.reason.endswith(".") and pick.reason.count(". ") == 0 and len(pick.reason) > 40
    # Within the rules: 60% of RAM for the three, a third for the LLM.
    assert sum(p.memory for p in rec.picks()) <= 0.6 * ram * GIB and rec.llm.memory <= ram * GIB / 3
    data = rec.as_dict()
    assert set(data["llm"]) >= {"name", "params_b", "quant", "format", "reason"} and "dim" in data["embedder"]


def test_the_picker_says_when_the_disk_limits_it():
    catalog = models.load_catalog()
    small = models.recommend(models.Machine(64 * GIB, True, 10 * GIB), catalog)
    assert "disk" in small.llm.reason and "Qwen3-8B" in small.llm.reason  # what RAM alone would allow
    assert "disk" in small.embedder.reason and "Qwen3-Embedding-4B" in small.embedder.reason
    tiny = models.recommend(models.Machine(4 * GIB, False, 2 * GIB), catalog)
    assert tiny.llm.entry.name == "Qwen3-0.6B" and "tight" in tiny.llm.reason
    assert "CPU" in models.recommend(models.Machine(16 * GIB, False, 500 * GIB), catalog).llm.reason


def test_the_picker_chooses_an_llm_this_machine_reads_fast_enough():
    """Issue 18: 24 GB and 2 cores without a GPU fit Qwen3-8B, which would read a prompt for a minute."""
    catalog = models.load_catalog()
    two = models.recommend(models.Machine(24 * GIB, False, 500 * GIB, cores=2), catalog)
    assert (two.llm.entry.name, two.llm.quant) == ("Qwen3-1.7B", "q4_k_m")
    assert "Qwen3-8B would fit" in two.llm.reason and "2 CPU cores" in two.llm.reason
    assert models.recommend(models.Machine(24 * GIB, False, 500 * GIB, cores=8), catalog).llm.entry.name == "Qwen3-4B"
    gpu = models.recommend(models.Machine(24 * GIB, False, 500 * GIB, cores=2, gpu_bytes=12 * GIB), catalog)
    assert gpu.llm.entry.name == "Qwen3-8B" and "NVIDIA GPU" in gpu.llm.reason
    small_gpu = models.recommend(models.Machine(64 * GIB, False, 500 * GIB, cores=2, gpu_bytes=4 * GIB), catalog)
    assert small_gpu.llm.memory <= 4 * GIB * 0.85  # the GPU's memory is the limit, not the RAM
    for rec in (two, gpu):
        assert rec.llm.reason.endswith(".") and rec.llm.reason.count(". ") == 0


def test_the_readme_model_guide_is_the_pickers_own_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert models.guide_table(models.load_catalog()) in readme
    assert readme.index("## Models") < readme.index("## Test models and benchmarks")


def test_this_machine_is_detected(tmp_path):
    machine = models.detect_machine(tmp_path / "not-yet")
    assert machine.ram_bytes > GIB and machine.free_disk_bytes > 0
    assert machine.cores >= 1 and machine.gpu_bytes == 0  # no CUDA build of llama.cpp on these machines
    assumed = models.detect_machine(tmp_path, ram_gib=16, apple_silicon=True, disk_gib=100, cores=8, gpu_gib=0)
    assert assumed == models.Machine(16 * GIB, True, 100 * GIB, cores=8)


# --- the local Hub -------------------------------------------------------------------------


def test_the_local_hub_speaks_the_protocol_huggingface_hub_expects(hub, tmp_path, test_models):
    # huggingface-hub read HF_ENDPOINT when it was imported, so the endpoint is given (as Ippon does).
    path = huggingface_hub.hf_hub_download("Qwen/Qwen3-0.6B", "model-00001-of-00002.safetensors",
                                           cache_dir=tmp_path / "cache", endpoint=hub.url)
    assert Path(path).read_bytes() == (test_models["llm-untied"] / "model-00001-of-00002.safetensors").read_bytes()
    info = huggingface_hub.HfApi(endpoint=hub.url).model_info("Qwen/Qwen3-0.6B", files_metadata=True)
    shard = next(s for s in info.siblings if s.rfilename.endswith(".safetensors"))
    assert shard.lfs.sha256 == _sha256(test_models["llm-untied"] / shard.rfilename)
    assert [r.method for r in hub.log[:2]] == ["HEAD", "GET"]  # what hf_hub_download asked for


# --- pulls ---------------------------------------------------------------------------------


def test_pull_a_gguf_build_with_progress_and_a_manifest(hub, catalog, models_dir, engine_models):
    events = []
    result = models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="f16",
                         progress=events.append)
    model = result.model
    assert not result.converted and not result.already_installed and result.warnings == ()
    assert (model.name, model.kind, model.format, model.quant, model.dim) == (
        "tiny-embedding-gguf-f16", "embedder", "gguf", "f16", 64)
    assert model.path == models_dir / model.name / GGUF_FILE
    assert model.path.read_bytes() == engine_models("embedder", "gguf").read_bytes()
    manifest = json.loads((model.folder / models.MANIFEST).read_text())
    assert manifest["source"]["repo"] == "ippon-test/Tiny-Embedding-GGUF"
    assert manifest["source"]["revision"] == hub.repos["ippon-test/Tiny-Embedding-GGUF"].commit
    assert manifest["files"] == [{"path": GGUF_FILE, "size": model.path.stat().st_size,
                                  "sha256": _sha256(model.path)}]
    assert manifest["installed_at"]
    size = model.path.stat().st_size
    downloads = [e for e in events if e.stage == "download"]
    assert downloads and all(e.file == GGUF_FILE and e.total == size for e in downloads)
    assert [e.done for e in downloads] == sorted(e.done for e in downloads) and downloads[-1].done == size
    assert downloads[-1].rate > 0 and downloads[-1].eta == 0
    assert any(e.stage == "verify" and e.file_done == size for e in events)
    assert [m.name for m in models.installed_models(models_dir)] == [model.name]
    assert not (models_dir / ".partial").exists()
    # Only the one file of that quantization (not the BF16 decoy); HF_TOKEN sent on every request.
    assert {r.path.rsplit("/", 1)[-1] for r in hub.log if "/resolve/" in r.path} == {GGUF_FILE}
    assert {r.authorization for r in hub.log} == {"Bearer hf_test_token"}
    # Pulling again finds it installed.
    again = models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="f16")
    assert again.already_installed and again.model.name == model.name


def test_a_dropped_connection_resumes_with_a_range_request(hub, catalog, models_dir, engine_models):
    hub.drop_after[GGUF_FILE] = 100_000
    model = models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="f16").model
    gets = hub.gets(GGUF_FILE)
    assert len(gets) == 2 and gets[0].range is None
    resumed_at = int(gets[1].range.removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 100_000
    assert model.path.read_bytes() == engine_models("embedder", "gguf").read_bytes()


def test_a_killed_pull_resumes_where_it_stopped(hub, catalog_file, catalog, models_dir, engine_models):
    hub.slow[GGUF_FILE] = 0.05  # ~4 s for the whole file: time to kill it halfway
    code = ("import sys; from pathlib import Path; from app.core import models; "
            "entry = models.load_catalog(sys.argv[1]).get('Tiny-Embedding'); "
            "models.pull(entry, models_dir=Path(sys.argv[2]), fmt='gguf', quant='f16')")
    proc = subprocess.Popen([sys.executable, "-c", code, str(catalog_file), str(models_dir)], cwd=ROOT)
    partial = models_dir / ".partial" / "tiny-embedding-gguf-f16" / "from-ippon-test-tiny-embedding-gguf"
    deadline = time.monotonic() + 60
    part = None
    while time.monotonic() < deadline and proc.poll() is None:
        parts = list(partial.glob("*.part")) if partial.exists() else []
        if parts and parts[0].stat().st_size > 20_000:
            part = parts[0]
            break
        time.sleep(0.02)
    assert part is not None, "the pull did not start"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = part.stat().st_size
    size = engine_models("embedder", "gguf").stat().st_size
    assert 20_000 <= kept < size and _nothing_installed(models_dir, "tiny-embedding-gguf-f16")

    hub.slow.clear()
    events = []
    model = models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="f16",
                        progress=events.append).model
    assert hub.gets(GGUF_FILE)[-1].range == f"bytes={kept}-"
    assert model.path.read_bytes() == engine_models("embedder", "gguf").read_bytes()
    first = next(e for e in events if e.stage == "download")
    assert first.done > kept  # the bytes of the killed run count as done


def test_cancel_stops_cleanly_and_the_next_pull_resumes(hub, catalog, models_dir):
    hub.slow[GGUF_FILE] = 0.01
    cancel = threading.Event()

    def on_progress(event):
        if event.stage == "download" and event.done > 30_000:
            cancel.set()

    with pytest.raises(models.DownloadCancelled, match="resume"):
        models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="f16",
                    progress=on_progress, cancel=cancel)
    assert _nothing_installed(models_dir, "tiny-embedding-gguf-f16")
    part = next((models_dir / ".partial").rglob("*.part"))
    kept = part.stat().st_size
    assert kept > 30_000
    hub.slow.clear()
    models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="f16")
    assert hub.gets(GGUF_FILE)[-1].range == f"bytes={kept}-"


def test_a_corrupted_download_is_fetched_again(hub, catalog, models_dir, engine_models):
    hub.corrupt[GGUF_FILE] = 1
    model = models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="f16").model
    assert len(hub.gets(GGUF_FILE)) == 2
    assert model.path.read_bytes() == engine_models("embedder", "gguf").read_bytes()


def test_a_file_corrupted_twice_is_refused_and_deleted(hub, catalog, models_dir):
    hub.corrupt[GGUF_FILE] = 5
    with pytest.raises(models.ChecksumError, match=f"{GGUF_FILE} does not match the size and hash"):
        models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="f16")
    assert len(hub.gets(GGUF_FILE)) == 2
    assert _nothing_installed(models_dir, "tiny-embedding-gguf-f16")
    assert not [p for p in models_dir.rglob("*") if p.is_file()]  # the bad bytes are gone too


def test_a_full_disk_is_refused_before_downloading(hub, catalog, models_dir, monkeypatch):
    monkeypatch.setattr(machine_module, "free_disk_bytes", lambda path: 100_000)
    with pytest.raises(models.NotEnoughDiskError) as caught:
        models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="f16")
    message = str(caught.value)
    assert re.search(r"needs 0\.\d MB and 0\.1 MB is free under", message) and str(models_dir) in message
    assert not hub.gets(GGUF_FILE) and not models_dir.exists()


def test_no_network_is_said_plainly_with_the_way_out(hub, catalog, models_dir, monkeypatch):
    hub.stop()  # nothing listens there any more
    with pytest.raises(models.OfflineError, match="cannot reach the Hugging Face Hub at http://127.0.0.1") as caught:
        models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="f16")
    assert "ippon models import PATH" in str(caught.value)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.OfflineError, match="HF_HUB_OFFLINE is set.*ippon models import PATH"):
        models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="f16")
    assert not models_dir.exists()


def test_a_repo_missing_from_the_hub_is_named(hub, catalog, models_dir):
    with pytest.raises(models.UnknownModelError, match="ippon-test/not-on-the-hub was not found"):
        models.pull(catalog.get("Tiny-Gone"), models_dir=models_dir, fmt="hf")


def test_without_a_gguf_build_the_original_is_pulled_and_converted(hub, catalog, models_dir, test_models):
    result = models.pull(catalog.get("Qwen3-0.6B"), models_dir=models_dir, fmt="gguf", quant="q8_0")
    model = result.model
    assert result.converted and result.warnings == ()
    assert (model.name, model.format, model.quant, model.kind) == ("qwen3-0.6b-gguf-q8_0", "gguf", "q8_0", "llm")
    assert model.source == {"repo": "Qwen/Qwen3-0.6B", "revision": hub.repos["Qwen/Qwen3-0.6B"].commit,
                            "converted_from": "Qwen/Qwen3-0.6B", "verified": True}
    meta = read_gguf_header(model.path)
    assert meta["general.architecture"] == "qwen3" and meta["general.file_type"] == 7  # q8_0
    assert [f["path"] for f in model.files] == [model.path.name]  # the original is not kept
    assert model.files[0]["sha256"] == _sha256(model.path)
    fetched = {r.path.rsplit("/", 1)[-1] for r in hub.log if r.method == "GET" and "/resolve/" in r.path}
    assert fetched == {p.name for p in test_models["llm-untied"].iterdir()}
    assert not (models_dir / ".partial").exists()


def test_a_quant_missing_from_the_build_repo_is_converted_and_unverified_said_so(hub, catalog, models_dir,
                                                                               monkeypatch):
    monkeypatch.setattr(pull_module, "verification_available", lambda: False)
    result = models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf", quant="q8_0")
    assert result.converted and result.model.source["verified"] is False
    assert any("holds no q8_0 file: converting ippon-test/Tiny-Embedding" in w for w in result.warnings)
    assert any("not checked against the reference" in w for w in result.warnings)
    meta = read_gguf_header(result.model.path)
    assert meta["qwen3.pooling_type"] == 3  # LAST: an embedder, as the catalog says


def test_an_mlx_build_is_pulled_as_a_folder(hub, catalog, models_dir, engine_models):
    model = models.pull(catalog.get("Tiny-Chat"), models_dir=models_dir, fmt="mlx", quant="bf16").model
    assert model.path == model.folder and model.format == "mlx"
    source = engine_models("llm-tied", "mlx")
    for file in source.iterdir():
        assert (model.folder / file.name).read_bytes() == file.read_bytes()
    assert models.inspect_local(model.folder).kind == "llm"


# --- imports and the registry --------------------------------------------------------------


def test_import_checks_kind_and_architecture(engine_models, test_models, models_dir, model_copy, tmp_path):
    gguf = models.import_model(engine_models("embedder", "gguf"), models_dir=models_dir)
    assert (gguf.format, gguf.kind, gguf.quant, gguf.dim) == ("gguf", "embedder", "f16", 64)
    assert gguf.path.read_bytes() == engine_models("embedder", "gguf").read_bytes()
    assert gguf.source == {"imported_from": str(engine_models("embedder", "gguf"))}
    hf = models.import_model(test_models["llm-tied"], models_dir=models_dir)
    assert (hf.name, hf.format, hf.kind, hf.quant) == ("llm-tied-hf", "hf", "llm", "original")
    mlx = models.import_model(engine_models("reranker", "mlx"), models_dir=models_dir, name="my reranker")
    assert (mlx.name, mlx.format, mlx.kind) == ("my-reranker", "mlx", "reranker")
    assert len(models.installed_models(models_dir)) == 3

    with pytest.raises(models.AlreadyInstalledError, match="already installed"):
        models.import_model(engine_models("embedder", "gguf"), models_dir=models_dir)
    with pytest.raises(models.ImportRefusedError, match="holds a model of kind embedder .* not reranker"):
        models.import_model(engine_models("embedder", "gguf"), models_dir=models_dir, kind="reranker", name="x")
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model at all")
    with pytest.raises(models.ImportRefusedError, match="not a GGUF file"):
        models.import_model(fake, models_dir=models_dir)
    with pytest.raises(models.ImportRefusedError, match="no config.json"):
        models.import_model(tmp_path, models_dir=models_dir)
    other = model_copy("llm-untied")
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "model_type": "llama",
                                                   "architectures": ["LlamaForCausalLM"]}))
    with pytest.raises(models.ImportRefusedError, match="unsupported architecture LlamaForCausalLM"):
        models.import_model(other, models_dir=models_dir)
    assert len(models.installed_models(models_dir)) == 3
    assert not (models_dir / ".partial").exists() or not any((models_dir / ".partial").iterdir())

    removed = models.remove_installed(models_dir, "my-reranker")
    assert removed.kind == "reranker" and not removed.folder.exists()
    assert {m.name for m in models.installed_models(models_dir)} == {gguf.name, "llm-tied-hf"}
    with pytest.raises(models.UnknownModelError, match="no installed model named 'my-reranker'"):
        models.remove_installed(models_dir, "my-reranker")


def test_a_folder_without_its_manifest_is_not_installed(models_dir):
    (models_dir / "half").mkdir(parents=True)
    (models_dir / "half" / "model.gguf").write_bytes(b"GGUF")
    assert models.installed_models(models_dir) == []


# --- the CLI -------------------------------------------------------------------------------


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["models", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_recommend(capsys):
    code, out, _ = _cli(capsys, "recommend", "--assume-ram", "16", "--assume-chip", "apple", "--json")
    data = json.loads(out)
    assert code == 0 and data["llm"]["format"] == "mlx" and data["llm"]["quant"] in ("4bit", "8bit")
    assert data["embedder"]["dim"] >= 1024 and data["machine"]["ram_gb"] == 16.0
    code, out, _ = _cli(capsys, "recommend", "--assume-ram", "16", "--assume-chip", "apple", "--assume-disk", "500",
                        "--json")
    data = json.loads(out)
    assert (data["llm"]["name"], data["llm"]["quant"], data["llm"]["params_b"]) == ("Qwen3-4B", "4bit", 4.0)
    assert (data["embedder"]["name"], data["embedder"]["dim"]) == ("Qwen3-Embedding-0.6B", 1024)
    assert data["reranker"]["name"] == "Qwen3-Reranker-0.6B"
    code, out, _ = _cli(capsys, "recommend", "--assume-ram", "8", "--assume-chip", "x86", "--assume-disk", "500")
    assert code == 0 and "Qwen3-1.7B q4_k_m" in out
    assert "ippon models pull Qwen3-1.7B --format gguf --quant q4_k_m --use" in out


def test_cli_import_list_use_remove(capsys, engine_models, tmp_path):
    home = Path(os.environ["IPPON_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("# my settings\ntop_k = 5  # fewer sources\n", encoding="utf-8")
    code, out, _ = _cli(capsys, "import", str(engine_models("embedder", "gguf")), "--json")
    imported = json.loads(out)
    assert code == 0 and imported["kind"] == "embedder" and imported["format"] == "gguf"
    name = imported["name"]

    code, out, _ = _cli(capsys, "list", "--json")
    listed = json.loads(out)
    assert code == 0 and [m["name"] for m in listed["installed"]] == [name]
    assert listed["installed"][0]["in_use"] is None
    assert {e["name"] for e in listed["catalog"]} >= {"Qwen3-4B", "Qwen3-Embedding-0.6B", "Qwen3-Reranker-0.6B"}
    assert all(e["repo"] and e["kind"] and e["needs"] for e in listed["catalog"])

    code, out, _ = _cli(capsys, "use", name, "--dim", "32", "--json")
    assert code == 0 and json.loads(out) == {"embedder": imported["path"], "embed_dim": 32}
    text = (home / "config.toml").read_text(encoding="utf-8")
    assert text.startswith("# my settings\ntop_k = 5  # fewer sources\n")  # the user's lines are kept
    assert tomllib.loads(text) == {"top_k": 5, "embedder": imported["path"], "embed_dim": 32}
    code, out, _ = _cli(capsys, "list", "--json")
    assert json.loads(out)["installed"][0]["in_use"] == "embedder"
    code, out, _ = _cli(capsys, "list")
    assert code == 0 and re.search(rf"{name}\s+embedder\s+gguf f16\s+[\d.]+ [MG]B\s+embedder", out)

    code, out, err = _cli(capsys, "remove", name)
    assert code == 0 and f"Removed {name}" in out and "still points at it" in err
    code, out, _ = _cli(capsys, "list", "--json")
    assert json.loads(out)["installed"] == []


def test_cli_errors_exit_1_with_one_line(capsys, tmp_path):
    for args, message in [
        (("use", "nothing-here"), "no installed model named 'nothing-here'"),
        (("remove", "nothing-here"), "no installed model named 'nothing-here'"),
        (("import", str(tmp_path / "missing.gguf")), "no such file or folder"),
        (("pull", "Qwen3-4"), "no model named 'Qwen3-4' in the catalog; did you mean"),
        (("pull", "Qwen3-0.6B", "--format", "gguf"), "HF_HUB_OFFLINE is set"),  # the suite runs offline
        (("pull", "Qwen3-VL-Reranker-2B", "--format", "gguf"), "available as hf, not gguf"),
    ]:
        code, out, err = _cli(capsys, *args)
        assert code == 1 and out == "", args
        assert err.startswith("ippon: error: ") and err.count("\n") == 1 and message in err, err


def test_cli_pull_against_the_local_hub(capsys, hub, catalog_file):
    code, out, err = _cli(capsys, "pull", "Tiny-Embedding", "--format", "gguf", "--quant", "f16",
                          "--catalog", str(catalog_file), "--use", "--json")
    data = json.loads(out)
    assert code == 0 and data["name"] == "tiny-embedding-gguf-f16" and data["converted"] is False
    assert data["config"] == {"embedder": data["path"]}
    code, out, _ = _cli(capsys, "pull", "Tiny-Embedding", "--format", "gguf", "--quant", "f16",
                        "--catalog", str(catalog_file))
    assert code == 0 and "Already installed: tiny-embedding-gguf-f16" in out


def test_the_models_cli_is_described(capsys):
    with pytest.raises(SystemExit):
        main(["models", "--help"])
    out = capsys.readouterr().out
    assert all(action in out for action in ("recommend", "list", "pull", "import", "remove", "use"))


def test_models_core_imports_no_heavy_library():
    code = textwrap.dedent("""
        import sys, app.core.models, app.cli.models
        print(sorted(m for m in ('huggingface_hub', 'torch', 'mlx', 'llama_cpp', 'PySide6') if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_shutil_is_enough_for_free_disk(tmp_path):
    assert machine_module.free_disk_bytes(tmp_path / "a" / "b") == shutil.disk_usage(tmp_path).free
