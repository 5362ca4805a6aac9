"""Qwen3-VL checkpoints -> GGUF text model + mmproj projector, in llama.cpp's own layout, all or nothing."""

from __future__ import annotations

import json
import shutil
import threading

import pytest

from app.cli import main
from converters import ConversionCancelled, ConversionError, convert
from converters.errors import CheckpointError, DestinationExistsError


@pytest.fixture()
def vl_copy(vl_test_models, tmp_path):
    def copy(name: str = "vl-reranker"):
        dst = tmp_path / "src" / name
        shutil.copytree(vl_test_models[name], dst)
        return dst
    return copy


def read(path):
    import gguf

    reader = gguf.GGUFReader(str(path))
    fields = {k: f.contents() for k, f in reader.fields.items() if not k.startswith(("GGUF.", "tokenizer."))}
    return fields, {t.name: (list(reversed(t.shape.tolist())), t.tensor_type.name) for t in reader.tensors}


def test_convert_writes_the_text_model_and_its_projector(vl_test_models, tmp_path):
    out = tmp_path / "out" / "vl.gguf"
    result = convert(vl_test_models["vl-reranker"], to="gguf", quant="q8_0", out=out)
    assert result.output == out and result.projector == out.with_name("mmproj-vl.gguf")
    assert result.output_bytes == out.stat().st_size + result.projector.stat().st_size
    text, text_tensors = read(out)
    assert text["general.architecture"] == "qwen3vl"
    assert text["qwen3vl.rope.dimension_sections"] == [8, 4, 4, 0]
    assert text["qwen3vl.n_deepstack_layers"] == 2
    assert "output.weight" not in text_tensors  # tied: llama.cpp reads the head off token_embd
    assert not any(name.startswith(("v.", "mm.")) for name in text_tensors)
    proj, tensors = read(result.projector)
    assert proj["general.architecture"] == "clip" and proj["general.type"] == "mmproj"
    assert proj["clip.projector_type"] == "qwen3vl_merger"
    assert proj["clip.vision.projection_dim"] == text["qwen3vl.embedding_length"]
    assert proj["clip.vision.is_deepstack_layers"] == [True, False, True]
    assert proj["clip.vision.image_size"] == 128  # sqrt(64 positions) x 16
    # The two-frame patch embedding as two 2-D kernels; deepstack mergers under the vision layer they read.
    assert tensors["v.patch_embd.weight"] == ([32, 3, 16, 16], "F16")
    assert tensors["v.patch_embd.weight.1"] == ([32, 3, 16, 16], "F16")
    assert tensors["v.position_embd.weight"][1] == "F32"
    assert {"v.deepstack.0.fc1.weight", "v.deepstack.2.fc2.weight", "mm.0.weight", "mm.2.weight",
            "v.post_ln.weight"} <= set(tensors)
    assert "v.deepstack.1.fc1.weight" not in tensors


def test_patch_kernels_are_the_checkpoints_two_frames(vl_test_models, tmp_path):
    import numpy as np
    import torch
    from safetensors.torch import load_file

    out = tmp_path / "vl.gguf"
    convert(vl_test_models["vl-reranker"], to="gguf", quant="f32", out=out)
    import gguf

    tensors = {t.name: t for t in gguf.GGUFReader(str(out.with_name("mmproj-vl.gguf"))).tensors}
    source = load_file(str(vl_test_models["vl-reranker"] / "model.safetensors"))[
        "model.visual.patch_embed.proj.weight"].to(torch.float32).numpy()
    for frame, name in enumerate(("v.patch_embd.weight", "v.patch_embd.weight.1")):
        np.testing.assert_array_equal(np.asarray(tensors[name].data).reshape(32, 3, 16, 16), source[:, :, frame])


