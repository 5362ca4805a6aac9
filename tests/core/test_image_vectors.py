"""Images found by their pixels: a photo with no text at all answers a text question when image_embedder is set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.config import Config
from app.core.retrieval import RetrievalSettings
from app.core.service import IpponService
from engines import CandidateFailure


class ColorEmbedder:
    """A scripted Qwen3-VL-Embedding: an image's vector is its mean colour, a text's the colour it names.
    (The real embedders' numerics are checked against transformers in tests/engines/test_vision_embedding.py.)"""

    name, dim, min_dim, batch_size = "colors", 3, 3, 8

    def __init__(self) -> None:
        self.images_seen = 0

    def embed(self, items, *, instruction=None, dim=None, failures=None):  # noqa: ANN001, ANN201
        from engines.qwen3_vl import ImageInputError, load_image

        rows = np.full((len(items), 3), np.nan, dtype=np.float32)
        for i, item in enumerate(items):
            if item.image is not None:
                self.images_seen += 1
                try:
                    rows[i] = np.asarray(load_image(item.image), dtype=np.float32).mean(axis=(0, 1)) + 1
                except ImageInputError as exc:
                    if failures is None:
                        raise
                    failures.append(CandidateFailure(i, str(exc)))
            else:
                text = item.text or ""
                rows[i] = [255.0 if "赤" in text else 1, 1, 255.0 if "青" in text else 1]
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    def close(self) -> None:
        pass


@pytest.fixture()
def service(tmp_path, monkeypatch):
    from PIL import Image

    docs = tmp_path / "docs"
    docs.mkdir()
    Image.new("RGB", (200, 120), (220, 30, 30)).save(docs / "IMG_0001.png")  # a red photo, no text at all
    Image.new("RGB", (200, 120), (30, 30, 220)).save(docs / "IMG_0002.png")
    (docs / "memo.txt").write_text("会議の議事録。写真は別に保存します。", encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('image_embedder = "colors"\n', encoding="utf-8")
    embedder = ColorEmbedder()
    real = IpponService.load_engine
    monkeypatch.setattr(IpponService, "load_engine", lambda self, role, model, **o: (
        embedder if role == "vision_embedder" else real(self, role, model, **o)))
    monkeypatch.setenv("IPPON_HOME", str(home))
    from app.config import load_config

    svc = IpponService(load_config(home / "config.toml"))
    svc.embedder_for_test = embedder
    svc.add([docs])
    yield svc
    svc.close()


def test_a_photo_without_text_is_found_by_its_pixels(service):
    def ranked(query: str) -> list[str]:
        return [Path(r.hit.path).name for r in service.search(query, RetrievalSettings()).results]

    found = service.search("赤い写真", RetrievalSettings())
    photo = next(r for r in found.results if Path(r.hit.path).name == "IMG_0001.png")
    assert photo.image_rank == 1 and "images_ms" in found.timings
    # Tied in fusion with the memo that has the word 写真 (each is first of its list); the other photo below.
    assert ranked("赤い写真")[:2] == ["memo.txt", "IMG_0001.png"] and ranked("赤い写真")[2] == "IMG_0002.png"
    assert ranked("青い写真").index("IMG_0002.png") < ranked("青い写真").index("IMG_0001.png")
    keywords = service.search("赤い写真", RetrievalSettings(mode="lexical"))
    assert all(Path(r.hit.path).suffix != ".png" for r in keywords.results)  # no words to find it by


def test_only_new_and_changed_images_are_embedded_again(service, tmp_path):
    from PIL import Image

    embedder = service.embedder_for_test
    assert embedder.images_seen == 2
    report = service.index_images()
    assert (report.embedded, report.kept, embedder.images_seen) == (0, 2, 2)
    Image.new("RGB", (200, 120), (30, 200, 30)).save(tmp_path / "docs" / "IMG_0002.png")  # changed
    service.add([tmp_path / "docs"])
    assert embedder.images_seen == 3
    assert len(service._image_vectors().rows) == 2


def test_images_index_cli_names_an_unreadable_image(service, tmp_path, capsys):
    from app.core.store import SourceRecord  # noqa: F401 - the record an image is stored as

    # An image that became unreadable after it was indexed (truncated in place, same record).
    target = tmp_path / "docs" / "IMG_0001.png"
    vectors = service._image_vectors()
    vectors.rows = [r for r in vectors.rows if not r["path"].endswith("IMG_0001.png")]
    vectors.matrix = vectors.matrix[:1]
    vectors._save()
    target.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert main(["images", "index", "--json"]) == 1
    out = capsys.readouterr()
    payload = json.loads(out.out)
    assert payload["embedded"] == 0 and payload["kept"] == 1 and payload["images"] == 2
    assert payload["errors"][0]["path"] == str(target) and str(target) in payload["errors"][0]["reason"]
    assert "not embedded" in out.err


def test_without_an_image_embedder_the_command_says_what_to_set(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IPPON_HOME", str(tmp_path / "home"))
    assert main(["images", "index"]) == 1
    assert "image_embedder" in capsys.readouterr().err
    assert IpponService(Config(data_dir=tmp_path / "h", models_dir=tmp_path / "m")).retriever().image_search is None


def test_the_real_tiny_vl_embedder_indexes_and_searches_images(vl_test_models, tmp_path, monkeypatch, capsys):
    """llama.cpp's Qwen3-VL-Embedding (the tiny test model) through ippon add and ippon search."""
    from PIL import Image

    from converters import convert

    model = convert(vl_test_models["vl-embedder"], to="gguf", quant="f16", out=tmp_path / "vl-emb.gguf").output
    docs = tmp_path / "docs"
    docs.mkdir()
    Image.new("RGB", (160, 96), (200, 40, 40)).save(docs / "IMG_0101.png")
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(f'image_embedder = "{model}"\nthreads = 1\n', encoding="utf-8")
    monkeypatch.setenv("IPPON_HOME", str(home))
    assert main(["add", str(docs), "--json"]) == 0
    capsys.readouterr()
    assert main(["images", "index", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"embedded": 0, "kept": 1, "images": 1, "errors": []}
    assert main(["search", "赤い写真", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [Path(r["path"]).name for r in rows] == ["IMG_0101.png"]  # found by its pixels alone


def test_a_deleted_photo_is_no_longer_found(service, tmp_path):
    (tmp_path / "docs" / "IMG_0001.png").unlink()
    names = [Path(r.hit.path).name for r in service.search("赤い写真", RetrievalSettings()).results]
    assert "IMG_0001.png" not in names
