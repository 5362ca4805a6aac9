"""Bad input is refused with a message naming the file and the reason, and leaves nothing behind."""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
import types
from collections import namedtuple

import pytest

from converters import (
    CheckpointError,
    ConversionCancelled,
    DestinationExistsError,
    InsufficientDiskError,
    MissingDependencyError,
    TokenizerError,
    UnsupportedModelError,
    VerificationError,
    convert,
)
from converters import output as output_module
from converters import verify as verify_module


def _outputs(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture()
def out_dir(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _edit_config(model, **changes):
    path = model / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


@pytest.mark.parametrize("to", ["gguf", "mlx"])
def test_unsupported_architecture(model_copy, out_dir, to):
    model = model_copy("llm-tied")
    _edit_config(model, architectures=["LlamaForCausalLM"], model_type="llama")
    with pytest.raises(UnsupportedModelError, match=r"config\.json: unsupported architecture LlamaForCausalLM"):
        convert(model, to=to, out=out_dir / "m")
    assert _outputs(out_dir) == []


def test_missing_tokenizer(model_copy, out_dir):
    model = model_copy("llm-tied")
    (model / "tokenizer.json").unlink()
    with pytest.raises(TokenizerError, match=r"tokenizer\.json: missing"):
        convert(model, to="gguf", out=out_dir / "m.gguf")
    assert _outputs(out_dir) == []


def test_unreadable_tokenizer(model_copy, out_dir):
    model = model_copy("llm-tied")
    (model / "tokenizer.json").write_bytes(b"\x00\x01 not json")
    with pytest.raises(TokenizerError, match=r"tokenizer\.json: (not valid JSON|unreadable)"):
        convert(model, to="gguf", out=out_dir / "m.gguf")
    assert _outputs(out_dir) == []


def test_truncated_safetensors(model_copy, out_dir):
    model = model_copy("llm-tied")
    weights = model / "model.safetensors"
    with open(weights, "r+b") as f:
        f.truncate(weights.stat().st_size // 2)
    with pytest.raises(CheckpointError, match=r"model\.safetensors: truncated"):
        convert(model, to="gguf", out=out_dir / "m.gguf")
    assert _outputs(out_dir) == []


def test_corrupt_safetensors_header(model_copy, out_dir):
    model = model_copy("llm-untied")
    shard = model / "model-00002-of-00002.safetensors"
    data = bytearray(shard.read_bytes())
    data[8:24] = b"{{{{ corrupt ]]]"
    shard.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model-00002-of-00002\.safetensors: corrupt safetensors header"):
        convert(model, to="mlx", out=out_dir / "m")
    assert _outputs(out_dir) == []


def test_shape_that_does_not_match_config(model_copy, out_dir):
    model = model_copy("llm-tied")
    _edit_config(model, intermediate_size=96)
    with pytest.raises(CheckpointError, match=r"model\.layers\.0\.mlp\.gate_proj\.weight has shape \[128, 64\] "
                                              r"but config\.json implies \[96, 64\]"):
        convert(model, to="gguf", out=out_dir / "m.gguf")
    assert _outputs(out_dir) == []


def test_missing_tensor(model_copy, out_dir):
    model = model_copy("llm-tied")
    _edit_config(model, num_hidden_layers=3)
    with pytest.raises(CheckpointError, match=r"tensors missing from the checkpoint: model\.layers\.2\."):
        convert(model, to="gguf", out=out_dir / "m.gguf")


def test_destination_exists_is_kept(test_models, out_dir):
    existing = out_dir / "m.gguf"
    existing.write_bytes(b"precious")
    with pytest.raises(DestinationExistsError, match=r"m\.gguf: already exists \(pass --force"):
        convert(test_models["llm-tied"], to="gguf", out=existing)
    assert existing.read_bytes() == b"precious"


def test_force_replaces_the_destination(test_models, out_dir):
    existing = out_dir / "m"
    existing.mkdir()
    (existing / "old.txt").write_text("old")
    convert(test_models["llm-tied"], to="mlx", out=existing, force=True)
    assert not (existing / "old.txt").exists() and (existing / "config.json").exists()
    assert _outputs(out_dir) == ["m"]


def test_too_little_free_disk(test_models, out_dir, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(output_module.shutil, "disk_usage", lambda _: usage(10**9, 10**9, 1024))
    with pytest.raises(InsufficientDiskError, match=r"not enough free disk: the output needs about"):
        convert(test_models["llm-tied"], to="gguf", out=out_dir / "m.gguf")
    assert _outputs(out_dir) == []


@pytest.mark.parametrize("where", ["reserving", "writing"])
def test_disk_filling_up_during_a_conversion(test_models, out_dir, monkeypatch, where):
    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "reserving":
        monkeypatch.setattr(output_module.os, "posix_fallocate", disk_full, raising=False)
        message = r"m\.gguf\.ippon-partial-\d+: not enough free disk for"
    else:
        monkeypatch.delattr(output_module.os, "posix_fallocate", raising=False)  # as on macOS
        monkeypatch.setattr(output_module.os, "pwrite", disk_full, raising=False)
        message = r"m\.gguf\.ippon-partial-\d+: the disk filled up while writing"
    with pytest.raises(InsufficientDiskError, match=message):
        convert(test_models["llm-tied"], to="gguf", quant="q8_0", out=out_dir / "m.gguf")
    assert _outputs(out_dir) == []


def test_weights_cut_short_after_opening(model_copy, out_dir):
    from converters import open_checkpoint

    model = model_copy("llm-tied")
    ckpt = open_checkpoint(model)
    weights = model / "model.safetensors"
    with open(weights, "r+b") as f:
        f.truncate(weights.stat().st_size // 2)
    with pytest.raises(CheckpointError, match=r"model\.safetensors: tensor .* is cut short \(the file is truncated\)"):
        for name in ckpt.tensors:
            ckpt.read(name)


@pytest.mark.parametrize("to", ["gguf", "mlx"])
def test_cancel_midway_leaves_nothing(test_models, out_dir, to):
    cancel = threading.Event()
    seen = []

    def on_progress(event):
        seen.append(event)
        if event.tensors_done == 5:
            cancel.set()

    with pytest.raises(ConversionCancelled):
        convert(test_models["llm-tied"], to=to, out=out_dir / "m", progress=on_progress, cancel=cancel)
    assert len(seen) == 5 and seen[-1].tensors_total > 5
    assert _outputs(out_dir) == []


def test_failure_while_writing_leaves_nothing(test_models, out_dir, monkeypatch):
    from converters.checkpoint import Checkpoint

    real_read = Checkpoint.view_raw  # every tensor slice is read through it
    calls = []

    def failing_read(self, name, *rows):
        calls.append(name)
        if len(calls) == 7:
            raise OSError("disk went away")
        return real_read(self, name, *rows)

    monkeypatch.setattr(Checkpoint, "view_raw", failing_read)
    with pytest.raises(OSError, match="disk went away"):
        convert(test_models["llm-tied"], to="gguf", quant="q8_0", out=out_dir / "m.gguf")
    assert _outputs(out_dir) == []


def test_failed_verification_keeps_nothing(test_models, out_dir, monkeypatch):
    strict = dict(verify_module._THRESHOLDS["exact"], max_abs_logit_diff=("<=", 0.0))
    monkeypatch.setitem(verify_module._THRESHOLDS, "exact", strict)
    with pytest.raises(VerificationError, match=r"m\.gguf: the converted model does not match the reference: "
                                                r"max_abs_logit_diff"):
        convert(test_models["llm-tied"], to="gguf", quant="f32", out=out_dir / "m.gguf", verify=True)
    assert _outputs(out_dir) == []


def test_leftovers_of_a_killed_conversion_are_swept(test_models, out_dir):
    dead_pid = 2**22 + 12345  # above the kernel's pid_max default: never a live process
    leftover = out_dir / f".m.gguf.ippon-partial-{dead_pid}"
    leftover.write_bytes(b"half a model")
    convert(test_models["llm-tied"], to="gguf", out=out_dir / "m.gguf")
    assert _outputs(out_dir) == ["m.gguf"]


def test_reranker_needs_single_token_yes_and_no(model_copy, out_dir):
    model = model_copy("llm-tied")
    renamed = model.rename(model.parent / "my-reranker")
    tok = json.loads((renamed / "tokenizer.json").read_text())
    # Without the merge that builds "yes", the word becomes several tokens.
    tok["model"]["merges"] = [m for m in tok["model"]["merges"]
                              if (m if isinstance(m, str) else " ".join(m)).replace(" ", "") != "yes"]
    (renamed / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(TokenizerError, match=r"tokenizer\.json: 'yes' is \d+ tokens"):
        convert(renamed, to="gguf", out=out_dir / "m.gguf")
    assert _outputs(out_dir) == []


# --- hostile checkpoints (issue 12, item 9 and the tracebacks list) ---------------------------


@pytest.mark.timeout(60)
def test_a_deeply_nested_safetensors_header_is_corrupt_not_a_recursion_error(attack_corpus, model_copy, out_dir):
    model = model_copy("llm-tied")
    nested = attack_corpus.write_nested_safetensors(out_dir.parent / "nested")
    (model / "model.safetensors").write_bytes((nested / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match=r"model\.safetensors: corrupt safetensors header: it is nested too "
                                              "deeply"):
        convert(model, to="gguf", out=out_dir / "m.gguf")
    assert _outputs(out_dir) == []


def test_a_safetensors_header_claiming_gigabytes_is_refused_before_reading(model_copy, out_dir):
    model = model_copy("llm-tied")
    weights = model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[:8] = (2**40).to_bytes(8, "little")
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model\.safetensors: corrupt safetensors header: it claims "
                                              r"1099511627776 bytes"):
        convert(model, to="gguf", out=out_dir / "m.gguf")


@pytest.mark.parametrize("shard", ["../../outside.safetensors", "/etc/passwd", "..\\evil.safetensors",
                                   "sub/../../x.safetensors", "C:evil.safetensors", ".."])
def test_a_weight_map_naming_files_outside_the_folder_is_refused(model_copy, out_dir, shard):
    model = model_copy("llm-untied")
    index_path = model / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    index["weight_map"]["lm_head.weight"] = shard
    index_path.write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=r"model\.safetensors\.index\.json: weight_map gives tensor "
                                              r"'lm_head\.weight' the file .*not a file name inside the checkpoint"):
        convert(model, to="gguf", out=out_dir / "m.gguf")
    assert _outputs(out_dir) == []


def _hash_named(model_copy, name: str):
    """A copy of the test model under a name that says nothing (as a Hugging Face cache snapshot)."""
    model = model_copy(name)
    return model.rename(model.parent / "3f2a9c0d81b7e6")


@pytest.mark.parametrize("evidence", ["config.json _name_or_path", "README.md heading", "folder name",
                                      "Hugging Face cache folder name"])
def test_a_reranker_is_told_apart_by_the_evidence_llama_cpp_uses(model_copy, out_dir, evidence):
    from converters import ModelKind, open_checkpoint

    model = _hash_named(model_copy, "reranker")
    assert open_checkpoint(model).kind is ModelKind.LLM  # a hash for a name and nothing else: a causal LM
    if evidence == "config.json _name_or_path":
        _edit_config(model, _name_or_path="Qwen/Qwen3-Reranker-0.6B")
    elif evidence == "README.md heading":
        (model / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Qwen3-Reranker-0.6B\n\nText.\n")
    elif evidence == "folder name":
        model = model.rename(model.parent / "qwen3-reranker-copy")
    else:
        snapshot = model.parent / "models--Qwen--Qwen3-Reranker-0.6B" / "snapshots" / model.name
        snapshot.parent.mkdir(parents=True)
        model = model.rename(snapshot)
    result = convert(model, to="gguf", out=out_dir / "m.gguf")
    assert (result.kind, result.kind_evidence) == (ModelKind.RERANKER, evidence)
    assert convert(model, to="gguf", out=out_dir / "n.gguf", kind="llm").kind_evidence == "given"


def test_verify_without_its_reference_libraries_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'ippon\[verify\]'"):
        verify_module.import_reference()
    # Installed, but too old for Qwen3-VL: the same clear message, not an AttributeError later.
    monkeypatch.setitem(sys.modules, "transformers", types.ModuleType("transformers"))
    with pytest.raises(MissingDependencyError, match=r"pip install 'ippon\[verify\]'"):
        verify_module.import_reference(needs=("Qwen3VLForConditionalGeneration",))