def test_cli_convert_reports_the_projector(vl_test_models, tmp_path, capsys):
    out = tmp_path / "cli.gguf"
    assert main(["convert", str(vl_test_models["vl-reranker"]), "--to", "gguf", "--quant", "f16", "--out",
                 str(out), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["output"] == str(out) and payload["projector"] == str(out.with_name("mmproj-cli.gguf"))


def test_refusals_are_clear_and_write_nothing(vl_test_models, vl_copy, tmp_path):
    src = vl_test_models["vl-reranker"]
    with pytest.raises(ConversionError, match="unknown GGUF type"):
        convert(src, to="gguf", quant="q3_k", out=tmp_path / "v.gguf")
    out = tmp_path / "x.gguf"
    out.with_name("mmproj-x.gguf").write_bytes(b"keep")
    with pytest.raises(DestinationExistsError, match="mmproj-x.gguf"):
        convert(src, to="gguf", out=out)
    assert not out.exists() and out.with_name("mmproj-x.gguf").read_bytes() == b"keep"

    damaged = vl_copy()
    config = json.loads((damaged / "config.json").read_text())
    config["vision_config"]["out_hidden_size"] = 32
    (damaged / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="out_hidden_size"):
        convert(damaged, to="gguf", out=tmp_path / "y.gguf")
    assert list(tmp_path.glob("y*")) == [] and list(tmp_path.glob("mmproj-y*")) == []


def test_cancelled_conversion_leaves_nothing(vl_test_models, tmp_path):
    cancel = threading.Event()

    def progress(event):
        if event.tensors_done == 3:
            cancel.set()

    out = tmp_path / "c.gguf"
    with pytest.raises(ConversionCancelled):
        convert(vl_test_models["vl-reranker"], to="gguf", out=out, progress=progress, cancel=cancel)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_transformers_5_config_converts_to_mlx(vl_copy, tmp_path):
    src = vl_copy()
    config = json.loads((src / "config.json").read_text())
    text = config["text_config"]
    # What transformers 5.x saves: rope settings inside rope_parameters, the vision tower's own model_type.
    text["rope_parameters"] = {**text.pop("rope_scaling"), "rope_theta": text.pop("rope_theta")}
    config["vision_config"]["model_type"] = "qwen3_vl_vision"
    (src / "config.json").write_text(json.dumps(config))
    result = convert(src, to="mlx", quant="8bit", out=tmp_path / "mlx")
    written = json.loads((result.output / "config.json").read_text())
    assert written["text_config"]["rope_theta"] == 5000000
    assert written["text_config"]["rope_scaling"]["mrope_section"] == [8, 4, 4]
    assert written["vision_config"]["model_type"] == "qwen3_vl"
    assert written["ippon_kind"] == "reranker" and written["quantization"]["bits"] == 8
    assert not (result.output / "README.md").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlx", "src"]  # no source view or partial left


@pytest.mark.parametrize("fmt, quant", [("gguf", "f16"), ("gguf", "q8_0"), ("mlx", "bf16"), ("mlx", "8bit")])
def test_verify_compares_text_and_vision_with_transformers(vl_test_models, tmp_path, fmt, quant):
    out = tmp_path / ("v.gguf" if fmt == "gguf" else "v")
    result = convert(vl_test_models["vl-reranker"], to=fmt, quant=quant, out=out, verify=True)
    checks = {c.name: c for c in result.verification.checks}
    assert result.verification.passed
    assert {"max_abs_logit_diff", "max_abs_p_yes_diff", "min_image_token_cosine"} <= set(checks)
    assert checks["min_image_token_cosine"].threshold in (0.999, 0.99)
    assert checks["max_abs_p_yes_diff"].threshold == (0.01 if quant in ("f16", "bf16") else 0.05)


def test_a_failed_verification_writes_nothing(vl_test_models, tmp_path, monkeypatch):
    from converters import VerificationError
    from converters import qwen3vl_verify

    real = qwen3vl_verify._GgufVL.image_features
    monkeypatch.setattr(qwen3vl_verify._GgufVL, "image_features", lambda self, image: -real(self, image))
    with pytest.raises(VerificationError, match="min_image_token_cosine"):
        convert(vl_test_models["vl-reranker"], to="gguf", out=tmp_path / "bad.gguf", verify=True)
    assert list(tmp_path.iterdir()) == []
