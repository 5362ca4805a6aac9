"""The latency budget: measured speeds turned into how many candidates are reranked and how much
the LLM reads (issue 18); and the passage of a chunk that the reranker and the LLM read."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.core.budget import BudgetInputs, plan_budget
from app.core.passages import focus_passage
from app.core.speed import Speed, SpeedCache
from engines.qwen3 import estimate_tokens

BASE = BudgetInputs(target_s=8.0, top_k=8, candidates=50, rerank_passage_tokens=96,
                    source_passage_tokens=128, llm_tokens_per_s=120.0,
                    rerank_tokens_per_s=235.0, spent_s=0.2)


def test_a_slower_reranker_gets_fewer_candidates_and_a_faster_one_more():
    slow = plan_budget(replace(BASE, rerank_tokens_per_s=100.0))
    measured = plan_budget(BASE)
    fast = plan_budget(replace(BASE, rerank_tokens_per_s=2000.0))
    assert slow.rerank <= measured.rerank < fast.rerank <= 50
    assert measured.estimate_s["first_token_s"] <= 8.0
    # Never fewer than 5: reranking pays only when it sees the few the answer is likely among.
    assert slow.rerank == 5 and any("over the 8 s target" in r for r in slow.reasons)
    # A GPU-class reranker reads all 50; the time it leaves goes to the LLM.
    gpu = plan_budget(replace(BASE, rerank_tokens_per_s=20000.0, llm_tokens_per_s=3000.0))
    assert (gpu.rerank, gpu.sources) == (50, 8)


def test_a_slower_llm_reads_fewer_sources_but_never_fewer_than_the_minimum():
    fast = plan_budget(replace(BASE, llm_tokens_per_s=1000.0))
    slow = plan_budget(replace(BASE, llm_tokens_per_s=60.0))
    crawl = plan_budget(replace(BASE, llm_tokens_per_s=5.0))
    assert fast.sources >= slow.sources >= crawl.sources == 3
    assert crawl.source_tokens == 3 * 128 and any("over the 8 s target" in r for r in crawl.reasons)


def test_explicit_settings_win():
    plan = plan_budget(replace(BASE, candidates=30, explicit_candidates=True, top_k=5, explicit_top_k=True))
    assert (plan.rerank, plan.sources, plan.source_tokens) == (30, 5, None)
    assert any("set explicitly" in r for r in plan.reasons)


def test_unknown_speeds_cut_nothing():
    plan = plan_budget(replace(BASE, llm_tokens_per_s=None))
    assert (plan.rerank, plan.sources, plan.source_tokens) == (50, 8, None)
    assert "no budget applied" in plan.reasons[0]


def test_without_a_reranker_the_llm_may_use_the_whole_budget():
    plan = plan_budget(replace(BASE, has_reranker=False, rerank_tokens_per_s=None, llm_tokens_per_s=150.0))
    with_reranker = plan_budget(replace(BASE, llm_tokens_per_s=150.0))
    assert plan.rerank == 0 and plan.sources >= with_reranker.sources


MANUAL = ("本書は業務用空調機の取扱説明書です。設置の前に必ずお読みください。"
          "電源は専用の回路から取ってください。延長コードは使わないでください。"
          "保守点検は半年に一度、専門の技術者が行います。点検では耐熱性能の確認と絶縁抵抗の測定を行います。"
          "フィルターは月に一度掃除してください。汚れたままだと冷房の効きが悪くなります。"
          "運転中に異音がしたときは、すぐに運転を止めて販売店に連絡してください。"
          "保証期間は購入日から一年間です。保証書は大切に保管してください。") * 2


def count(texts):
    return estimate_tokens(texts)


def test_the_passage_keeps_the_matched_words_and_whole_sentences():
    passage = focus_passage(MANUAL, "耐熱性能の確認はいつですか？", max_tokens=60, count_tokens=count)
    assert not passage.whole and passage.tokens <= 60
    assert "耐熱性能" in passage.text and MANUAL[passage.start:passage.end] == passage.text
    assert passage.text.endswith("。") and (passage.start == 0 or MANUAL[passage.start - 1] == "。")


def test_matched_ranges_from_the_index_decide_the_window():
    at = MANUAL.index("保証期間")
    passage = focus_passage(MANUAL, "期間", max_tokens=40, count_tokens=count, matches=[(at, at + 4)])
    assert passage.start <= at < passage.end


def test_a_short_chunk_is_kept_whole_and_a_long_sentence_is_cut_to_the_cap():
    assert focus_passage("短い文です。", "文", max_tokens=60, count_tokens=count).whole
    line = "耐熱" + "あ" * 500 + "性能"
    passage = focus_passage(line, "耐熱", max_tokens=50, count_tokens=count)
    assert passage.tokens <= 50 and passage.text.startswith("耐熱")


def test_the_passage_finds_spelling_variants_and_parts_of_compounds_as_search_does():
    text = ("ご購入ありがとうございます。" * 6 + "サーバの再起動は管理画面から行います。" + "電源を確認してください。" * 6)
    passage = focus_passage(text, "サーバーの再起動について", max_tokens=30, count_tokens=count)
    assert "サーバの再起動" in passage.text
    part = focus_passage(MANUAL, "耐熱", max_tokens=40, count_tokens=count)
    assert "耐熱性能" in part.text


def test_speeds_are_cached_per_model_file_and_measured_again_when_it_changes(tmp_path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x" * 10)
    cache = SpeedCache(tmp_path / "speeds.json")
    key = cache.key("reranker", model, device="cpu", threads=2)
    cache.put(key, Speed(235.0, "cpu", 1.0))
    assert cache.get(key).tokens_per_s == pytest.approx(235.0)
    assert cache.get(cache.key("reranker", model, device="cpu", threads=4)) is None
    model.write_bytes(b"x" * 11)
    assert cache.get(cache.key("reranker", model, device="cpu", threads=2)) is None
    (tmp_path / "speeds.json").write_text("{damaged", encoding="utf-8")
    assert cache.get(key) is None  # a damaged cache costs a measurement, never an error


# --- the budget in an answer, end to end with the suite's models --------------------------------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from app.config import Config  # noqa: E402
from app.core.answer import AskDone  # noqa: E402
from app.core.service import IpponService  # noqa: E402
from engines import ChatSettings  # noqa: E402

GREEDY = ChatSettings(temperature=0.0, max_tokens=8)


@pytest.fixture(scope="module")
def budget_service(tmp_path_factory, engine_models):
    root = tmp_path_factory.mktemp("budget")
    docs = root / "docs"
    docs.mkdir()
    for i in range(12):
        (docs / f"manual{i:02d}.txt").write_text(MANUAL.replace("半年", f"{i + 2}か月"), encoding="utf-8")
    home = root / "home"
    config = Config(data_dir=home, models_dir=root / "models", threads=1, chunk_tokens=200,
                    reranker=str(engine_models("reranker", "gguf")), llm=str(engine_models("llm-untied", "gguf")))
    service = IpponService(config)
    service.add([docs])
    return service


def _ask(service, **overrides):
    settings = service.retrieval_settings(mode="lexical", **overrides)
    return [e for e in service.ask("保守点検の耐熱性能", retrieval=settings, chat=GREEDY) if isinstance(e, AskDone)][0]


def _speeds(service, *, llm: float, reranker: float) -> None:
    """Put measured speeds in the cache, as a slower or faster machine would have measured them."""
    cache = SpeedCache(service.config.data_dir / "speeds.json")
    service.answer_plan(service.retrieval_settings())  # loads the models and measures them once
    for role, name, tps in (("chat", service.config.llm, llm), ("reranker", service.config.reranker, reranker)):
        cache.put(cache.key(role, name, device="cpu", threads=1), Speed(tps, "cpu", 0.0))


def test_speeds_are_measured_once_and_kept(budget_service):
    service = budget_service
    (service.config.data_dir / "speeds.json").unlink(missing_ok=True)
    service.answer_plan(service.retrieval_settings())
    kept = json.loads((service.config.data_dir / "speeds.json").read_text(encoding="utf-8"))
    assert sorted(k.split("|")[0] for k in kept) == ["chat", "reranker"]
    assert all(v["tokens_per_s"] > 0 and v["device"] == "cpu" for v in kept.values())


def test_a_slow_machine_reranks_fewer_candidates_and_the_answer_says_how_many(budget_service):
    _speeds(budget_service, llm=120.0, reranker=235.0)
    done = _ask(budget_service)
    budget = done.timings["budget"]
    assert 0 < done.timings["reranked"] == budget["rerank"] < done.timings["candidates"]
    assert len(done.sources) == budget["sources"] < 8
    assert any("reranking" in r for r in budget["reasons"])
    # The LLM read passages: every source is at most the passage cap, and points at what it read.
    for source in done.sources:
        assert estimate_tokens([source.text])[0] <= budget_service.config.source_passage_tokens
        whole = Path(source.path).read_text(encoding="utf-8")
        assert whole[source.char_start:source.char_end] == source.text
    _speeds(budget_service, llm=5000.0, reranker=20000.0)
    fast = _ask(budget_service)
    assert fast.timings["reranked"] == fast.timings["candidates"] > done.timings["reranked"]


def test_explicit_candidates_and_limit_win_over_the_budget(budget_service):
    _speeds(budget_service, llm=120.0, reranker=235.0)
    done = _ask(budget_service, candidates=10, top_k=6)
    assert done.timings["reranked"] == 10 and len(done.sources) == 6
    assert any("set explicitly" in r for r in done.timings["budget"]["reasons"])


def test_eval_reports_the_time_to_the_first_answer_token_beside_recall(budget_service, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "保守点検の耐熱性能", "positive": ["manual03.txt"],
                                     "answers": ["5か月"]}, ensure_ascii=False) + "\n", encoding="utf-8")
    (report,) = budget_service.evaluate(questions, {"app": None}, mode="lexical")
    assert "recall@5" in report.metrics and "answer_contains" in report.metrics
    first = report.latency_ms["first_token"]["p50"]
    assert first >= report.latency_ms["total"]["p50"] > 0  # search, then the LLM's first token


def test_earlier_turns_and_time_already_spent_leave_less_for_the_rest():
    plain = plan_budget(BASE)
    with_history = plan_budget(replace(BASE, llm_extra_tokens=300))
    late = plan_budget(replace(BASE, spent_s=2.5))
    assert with_history.rerank + with_history.sources < plain.rerank + plain.sources
    assert late.rerank < plain.rerank or late.sources < plain.sources
