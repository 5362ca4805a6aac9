"""A VL reranker inside the answer's time budget: its speed on images is measured like the other models',
and images and PDF pages are judged by their pixels only while the time lasts — always the best-ranked
one, the rest by their text, saying why. (Before, a configured VL reranker turned the budget off and
judged every image among 50 candidates: minutes per answer on a CPU.)"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.config import Config
from app.core.budget import BudgetInputs, plan_budget
from app.core.pixels import PageRenderer, PixelBudget, score_with_pixels
from app.core.retrieval import RetrievalSettings, Retriever
from app.core.service import IpponService
from app.core.speed import Speed, SpeedCache, measure
from app.core.store import Hit
from engines.qwen3_vl import image_tokens
from tests.core.test_vision_retrieval import RedPixelReranker, write_figure_pdf

BASE = BudgetInputs(target_s=8.0, top_k=8, candidates=50, rerank_passage_tokens=96, source_passage_tokens=128,
                    llm_tokens_per_s=120.0, rerank_tokens_per_s=235.0, spent_s=0.2)


def test_the_pixels_get_the_time_the_text_plan_leaves():
    assert plan_budget(BASE).pixel_tokens is None  # no VL reranker: nothing to limit
    cpu = plan_budget(replace(BASE, pixel_tokens_per_s=25.0))
    gpu = plan_budget(replace(BASE, rerank_tokens_per_s=20000.0, llm_tokens_per_s=3000.0, pixel_tokens_per_s=4000.0))
    assert 0 <= cpu.pixel_tokens < image_tokens(512, 512)  # a CPU: not even one screenshot in the time left
    assert gpu.pixel_tokens >= 10 * image_tokens(512, 512)
    assert gpu.estimate_s["first_token_s"] <= 8.0 + 0.05 and "pixels_s" in gpu.estimate_s
    assert any("judged by their pixels" in r for r in cpu.reasons)
    # Unknown speeds (a remote model) and no budget: no limit either.
    assert plan_budget(replace(BASE, llm_tokens_per_s=None, pixel_tokens_per_s=25.0)).pixel_tokens is None


def test_the_first_image_is_always_granted_and_the_rest_while_tokens_last():
    budget = PixelBudget(300)
    assert [budget.take(t) for t in (100, 256, 150, 40, 20)] == [True, False, True, True, False]
    over = PixelBudget(300)
    assert [over.take(t) for t in (700, 4)] == [True, False]  # the first always, even past the limit
    unlimited = PixelBudget(None)
    assert all(unlimited.take(10_000) for _ in range(5))


@pytest.fixture()
def pictures(tmp_path) -> tuple[list[Hit], list[str]]:
    """Three red screenshots (1024x768: 768 image tokens each), a figure's PDF page and a text file."""
    from PIL import Image

    hits, texts = [], []
    for k in range(3):
        path = tmp_path / f"shot{k}.png"
        Image.new("RGB", (1024, 768), (230, 20, 20)).save(path)
        hits.append(Hit(f"c{k}", f"s{k}", str(path), "画面", None, None, None, 0, 2, 0.0))
        texts.append("画面")
    pdf = write_figure_pdf(tmp_path / "manual.pdf")
    hits.append(Hit("p", "sp", str(pdf), "図", 1, None, None, 0, 1, 0.0))
    (tmp_path / "notes.txt").write_text("本文", encoding="utf-8")
    hits.append(Hit("t", "st", str(tmp_path / "notes.txt"), "本文", None, None, None, 0, 2, 0.0))
    return hits, texts + ["図", "本文"]


def test_past_the_budget_images_and_pages_are_judged_by_their_text_and_say_why(pictures, tmp_path):
    hits, texts = pictures
    renderer = PageRenderer(tmp_path / "pages")
    shot = image_tokens(768, 1024)
    reranker = RedPixelReranker()
    scores, notes = score_with_pixels(reranker, "error dialog", hits, texts, renderer, pixel_tokens=2 * shot + 10)
    # The first by its pixels (always), the second fits, the third and the page do not; the text file as ever.
    assert [n.image is not None for n in notes] == [True, True, False, False, False]
    assert notes[2].skipped and "answer_seconds" in notes[2].skipped and notes[2].error is None
    assert notes[3].skipped and notes[4].skipped is None
    assert np.allclose(scores[2:], 0.1) and scores[0] > 0.5  # the skipped ones scored by their text
    assert [c.image for c in reranker.seen[0][2:4]] == [None, None]
    assert not (tmp_path / "pages").exists()  # a page past the budget is not even rendered
    # With no time at all the best one is still looked at; with no limit, all of them.
    _, none_left = score_with_pixels(RedPixelReranker(), "q", hits, texts, renderer, pixel_tokens=0)
    assert [n.image is not None for n in none_left] == [True, False, False, False, False]
    _, all_of_them = score_with_pixels(RedPixelReranker(), "q", hits, texts, renderer)
    assert [n.image is not None for n in all_of_them] == [True, True, True, True, False]


def test_a_page_costs_its_cached_rendering_or_an_a4_page(pictures, tmp_path):
    hits, _ = pictures
    renderer = PageRenderer(tmp_path / "pages")
    pdf = Path(hits[3].path)
    a4 = renderer.page_tokens(pdf, 1)
    assert a4 == image_tokens(1024, 724)
    rendered = renderer.page_image(pdf, 1)
    from PIL import Image

    with Image.open(rendered) as img:
        assert renderer.page_tokens(pdf, 1) == image_tokens(img.height, img.width)


