"""Hostile Hub servers and hostile model files (issue 12, items 5 and 9 and the models list): every
attack ends within seconds with a clear error naming the file, and nothing is installed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import gguf
import numpy as np
import pytest

from app.core import models
from app.core.models import download as download_module
from app.core.models import machine as machine_module

from .hubserver import HubFile
from .test_models import GGUF_FILE, _nothing_installed, catalog, catalog_file, hub, models_dir  # noqa: F401

NAME = "tiny-embedding-gguf-f16"
GGUF_REPO = "ippon-test/Tiny-Embedding-GGUF"


def _pull(catalog, models_dir, **options):  # noqa: F811 - the fixtures imported above
    return models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="gguf",
                       **{"quant": "f16", **options})


def _no_files_left(models_dir: Path) -> bool:
    return not models_dir.exists() or not [p for p in models_dir.rglob("*") if p.is_file()]


# --- hostile servers -----------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_server_streaming_forever_stops_at_the_declared_size(hub, catalog, models_dir):
    hub.endless.add(GGUF_FILE)
    size = len(hub.repos[GGUF_REPO].files[GGUF_FILE].data)
    with pytest.raises(models.ChecksumError, match=f"sent more of {GGUF_FILE} than the {size} bytes"):
        _pull(catalog, models_dir)
    assert _nothing_installed(models_dir, NAME) and _no_files_left(models_dir)
    assert len(hub.gets(GGUF_FILE)) == 1  # not tried again: a server that lies about a size is not flaky


@pytest.mark.timeout(60)
def test_a_trickling_server_is_cut_off_below_the_minimum_rate(hub, catalog, models_dir, monkeypatch):
    hub.trickle[GGUF_FILE] = 0.05  # 20 bytes a second: each byte resets any read timeout
    monkeypatch.setattr(download_module, "STALL_WINDOW", 0.5)
    monkeypatch.setattr(download_module, "MIN_RATE", 1000)
    monkeypatch.setattr(download_module, "RETRIES", 2)
    with pytest.raises(models.OfflineError, match=f"download of {GGUF_FILE} .* is too slow .*2 times"):
        _pull(catalog, models_dir)
    assert _nothing_installed(models_dir, NAME) and len(hub.gets(GGUF_FILE)) == 2


@pytest.mark.timeout(60)
def test_a_redirect_loop_is_named(hub, catalog, models_dir):
    hub.redirect_loop.add(GGUF_FILE)
    with pytest.raises(models.ModelsError, match=f"redirected {GGUF_FILE} too many times .*HF_ENDPOINT"):
        _pull(catalog, models_dir)
    assert _nothing_installed(models_dir, NAME)
    hub.redirect_loop.add("/api/models")
    with pytest.raises(models.ModelsError, match=f"redirected the file list of {GGUF_REPO} too many times"):
        _pull(catalog, models_dir)


def test_cli_import_of_a_linked_folder_is_one_line_and_exit_1(capsys, model_copy, secret):
    from app.cli import main

    folder = model_copy("llm-tied")
    (folder / "notes.txt").symlink_to(secret)
    code = main(["models", "import", str(folder)])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("ippon: error: ") and f"a link to {secret}, outside the model folder" in err


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["endless", "trickle", "nested"])
def test_a_hostile_file_list_is_bounded(hub, catalog, models_dir, monkeypatch, kind):
    from app.core.models import hub as hub_module

    monkeypatch.setattr(hub_module, "MAX_LIST_BYTES", 2**20)
    monkeypatch.setattr(hub_module, "LIST_SECONDS", 1.0)
    hub.hostile_list = kind
    expected = ("sent a file list of .* that is not one" if kind == "nested"
                else f"sent more than 1 MB, or for longer than 1 s, as the file list of {GGUF_REPO}")
    with pytest.raises(models.ModelsError, match=expected):
        _pull(catalog, models_dir)
    assert _no_files_left(models_dir)


@pytest.mark.parametrize(("name", "listed_size", "reason"), [
    ("evil\0.gguf", None, "control characters"),
    ("a" * 300 + ".gguf", None, "longer than 200 bytes"),
    ("..\\..\\evil-f16.gguf", None, "backslash"),
    ("C:evil.gguf", None, "colon"),
    ("../evil.gguf", None, "leaves its folder"),
    ("negative.gguf", -100, "size -100 is not a number of bytes"),
])
def test_names_and_sizes_no_file_system_should_take_are_refused(hub, catalog, models_dir, name, listed_size,
                                                               reason):
    hub.repos[GGUF_REPO].files[name] = HubFile(name, b"x", True, listed_size=listed_size)
    with pytest.raises(models.ModelsError, match=f"lists a file of {GGUF_REPO} that Ippon refuses to write, "
                                                 f".*: .*{reason}"):
        _pull(catalog, models_dir)
    assert _no_files_left(models_dir) and not hub.gets(GGUF_FILE)


def test_rate_limits_and_server_errors_are_retried_honouring_retry_after(hub, catalog, models_dir, monkeypatch,
                                                                       engine_models):
    waits = []
    monkeypatch.setattr(download_module, "_pause", lambda seconds, cancel: waits.append(seconds))
    hub.answers[GGUF_FILE] = [(429, {"Retry-After": "7"}), (503, {"Retry-After": "100000"}), (502, {})]
    model = _pull(catalog, models_dir).model
    assert model.path.read_bytes() == engine_models("embedder", "gguf").read_bytes()
    # Retry-After as given, capped, or the backoff when there is none (RETRY_WAIT is 0 in these tests).
    assert waits == [7.0, download_module.MAX_RETRY_AFTER, 0.0]
    assert len(hub.gets(GGUF_FILE)) == 4


def test_a_server_that_keeps_refusing_is_given_up_with_the_status(hub, catalog, models_dir, monkeypatch):
    monkeypatch.setattr(download_module, "_pause", lambda seconds, cancel: None)
    hub.answers[GGUF_FILE] = [(503, {})] * 10
    with pytest.raises(models.ModelsError, match=f"answered 503 to {GGUF_FILE} 5 times in a row; try again later"):
        _pull(catalog, models_dir)
    assert len(hub.gets(GGUF_FILE)) == download_module.RETRIES and _nothing_installed(models_dir, NAME)


def test_a_gated_repo_says_to_accept_the_licence_and_set_hf_token(hub, catalog, models_dir):
    hub.answers[GGUF_FILE] = [(401, {"X-Error-Code": "GatedRepo"})]
    with pytest.raises(models.ModelsError, match=f"{GGUF_REPO} is gated: accept its licence on the model's page "
                                                 rf"\(https://huggingface.co/{GGUF_REPO}\).*HF_TOKEN"):
        _pull(catalog, models_dir)


def test_a_file_without_a_published_hash_is_said_and_hashed_locally(hub, catalog, models_dir):
    hub.repos[GGUF_REPO].files[GGUF_FILE].unhashed = True
    result = _pull(catalog, models_dir)
    assert any(f"publishes no hash for {GGUF_FILE}" in w for w in result.warnings)
    assert result.model.source["unverified_files"] == [GGUF_FILE]
    manifest = json.loads((result.model.folder / models.MANIFEST).read_text())
    assert manifest["files"][0]["sha256"] and manifest["source"]["unverified_files"] == [GGUF_FILE]


def test_an_old_huggingface_hub_is_named_with_the_version_to_install(hub, catalog, models_dir, monkeypatch):
    import importlib.metadata

    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda name: "1.3.0" if name == "huggingface-hub" else real(name))
    with pytest.raises(models.ModelsError, match=r"needs huggingface-hub>=2\.0,<3 \(found 1\.3\.0\): please install"):
        _pull(catalog, models_dir)


# --- what a pull picks and checks ----------------------------------------------------------


def _projector_gguf(path: Path) -> bytes:
    """A vision projector as llama.cpp writes them: architecture clip."""
    writer = gguf.GGUFWriter(path, "clip")
    writer.add_type("mmproj")
    writer.add_tensor("v.patch_embd.weight", np.ones((4, 32), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


def test_a_vision_projector_is_never_picked_as_the_model(hub, catalog, models_dir, tmp_path, engine_models):
    # Shorter than the model's name and of the same quantization: the old pick took it.
    projector = "mmproj-model-f16.gguf"
    hub.repos[GGUF_REPO].files[projector] = HubFile(projector, _projector_gguf(tmp_path / "p.gguf"), True)
    model = _pull(catalog, models_dir).model
    assert model.path.name == GGUF_FILE and not hub.gets(projector)
    assert model.path.read_bytes() == engine_models("embedder", "gguf").read_bytes()


def test_a_projector_under_a_model_name_is_refused_by_its_header(hub, catalog, models_dir, tmp_path):
    disguised = "Tiny-Embedding-Q8_0.gguf"
    hub.repos[GGUF_REPO].files[disguised] = HubFile(disguised, _projector_gguf(tmp_path / "p.gguf"), True)
    with pytest.raises(models.ModelsError, match=f"{GGUF_REPO}/{disguised} is a vision projector \\(clip\\)"):
        _pull(catalog, models_dir, quant="q8_0")
    assert _nothing_installed(models_dir, "tiny-embedding-gguf-q8_0")


def test_a_truncated_gguf_build_is_refused_before_it_is_installed(hub, catalog, models_dir, engine_models):
    whole = engine_models("embedder", "gguf").read_bytes()
    hub.repos[GGUF_REPO].files[GGUF_FILE] = HubFile(GGUF_FILE, whole[: len(whole) - 4096], True)
    with pytest.raises(models.ModelsError, match=f"{GGUF_FILE}: the file is truncated"):
        _pull(catalog, models_dir)
    assert _nothing_installed(models_dir, NAME)


def test_pull_format_hf_takes_the_checkpoint_not_gguf_files(hub, catalog, models_dir, test_models):
    result = models.pull(catalog.get("Tiny-Embedding"), models_dir=models_dir, fmt="hf")
    assert (result.model.format, result.model.quant) == ("hf", "original")
    names = {f["path"] for f in result.model.files}
    source = test_models["embedder"]
    assert names == {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()}
    assert "config.json" in names and any(n.endswith(".safetensors") for n in names)


# --- hostile local models ------------------------------------------------------------------


@pytest.fixture()
def secret(tmp_path) -> Path:
    path = tmp_path / "home" / "secret.txt"
    path.parent.mkdir()
    path.write_text("the user's private notes", encoding="utf-8")
    return path


def _nothing_copied(models_dir: Path, secret: Path) -> bool:
    return models.installed_models(models_dir) == [] and not any(
        p.is_file() and p.read_bytes() == secret.read_bytes() for p in models_dir.rglob("*")) \
        if models_dir.exists() else True


def test_import_refuses_a_link_out_of_the_model_folder(model_copy, models_dir, secret):
    folder = model_copy("llm-tied")
    (folder / "notes.txt").symlink_to(secret)
    with pytest.raises(models.ImportRefusedError, match=f"{folder / 'notes.txt'}: a link to {secret}, outside the "
                                                        "model folder"):
        models.import_model(folder, models_dir=models_dir)
    assert _nothing_copied(models_dir, secret)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("link", "points_to", "message"), [
    ("loop.json", "loop.json", "a link that loops or points at nothing"),
    ("dangling.json", "missing.json", "a link that loops or points at nothing"),
    ("up", "..", "outside the model folder"),
    ("same", ".", "not a regular file"),
])
def test_import_refuses_loops_and_links_to_folders(attack_corpus, model_copy, models_dir, link, points_to,
                                                   message):
    folder = model_copy("llm-tied")
    os.symlink(points_to, folder / link)
    with pytest.raises(models.ImportRefusedError, match=f"{folder / link}: .*{message}"):
        models.import_model(folder, models_dir=models_dir)
    assert models.installed_models(models_dir) == []


@pytest.mark.timeout(30)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="this system has no FIFOs")
def test_import_of_a_fifo_is_refused_without_opening_it(tmp_path, models_dir):
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)
    with pytest.raises(models.ImportRefusedError, match=f"{fifo}: not a regular file"):
        models.import_model(fifo, models_dir=models_dir)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    os.mkfifo(folder / "tokenizer.json")
    with pytest.raises(models.ImportRefusedError, match=f"{folder / 'tokenizer.json'}: not a regular file"):
        models.import_model(folder, models_dir=models_dir)


def test_the_attack_corpus_model_folders_are_refused(attack_corpus, tmp_path, models_dir, secret):
    made = attack_corpus.write_linked_model_folder(tmp_path / "attacks", target=secret)
    for name, folder in made.items():
        with pytest.raises(models.ImportRefusedError):
            models.import_model(folder, models_dir=models_dir)
    assert _nothing_copied(models_dir, secret)


def test_a_hugging_face_cache_snapshot_imports_with_its_links_followed_into_blobs(test_models, tmp_path,
                                                                                 models_dir, monkeypatch):
    repo = tmp_path / "hub" / "models--ippon-test--tiny"
    blobs, snapshot = repo / "blobs", repo / "snapshots" / "0123abcd"
    blobs.mkdir(parents=True)
    snapshot.mkdir(parents=True)
    total = 0
    for file in test_models["llm-tied"].iterdir():
        blob = blobs / f"blob-{file.name}"
        blob.write_bytes(file.read_bytes())
        (snapshot / file.name).symlink_to(Path("../../blobs") / blob.name)
        total += blob.stat().st_size
    # Every byte behind the links counts for the disk check.
    monkeypatch.setattr(machine_module, "free_disk_bytes", lambda path: total - 1)
    with pytest.raises(models.NotEnoughDiskError):
        models.import_model(snapshot, models_dir=models_dir)
    monkeypatch.setattr(machine_module, "free_disk_bytes", lambda path: total)
    model = models.import_model(snapshot, models_dir=models_dir, name="tiny")
    copied = [p for p in model.folder.iterdir() if p.name != models.MANIFEST]
    assert sorted(p.name for p in copied) == sorted(p.name for p in test_models["llm-tied"].iterdir())
    assert not any(p.is_symlink() for p in copied) and model.size_bytes == total


@pytest.mark.parametrize(("attack", "message"), [
    ("write_nested_gguf", "arrays nested more than 4 deep"),
    ("write_gguf_claiming_tensors", "claims 4611686018427387904 tensors, more than its"),
    ("write_truncated_gguf", "the file is truncated: tensor 'token_embd.weight' ends at byte"),
])
@pytest.mark.timeout(30)
def test_import_checks_every_gguf_header_and_size(attack_corpus, tmp_path, models_dir, attack, message):
    path = getattr(attack_corpus, attack)(tmp_path / "attack.gguf")
    with pytest.raises(models.ImportRefusedError, match=f"{path}: .*{message}"):
        models.import_model(path, models_dir=models_dir)
    assert models.installed_models(models_dir) == []


def test_import_refuses_a_weight_map_naming_files_outside(attack_corpus, tmp_path, models_dir):
    folder = attack_corpus.write_escaping_weight_map(tmp_path / "escape")
    with pytest.raises(models.ImportRefusedError, match="weight_map gives tensor 'model.embed_tokens.weight' the "
                                                        "file '../../outside.safetensors'"):
        models.import_model(folder, models_dir=models_dir)


def test_a_gguf_with_more_keys_or_tensors_than_any_model_is_refused(attack_corpus, tmp_path, models_dir,
                                                                    monkeypatch):
    from engines.llamacpp_backend import gguf_header

    path = attack_corpus.write_truncated_gguf(tmp_path / "many.gguf")  # 3 keys and 1 tensor
    monkeypatch.setattr(gguf_header, "MAX_KEYS", 2)
    with pytest.raises(models.ImportRefusedError, match="claims 3 metadata keys, more than .* any model has"):
        models.import_model(path, models_dir=models_dir)
    monkeypatch.setattr(gguf_header, "MAX_KEYS", 100)
    monkeypatch.setattr(gguf_header, "MAX_TENSORS", 0)
    with pytest.raises(models.ImportRefusedError, match="claims 1 tensors, more than .* any model has"):
        models.import_model(path, models_dir=models_dir)


def test_cli_convert_reports_the_evidence_for_the_kind(capsys, model_copy, tmp_path):
    from app.cli import main

    model = model_copy("reranker")
    model = model.rename(model.parent / "5d41402abc4b2a76")  # an HF cache snapshot's name says nothing
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "_name_or_path": "Qwen/Qwen3-Reranker-0.6B"}))
    code = main(["convert", str(model), "--to", "gguf", "--out", str(tmp_path / "r.gguf"), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and (data["kind"], data["kind_evidence"]) == ("reranker", "config.json _name_or_path")
    code = main(["convert", str(model), "--to", "gguf", "--out", str(tmp_path / "s.gguf")])
    assert code == 0 and "The kind (reranker) was told by: config.json _name_or_path" in capsys.readouterr().out
