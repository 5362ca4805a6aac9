"""Reranking with pixels: a question answered only by a screenshot ranks it first with a VL reranker, and
PDF pages are rendered and cached for it; bad images and pages fall back to their text and say why."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.config import Config
from app.core.pdf_pages import PdfPageError
from app.core.pixels import PageRenderer
from app.core.retrieval import RetrievalSettings, Retriever
from app.core.service import IpponService
from engines import Candidate, CandidateFailure

QUERY = "error dialog"


class RedPixelReranker:
    """A scripted VL reranker: the redder the candidate's image, the more relevant; text alone scores 0.1.
    (The numerics of the real one are checked against transformers in tests/engines/test_vision_parity.py.)"""

    name, batch_size = "red", 8

    def __init__(self) -> None:
        self.seen: list[list[Candidate]] = []

    def score(self, query, candidates, *, instruction=None, query_images=(), failures=None):  # noqa: ANN001, ANN201
        from engines.qwen3_vl import ImageInputError, load_image

        self.seen.append(list(candidates))
        out = np.full(len(candidates), 0.1, dtype=np.float32)
        for i, c in enumerate(candidates):
            if c.image is None:
                continue
            try:
                rgb = np.asarray(load_image(c.image), dtype=np.int32)
            except ImageInputError as exc:
                if failures is None:
                    raise
                failures.append(CandidateFailure(i, str(exc)))
                out[i] = np.nan
                continue
            red = (rgb[..., 0] > 180) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)
            out[i] = 0.05 + 0.9 * float(red.mean())
        return out

    def close(self) -> None:
        pass


def write_figure_pdf(path: Path) -> Path:
    """Page 1: text and a red figure; page 2: text only."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.drawString(72, 720, "Figure 3: the error dialog shown after a failed update")
    c.setFillColorRGB(0.9, 0.1, 0.1)
    c.rect(72, 300, 450, 380, fill=1, stroke=0)
    c.showPage()
    c.drawString(72, 720, "Appendix: the error dialog codes are listed in the support portal")
    c.showPage()
    c.save()
    return path


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> IpponService:
    from PIL import Image

    root = tmp_path_factory.mktemp("pixels")
    docs = root / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("error dialog error dialog: when an error dialog appears, note the dialog "
                                    "title. The error dialog explains nothing more.", encoding="utf-8")
    Image.new("RGB", (320, 200), (230, 20, 20)).save(docs / "error-dialog.png")  # the answer is only in here
    write_figure_pdf(docs / "manual.pdf")
    service = IpponService(Config(data_dir=root / "home", models_dir=root / "models"))
    service.add([docs])
    return service


def test_the_screenshot_ranks_first_only_with_pixels(library, tmp_path):
    store = library.library.store
    plain = Retriever(store).search(QUERY, RetrievalSettings(mode="lexical"))
    assert Path(plain.results[0].hit.path).name != "error-dialog.png"
    assert all(r.pixels is None for r in plain.results)

    reranker = RedPixelReranker()
    renderer = PageRenderer(tmp_path / "pages")
    found = Retriever(store, vision_reranker=reranker, page_renderer=renderer).search(
        QUERY, RetrievalSettings(mode="lexical"))
    assert found.reranked and Path(found.results[0].hit.path).name == "error-dialog.png"
    by_name = {(Path(r.hit.path).name, r.hit.page): r for r in found.results}
    assert by_name["error-dialog.png", None].pixels.image == Path(by_name["error-dialog.png", None].hit.path)
    figure = by_name["manual.pdf", 1]
    assert figure.pixels.image.parent == tmp_path / "pages" and figure.pixels.image.suffix == ".png"
    assert by_name["manual.pdf", 2].score < figure.score < found.results[0].score  # the figure's red counts
    assert by_name["notes.txt", None].pixels.image is None and by_name["notes.txt", None].pixels.error is None
    # Rendered once: a second search reads the cached page.
    mtime = figure.pixels.image.stat().st_mtime_ns
    Retriever(store, vision_reranker=reranker, page_renderer=renderer).search(QUERY, RetrievalSettings(mode="lexical"))
    assert figure.pixels.image.stat().st_mtime_ns == mtime


def test_broken_images_and_pages_fall_back_to_text(library, tmp_path):
    from app.core.pixels import score_with_pixels
    from app.core.store import Hit

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    bad_pdf = tmp_path / "bad.pdf"
    bad_pdf.write_bytes(b"%PDF-1.4 not really a pdf")
    hits = [Hit("a", "s", str(broken), "画面", None, None, None, 0, 2, 0.0),
            Hit("b", "s", str(bad_pdf), "本文", 1, None, None, 0, 2, 0.0)]
    scores, notes = score_with_pixels(RedPixelReranker(), QUERY, hits, ["画面", "本文"], PageRenderer(tmp_path / "c"))
    assert np.allclose(scores, 0.1)  # both scored, by their text
    assert notes[0].image is None and str(broken) in notes[0].error
    assert notes[1].image is None and str(bad_pdf) in notes[1].error
    with pytest.raises(PdfPageError, match="has no page 9"):
        PageRenderer(tmp_path / "c").page_image(Path(library.library.roots()[0].path) / "manual.pdf", 9)


