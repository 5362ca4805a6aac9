"""The ask panel says how many candidates the time budget let the reranker read, and why (issue 18)."""

from __future__ import annotations

from app.config import Config
from app.core.answer import AskDone
from app.core.service import IpponService
from app.gui.ask_panel import AskPanel
from app.gui.asking import AskController
from app.gui.tasks import TaskRunner


def test_the_status_line_says_how_many_candidates_were_reranked_and_the_tooltip_why(qtbot, tmp_path):
    service = IpponService(Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models"))
    panel = AskPanel(AskController(service, TaskRunner()))
    qtbot.addWidget(panel)
    reason = "reranking 6 of 50 candidates fits 3.0 s at 235 tokens/s"
    timings = {"time_to_first_token_s": 4.2, "tokens_per_s": 12.0, "reranked": 6, "candidates": 50,
               "budget": {"rerank": 6, "sources": 4, "reasons": [reason]}}
    panel._on_finished(AskDone("答え", "", [], [], not_found=False, timings=timings))  # noqa: SLF001
    assert "6 of 50 candidates reranked" in panel.status.text()
    assert panel.status.toolTip() == reason
    panel._on_finished(AskDone("答え", "", [], [], not_found=False, timings={"reranked": 0, "candidates": 9}))  # noqa: SLF001
    assert "reranked" not in panel.status.text()  # nothing reranked (no reranker, or no time): nothing to say