def test_retrieval_passes_the_pixel_budget_to_the_vl_reranker(tmp_path):
    from PIL import Image

    docs = tmp_path / "docs"
    docs.mkdir()
    for k in range(3):
        Image.new("RGB", (640, 480), (230, 20, 20)).save(docs / f"error-dialog-{k}.png")
    service = IpponService(Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models"))
    service.add([docs])
    retriever = Retriever(service.library.store, vision_reranker=RedPixelReranker(),
                          page_renderer=PageRenderer(tmp_path / "pages"))
    found = retriever.search("error dialog", RetrievalSettings(mode="lexical", pixel_tokens=0))
    judged = [r.pixels.image is not None for r in found.results]
    assert sorted(judged) == [False, False, True] and judged[0]  # the one seen by its pixels ranks first


def test_a_vl_reranker_is_measured_on_text_and_on_an_image(vl_test_models, tmp_path):
    from converters import convert
    from engines.llamacpp_backend.vision import LlamaCppVisionReranker

    path = convert(vl_test_models["vl-reranker"], to="gguf", quant="f16", out=tmp_path / "vl.gguf").output
    model = LlamaCppVisionReranker(path, n_threads=1)
    try:
        speed = measure("vision_reranker", model)
    finally:
        model.close()
    assert speed.tokens_per_s > 0 and speed.image_tokens_per_s > 0 and speed.device == "cpu"
    cache = SpeedCache(tmp_path / "speeds.json")
    key = cache.key("vision_reranker", path, device="cpu", threads=1)
    cache.put(key, speed)
    assert cache.get(key).image_tokens_per_s == pytest.approx(speed.image_tokens_per_s)
    # An entry written before image speeds existed still reads, without one.
    text_only = cache.key("reranker", path, device="cpu", threads=1)
    data = json.loads((tmp_path / "speeds.json").read_text(encoding="utf-8"))
    data[text_only] = {"tokens_per_s": 200.0, "device": "cpu", "measured_at": 0.0}
    (tmp_path / "speeds.json").write_text(json.dumps(data), encoding="utf-8")
    assert cache.get(text_only) == Speed(200.0, "cpu", 0.0)


def test_an_answer_with_a_vl_reranker_plans_its_pixels_from_the_measured_speed(vl_test_models, engine_models,
                                                                               tmp_path):
    from converters import convert

    vl = convert(vl_test_models["vl-reranker"], to="gguf", quant="f16", out=tmp_path / "vl.gguf").output
    config = Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models", threads=1, vision_reranker=str(vl),
                    llm=str(engine_models("llm-untied", "gguf")))
    service = IpponService(config)
    try:
        plan = service.answer_plan(service.retrieval_settings())
        kept = json.loads((config.data_dir / "speeds.json").read_text(encoding="utf-8"))
        assert sorted(k.split("|")[0] for k in kept) == ["chat", "vision_reranker"]
        assert plan.pixel_tokens is not None and plan.rerank >= 5  # a budget, where before there was none
        cache = SpeedCache(config.data_dir / "speeds.json")
        key = cache.key("vision_reranker", str(vl), device="cpu", threads=1)
        cache.put(key, Speed(100.0, "cpu", 0.0, image_tokens_per_s=20.0))  # a slow machine's figures
        slow = service.answer_plan(service.retrieval_settings())
        cache.put(key, Speed(1e5, "cpu", 0.0, image_tokens_per_s=1e5))
        fast = service.answer_plan(service.retrieval_settings())
        assert slow.pixel_tokens < image_tokens(512, 512) < fast.pixel_tokens
    finally:
        service.close()


def test_an_answer_says_which_images_were_judged_by_their_text_and_why(vl_test_models, engine_models, tmp_path):
    from PIL import Image

    from app.core.answer import AskDone
    from converters import convert
    from engines import ChatSettings

    docs = tmp_path / "docs"
    docs.mkdir()
    for k in range(3):
        Image.new("RGB", (640, 480), (230, 20, 20 + k)).save(docs / f"error-dialog-{k}.png")
    vl = convert(vl_test_models["vl-reranker"], to="gguf", quant="f16", out=tmp_path / "vl.gguf").output
    config = Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models", threads=1, vision_reranker=str(vl),
                    llm=str(engine_models("llm-untied", "gguf")))
    service = IpponService(config)
    try:
        service.add([docs])
        service.answer_plan(service.retrieval_settings())  # measured once; then a slow machine's figures
        cache = SpeedCache(config.data_dir / "speeds.json")
        cache.put(cache.key("vision_reranker", str(vl), device="cpu", threads=1),
                  Speed(100.0, "cpu", 0.0, image_tokens_per_s=1.0))
        settings = service.retrieval_settings(mode="lexical")
        done = next(e for e in service.ask("error dialog", retrieval=settings,
                                           chat=ChatSettings(temperature=0.0, max_tokens=4)) if isinstance(e, AskDone))
        seen = [s for s in done.sources if s.image]
        skipped = [s for s in done.sources if s.pixel_skipped]
        assert len(seen) == 1 and len(skipped) == 2 and "answer_seconds" in skipped[0].as_dict()["pixel_skipped"]
        assert done.timings["budget"]["pixel_tokens"] == 0
    finally:
        service.close()