def test_search_json_says_which_results_were_scored_with_pixels(library, vl_test_models, tmp_path, monkeypatch,
                                                                capsys):
    """The real tiny Qwen3-VL reranker (llama.cpp) configured as vision_reranker, through `ippon search --json`."""
    from converters import convert

    model = convert(vl_test_models["vl-reranker"], to="gguf", quant="f16", out=tmp_path / "vl.gguf").output
    home = library.config.data_dir
    config = home / "config.toml"
    before = config.read_text(encoding="utf-8") if config.exists() else ""
    config.write_text(before + f'\nvision_reranker = "{model}"\nthreads = 1\n', encoding="utf-8")
    monkeypatch.setenv("IPPON_HOME", str(home))
    try:
        assert main(["search", QUERY, "--mode", "lexical", "--json"]) == 0
    finally:
        config.write_text(before, encoding="utf-8")
    rows = json.loads(capsys.readouterr().out)
    flags = {(Path(r["path"]).name, r["page"]): r["pixels"] for r in rows}
    assert flags["error-dialog.png", None] is True and flags["manual.pdf", 1] is True
    assert flags["notes.txt", None] is False
    assert all(0 < r["score"] < 1 for r in rows)
    page = next(r for r in rows if r["page"] == 1)
    assert Path(page["pixel_image"]).is_file() and Path(page["pixel_image"]).parent == home / "cache" / "pages"


def test_config_takes_a_vision_reranker_and_installed_vl_rerankers_map_to_it(tmp_path):
    from app.config import load_config
    from app.core.models.installed import CONFIG_KEY
    from app.errors import IpponError

    config_file = tmp_path / "config.toml"
    config_file.write_text('vision_reranker = "/models/qwen3-vl-reranker-2b-q8_0.gguf"\n', encoding="utf-8")
    assert load_config(config_file).vision_reranker == "/models/qwen3-vl-reranker-2b-q8_0.gguf"
    config_file.write_text("vision_reranker = 3\n", encoding="utf-8")
    with pytest.raises(IpponError, match="vision_reranker"):
        load_config(config_file)
    assert CONFIG_KEY["vl-reranker"] == "vision_reranker"


def test_eval_compares_text_and_pixel_reranking_on_image_positives(library, tmp_path, monkeypatch, capsys):
    """An image file and a PDF page as positives; the same questions with and without the VL reranker."""
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "shot", "question": QUERY, "positive": ["error-dialog.png"]},
        {"id": "figure", "question": QUERY, "positive": [{"path": "manual.pdf", "page": 1}]},
    ]), encoding="utf-8")
    text_only, pixels = tmp_path / "text.toml", tmp_path / "pixels.toml"
    text_only.write_text('mode = "lexical"\n')
    pixels.write_text('mode = "lexical"\nvision_reranker = "scripted-red"\n')
    real_load = IpponService.load_engine

    def load_engine(self, role, model, **options):  # noqa: ANN001, ANN202
        return RedPixelReranker() if role == "vision_reranker" else real_load(self, role, model, **options)

    monkeypatch.setattr(IpponService, "load_engine", load_engine)
    monkeypatch.setenv("IPPON_HOME", str(library.config.data_dir))
    assert main(["eval", str(questions), "--config", f"text={text_only}", "--config", f"pixels={pixels}",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["configs"]
    # The screenshot first (1), the figure's page second, after the redder screenshot (1/2).
    assert report["pixels"]["mrr@10"] == pytest.approx(0.75)
    assert report["text"]["mrr@10"] <= 0.5  # the notes file's words come first without pixels


def test_ask_sources_carry_the_image_a_vl_reranker_saw(tmp_path):
    from app.core.answer import pack_sources
    from app.core.pixels import PixelNote
    from app.core.retrieval import Result
    from app.core.store import Hit

    shot = Hit("c1", "s1", str(tmp_path / "shot.png"), "画面", None, None, None, 0, 2, 0.0)
    note = Hit("c2", "s2", str(tmp_path / "notes.txt"), "本文", None, None, None, 0, 2, 0.0)
    results = [Result(shot, 0.9, 1, None, 0.9, PixelNote(tmp_path / "shot.png")),
               Result(note, 0.1, 2, None, 0.1, PixelNote(None))]
    sources, dropped = pack_sources("画面は？", results, count_tokens=len, budget=10_000)
    assert dropped == 0 and [s.image for s in sources] == [str(tmp_path / "shot.png"), None]
    assert sources[0].as_dict()["image"] == str(tmp_path / "shot.png")


@pytest.mark.parametrize(("ram_gb", "apple", "expected"), [
    (6, False, None), (8, False, ("Qwen3-VL-Reranker-2B", "q8_0", "gguf")),
    (16, True, ("Qwen3-VL-Reranker-2B", "8bit", "mlx")), (32, False, ("Qwen3-VL-Reranker-8B", "q8_0", "gguf")),
])
def test_the_picker_suggests_a_vl_reranker_by_ram(ram_gb, apple, expected):
    from app.core.models import load_catalog
    from app.core.models.catalog import GIB
    from app.core.models.machine import Machine
    from app.core.models.vision_pick import recommend_vision_reranker

    pick = recommend_vision_reranker(Machine(int(ram_gb * GIB), apple, 500 * GIB), load_catalog())
    if expected is None:
        assert pick is None
    else:
        assert (pick.entry.name, pick.quant, pick.format) == expected and "GB" in pick.reason


def test_models_recommend_adds_the_vl_reranker(capsys):
    assert main(["models", "recommend", "--assume-ram", "32", "--assume-chip", "x86", "--assume-disk", "500",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["vision_reranker"]["name"] == "Qwen3-VL-Reranker-8B" and data["reranker"]["name"]
    assert main(["models", "recommend", "--assume-ram", "8", "--assume-chip", "x86", "--assume-disk", "500"]) == 0
    assert "ippon models pull Qwen3-VL-Reranker-2B --format hf --use" in capsys.readouterr().out
    assert main(["models", "recommend", "--assume-ram", "6", "--assume-chip", "x86", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["vision_reranker"] is None
