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


def test_settings_offer_the_answer_speed_presets_and_write_only_a_change(qtbot, tmp_path):
    from app.gui.settings_dialog import SettingsDialog

    config = Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models")
    dialog = SettingsDialog(config)
    qtbot.addWidget(dialog)
    presets = [dialog.answer_seconds.itemData(i) for i in range(dialog.answer_seconds.count())]
    assert presets == [4.0, 8.0, 20.0, 0.0] and dialog.answer_seconds.currentData() == 8.0
    assert "answer_seconds" not in dialog.changes()  # the default stays out of config.toml
    dialog.answer_seconds.setCurrentIndex(presets.index(20.0))
    assert dialog.changes()["answer_seconds"] == 20.0
    odd = SettingsDialog(Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models", answer_seconds=12.5))
    qtbot.addWidget(odd)
    assert odd.answer_seconds.currentData() == 12.5 and "config.toml" in odd.answer_seconds.currentText()
