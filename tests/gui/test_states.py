"""Every state of asking says something: empty library, no model, nothing found, a failed model (the
results found stay listed), and stopped (no 「回答中…」 left behind)."""

from __future__ import annotations

from .conftest import RAG_DOCS, write_docs


def _listed(window, qtbot) -> None:
    qtbot.waitUntil(lambda: window.ask_panel.library_files >= 0 and not window.runner.busy, timeout=30_000)


def test_an_empty_library_says_how_to_fill_it(make_window, qtbot):
    window = make_window()
    _listed(window, qtbot)
    panel = window.ask_panel
    panel.question.setText("富士山の標高は？")
    panel.submit()
    assert not window.controller.busy
    assert "Your library is empty" in panel.notice.text() and panel.notice.isVisibleTo(panel)
    added = []
    panel.add_requested.connect(lambda: added.append(True))
    panel.notice.linkActivated.emit("add")
    assert added
    assert "empty" in window.sources_panel.empty.text()


def _ask_in_a_library(make_window, qtbot, tmp_path, question: str):
    """A window over the two RAG documents, after `question` was asked and answered (or not)."""
    window = make_window()
    window.add_paths([write_docs(tmp_path / "docs", RAG_DOCS)])
    qtbot.waitUntil(lambda: window.ask_panel.library_files == 2, timeout=60_000)
    window.ask_panel.question.setText(question)
    with qtbot.waitSignal(window.controller.finished, timeout=30_000):
        window.ask_panel.submit()
    return window, window.ask_panel


def _window_over_the_docs(make_window, qtbot, tmp_path, **config):  # noqa: ANN001, ANN202
    """A window with the two RAG documents indexed (added through the service, shown in the window)."""
    window = make_window(**config)
    window.service.add([write_docs(tmp_path / "docs", RAG_DOCS)])
    window.refresh_sources()
    qtbot.waitUntil(lambda: window.ask_panel.library_files == 2, timeout=30_000)
    return window


def test_without_a_model_the_search_results_show_with_the_way_to_a_model(make_window, qtbot, tmp_path):
    window, panel = _ask_in_a_library(make_window, qtbot, tmp_path, "ポート番号")
    assert "No answering model" in panel.notice.text() and panel.citations.count() >= 1
    opened = []
    panel.models_requested.connect(lambda: opened.append(True))
    panel.notice.linkActivated.emit("models")
    assert opened


def test_nothing_found_says_what_to_try(make_window, qtbot, tmp_path):
    _window, panel = _ask_in_a_library(make_window, qtbot, tmp_path, "xyzzyplugh")
    assert panel.citations.count() == 0
    assert "Nothing in the library matches" in panel.notice.text() and "Try other words" in panel.notice.text()


def test_a_failed_model_keeps_the_search_results_visible(make_window, qtbot, tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"this is not a model")
    window = _window_over_the_docs(make_window, qtbot, tmp_path, llm=str(broken))
    panel = window.ask_panel
    panel.question.setText("ポート番号")
    with qtbot.waitSignal(window.controller.failed, timeout=30_000):
        panel.submit()
    qtbot.waitUntil(lambda: panel.citations.count() >= 1, timeout=30_000)
    assert "The answer failed" in panel.notice.text() and "broken.gguf" in panel.notice.text()
    assert any("port.txt" in panel.citations.item(r).text() for r in range(panel.citations.count()))
    assert panel.status.text() != "Answering…"


def test_stop_leaves_stopped_not_answering(make_window, qtbot, tmp_path, engine_models):
    window = _window_over_the_docs(make_window, qtbot, tmp_path, llm=str(engine_models("llm-chat", "gguf")))
    panel = window.ask_panel
    panel.question.setText("富士山の標高は？")
    with qtbot.waitSignal(window.controller.stopped, timeout=60_000):
        panel.submit()
        assert panel.ask_button.text() == "Stop"
        panel.ask_button.click()  # stop before the first event: the stream is closed, no answer comes
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=30_000)
    assert panel.status.text() == "Stopped. Ask again to start over."
    assert panel.ask_button.text() == "Ask"
