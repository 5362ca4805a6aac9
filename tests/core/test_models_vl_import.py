"""Installing the Qwen3-VL models (image reranker, image embedder) like any other: `ippon models import` of a
qwen3vl GGUF with its projector or of a Qwen3-VL folder, the kind from --kind or the name, and `use`."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from pathlib import Path

import pytest

from app.cli import main
from app.config import load_config
from app.core import models
from app.core.models.ready_import import import_ready_to_run
from app.core.service import IpponService


@pytest.fixture(scope="module")
def vl_gguf(vl_test_models, tmp_path_factory) -> Path:
    """The tiny Qwen3-VL reranker as `ippon convert` writes it: X.gguf and mmproj-X.gguf side by side."""
    from converters import convert

    out = tmp_path_factory.mktemp("vl-gguf") / "vl-reranker-tiny-q8_0.gguf"
    result = convert(vl_test_models["vl-reranker"], to="gguf", quant="q8_0", out=out)
    assert result.projector == out.with_name(f"mmproj-{out.name}") and result.projector.is_file()
    return result.output


@pytest.fixture()
def models_dir(tmp_path) -> Path:
    return tmp_path / "models"


def _pair(vl_gguf: Path, folder: Path, name: str, *, projector: bool = True) -> Path:
    """A copy of the model named `name` (and its projector beside it, named after it)."""
    folder.mkdir(parents=True, exist_ok=True)
    model = shutil.copyfile(vl_gguf, folder / name)
    if projector:
        shutil.copyfile(vl_gguf.with_name(f"mmproj-{vl_gguf.name}"), folder / f"mmproj-{name}")
    return Path(model)


def _nothing_left(models_dir: Path) -> bool:
    partial = models_dir / ".partial"
    return models.installed_models(models_dir) == [] and (not partial.exists() or not any(partial.iterdir()))


def _fake_projector(path: Path, width: int) -> Path:
    import gguf

    writer = gguf.GGUFWriter(str(path), "clip")
    writer.add_clip_projector_type("qwen3vl_merger")
    writer.add_vision_projection_dim(width)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    return path


def test_a_vl_gguf_is_installed_with_its_projector_and_the_engine_finds_it(vl_gguf, models_dir):
    from engines import load_vision_reranker

    model = models.import_model(vl_gguf, models_dir=models_dir)
    assert (model.name, model.kind, model.format, model.quant) == ("vl-reranker-tiny-q8_0", "vl-reranker", "gguf",
                                                                   "q8_0")
    assert model.architecture == "qwen3vl" and model.dim is None and model.config_key == "vision_reranker"
    projector = model.folder / f"mmproj-{vl_gguf.name}"
    assert [f["path"] for f in model.files] == [projector.name, vl_gguf.name]
    assert projector.read_bytes() == vl_gguf.with_name(f"mmproj-{vl_gguf.name}").read_bytes()
    assert model.path.read_bytes() == vl_gguf.read_bytes()
    assert model.size_bytes == vl_gguf.stat().st_size + projector.stat().st_size
    assert model.source == {"imported_from": str(vl_gguf),
                            "projector_from": str(vl_gguf.with_name(f"mmproj-{vl_gguf.name}"))}
    reranker = load_vision_reranker(model.path, n_threads=1)  # the projector beside it, found by its name
    try:
        assert reranker.projector == projector
    finally:
        reranker.close()


def test_a_projector_kept_elsewhere_is_given_with_mmproj_and_renamed(vl_gguf, models_dir, tmp_path):
    model_file = _pair(vl_gguf, tmp_path / "here", "qwen3-vl-reranker-mine.gguf", projector=False)
    with pytest.raises(models.ImportRefusedError) as refused:
        models.import_model(model_file, models_dir=models_dir)
    message = str(refused.value)
    assert str(model_file) in message and "mmproj-qwen3-vl-reranker-mine.gguf" in message and "--mmproj" in message
    assert "projector" in message and _nothing_left(models_dir)

    elsewhere = vl_gguf.with_name(f"mmproj-{vl_gguf.name}")
    model = models.import_model(model_file, models_dir=models_dir, mmproj=elsewhere)
    assert {f["path"] for f in model.files} == {"qwen3-vl-reranker-mine.gguf", "mmproj-qwen3-vl-reranker-mine.gguf"}
    assert model.source["projector_from"] == str(elsewhere)


def test_a_projector_that_does_not_match_is_refused_naming_it(vl_gguf, models_dir, tmp_path, engine_models):
    model_file = _pair(vl_gguf, tmp_path / "a", "vl-reranker.gguf", projector=False)
    other = _fake_projector(tmp_path / "a" / "mmproj-vl-reranker.gguf", 2048)  # a 2B model's width, not 64
    with pytest.raises(models.ImportRefusedError, match="not from the same model") as refused:
        models.import_model(model_file, models_dir=models_dir)
    assert str(other) in str(refused.value) and str(model_file) in str(refused.value)
    text_model = engine_models("embedder", "gguf")
    with pytest.raises(models.ImportRefusedError, match="not a Qwen3-VL projector") as refused:
        models.import_model(model_file, models_dir=models_dir, mmproj=text_model)
    assert str(text_model) in str(refused.value)
    with pytest.raises(models.ImportRefusedError, match=r"a projector \(mmproj\), not a model"):
        models.import_model(other, models_dir=models_dir)
    assert _nothing_left(models_dir)


def test_the_kind_comes_from_kind_or_the_name_else_it_is_asked_for(vl_gguf, models_dir, tmp_path, engine_models):
    embedder = models.import_model(_pair(vl_gguf, tmp_path / "e", "Qwen3-VL-Embedding-tiny.gguf"),
                                   models_dir=models_dir)
    assert (embedder.kind, embedder.dim, embedder.config_key) == ("vl-embedder", 64, "image_embedder")

    vague = _pair(vl_gguf, tmp_path / "v", "tiny-vl.gguf")
    both = _pair(vl_gguf, tmp_path / "v", "rerank-or-embed.gguf")
    for path in (vague, both):
        with pytest.raises(models.ImportRefusedError, match="--kind vl-reranker or --kind vl-embedder") as refused:
            models.import_model(path, models_dir=models_dir)
        assert str(path) in str(refused.value)
    with pytest.raises(models.ImportRefusedError, match="a vl-reranker or a vl-embedder, not reranker"):
        models.import_model(vague, models_dir=models_dir, kind="reranker")
    given = models.import_model(vague, models_dir=models_dir, kind="vl-reranker")
    assert (given.name, given.kind) == ("tiny-vl", "vl-reranker")

    text_model = engine_models("reranker", "gguf")
    with pytest.raises(models.ImportRefusedError, match="not a Qwen3-VL model, so not a vl-reranker"):
        models.import_model(text_model, models_dir=models_dir, kind="vl-reranker")
    with pytest.raises(models.ImportRefusedError, match=r"takes no projector \(--mmproj\)"):
        models.import_model(text_model, models_dir=models_dir, mmproj=vl_gguf)
    with pytest.raises(models.ImportRefusedError, match="choose one of llm, embedder, reranker, vl-reranker, "
                                                        "vl-embedder"):
        models.import_model(vague, models_dir=models_dir, kind="vision")
    assert {m.name for m in models.installed_models(models_dir)} == {"qwen3-vl-embedding-tiny", "tiny-vl"}


def _mlx_vlm_layout(src: Path, dst: Path) -> Path:
    """The folder with mlx-vlm's own tensor names (language_model.model.*, vision_tower.*), as it saves them.

    Only the safetensors header is rewritten (8 bytes of length, then JSON): the tensors' bytes stay.
    """
    shutil.copytree(src, dst)
    weights = dst / "model.safetensors"
    data = weights.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    renamed = {n.replace("model.language_model.", "language_model.model.").replace("model.visual.", "vision_tower."):
               v for n, v in header.items()}
    assert renamed.keys() != header.keys()
    text = json.dumps(renamed).encode()
    text += b" " * (-len(text) % 8)
    weights.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + size:])
    return dst


def test_qwen3_vl_folders_are_imported_as_mlx_or_as_the_checkpoint(vl_test_models, models_dir, tmp_path):
    checkpoint = models.import_model(vl_test_models["vl-reranker"], models_dir=models_dir)
    assert (checkpoint.name, checkpoint.kind, checkpoint.format, checkpoint.quant) == (
        "vl-reranker-hf", "vl-reranker", "hf", "original")
    assert checkpoint.path == checkpoint.folder and checkpoint.architecture == "qwen3_vl"

    mlx = models.import_model(_mlx_vlm_layout(vl_test_models["vl-embedder"], tmp_path / "vl-embedder-mlx"),
                              models_dir=models_dir, name="vl-embedder-mlx")
    assert (mlx.kind, mlx.format, mlx.quant, mlx.dim, mlx.config_key) == ("vl-embedder", "mlx", "bf16", 64,
                                                                        "image_embedder")
    quantized = shutil.copytree(vl_test_models["vl-reranker"], tmp_path / "my-vl-reranker-8bit")
    config = json.loads((quantized / "config.json").read_text())
    (quantized / "config.json").write_text(json.dumps({**config, "quantization": {"group_size": 64, "bits": 8}}))
    eight = models.import_model(quantized, models_dir=models_dir)
    assert (eight.name, eight.kind, eight.format, eight.quant) == ("my-vl-reranker-8bit-mlx", "vl-reranker", "mlx",
                                                                   "8bit")
    assert {f["path"] for f in eight.files} >= {"config.json", "model.safetensors", "tokenizer.json"}

    with pytest.raises(models.ImportRefusedError, match="--mmproj goes with a Qwen3-VL .gguf file"):
        models.import_model(quantized, models_dir=models_dir, name="x", mmproj=tmp_path / "mmproj-x.gguf")
    (quantized / "tokenizer.json").unlink()
    with pytest.raises(models.ImportRefusedError, match="needs \\*.safetensors weights and tokenizer.json"):
        models.import_model(quantized, models_dir=models_dir, name="y")


def test_the_windows_import_converts_a_vl_checkpoint_for_this_machine(vl_test_models, models_dir):
    model = import_ready_to_run(vl_test_models["vl-reranker"], models_dir=models_dir, fmt="gguf")
    assert (model.kind, model.format, model.architecture) == ("vl-reranker", "gguf", "qwen3vl")
    assert {f["path"] for f in model.files} == {"vl-reranker.gguf", "mmproj-vl-reranker.gguf"}


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["models", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_import_use_points_vision_reranker_and_image_embedder_at_them(vl_gguf, capsys, tmp_path):
    home = Path(os.environ["IPPON_HOME"])
    code, out, _ = _cli(capsys, "import", str(vl_gguf), "--use", "--json")
    reranker = json.loads(out)
    assert code == 0 and reranker["kind"] == "vl-reranker" and reranker["config"] == {
        "vision_reranker": reranker["path"]}
    assert tomllib.loads((home / "config.toml").read_text(encoding="utf-8")) == {"vision_reranker": reranker["path"]}

    lonely = _pair(vl_gguf, tmp_path / "e", "tiny-vl.gguf", projector=False)
    code, out, err = _cli(capsys, "import", str(lonely), "--kind", "vl-embedder",
                          "--mmproj", str(vl_gguf.with_name(f"mmproj-{vl_gguf.name}")))
    assert code == 0 and "Imported tiny-vl (image embedder, gguf q8_0" in out and "ippon models use tiny-vl" in out
    code, out, _ = _cli(capsys, "use", "tiny-vl")
    assert code == 0 and f"config.toml: image_embedder = {home / 'models' / 'tiny-vl' / 'tiny-vl.gguf'}" in out
    assert "ippon images index" in out
    config = load_config(home / "config.toml")
    assert Path(config.image_embedder).name == "tiny-vl.gguf" and config.vision_reranker == reranker["path"]

    code, out, _ = _cli(capsys, "list", "--json")
    listed = json.loads(out)
    assert {m["name"]: m["in_use"] for m in listed["installed"]} == {"tiny-vl": "image_embedder",
                                                                    "vl-reranker-tiny-q8_0": "vision_reranker"}
    assert {r["role"]: r["installed"] for r in listed["configured"]} == {
        "vision_reranker": "vl-reranker-tiny-q8_0", "image_embedder": "tiny-vl"}
    code, out, _ = _cli(capsys, "list")
    assert code == 0 and "image embedder" in out and "image reranker" in out

    code, out, err = _cli(capsys, "import", str(_pair(vl_gguf, tmp_path / "v", "tiny.gguf")))
    assert code == 1 and out == "" and "--kind vl-reranker or --kind vl-embedder" in err and err.count("\n") == 1


def test_using_an_image_embedder_drops_the_loaded_one_only(vl_gguf, tmp_path):
    home = Path(os.environ["IPPON_HOME"])
    service = IpponService(load_config())
    embedder = models.import_model(_pair(vl_gguf, tmp_path / "e", "vl-embedder.gguf"),
                                   models_dir=service.config.models_dir)
    loaded_text, loaded_image = object(), object()
    service._embedder, service._image_embedder = loaded_text, loaded_image
    assert service.use_model(embedder.name) == {"image_embedder": str(embedder.path)}
    assert service._image_embedder is None and service._embedder is loaded_text
    assert service.config.image_embedder == str(embedder.path)
    assert "image_embedder" in (home / "config.toml").read_text(encoding="utf-8")
