"""The Models window: imports of every local layout (a Hugging Face checkpoint converted for this machine,
with progress), the offline way out through Import…, no stale message on reopening, models set in
Settings shown, and an embedder chosen there starting the vector phase."""

from __future__ import annotations

from pathlib import Path

from app.core import models

from .conftest import RAG_DOCS, write_docs


def _dialog(window):
    window.show_models()
    return window.models_dialog


def _import(dialog, qtbot, path: Path):
    with qtbot.waitSignal(dialog.import_finished, timeout=120_000) as done:
        dialog.import_path(path)
    return done.args[0]


def test_an_mlx_folder_imports_from_the_window(make_window, qtbot, engine_models, monkeypatch):
    window = make_window()
    monkeypatch.setenv("IPPON_HOME", str(window.service.config.data_dir))
    dialog = _dialog(window)
    model = _import(dialog, qtbot, engine_models("embedder", "mlx"))
    assert isinstance(model, models.InstalledModel) and (model.format, model.kind) == ("mlx", "embedder")
    assert dialog.installed.rowCount() == 1
    assert dialog.installed.item(0, 1).text() == "Embedder" and dialog.installed.item(0, 2).text().startswith("mlx")
    assert "Installed" in dialog.status.text()


def test_a_hugging_face_checkpoint_is_converted_with_progress_then_installed(make_window, qtbot, test_models,
                                                                            monkeypatch):
    monkeypatch.setattr("app.core.models.ready_import.default_format", lambda: "gguf")
    window = make_window()
    dialog = _dialog(window)
    seen = []
    dialog.progress.valueChanged.connect(seen.append)
    labels = []
    dialog.progress.valueChanged.connect(lambda _v: labels.append(dialog.progress_label.text()))
    model = _import(dialog, qtbot, test_models["llm-tied"])
    assert isinstance(model, models.InstalledModel), model
    assert (model.format, model.kind, model.name) == ("gguf", "llm", "llm-tied-gguf")
    assert model.path.suffix == ".gguf" and model.path.stat().st_size > 0
    assert max(seen) > 0 and "Converting for this machine…" in labels
    assert not (window.service.config.models_dir / ".partial").exists() or not any(
        (window.service.config.models_dir / ".partial").iterdir())
    qtbot.waitUntil(lambda: not dialog.progress.isVisible())
    assert dialog.installed.rowCount() == 1


def test_offline_the_dialog_points_at_its_own_import_button(make_window, qtbot, monkeypatch):
    window = make_window()
    dialog = _dialog(window)

    def offline(*args, **kwargs):
        raise models.OfflineError("cannot reach huggingface.co. If this machine is offline, run "
                                  "`ippon models import PATH`")

    monkeypatch.setattr(window.service, "pull_model", offline)
    with qtbot.waitSignal(dialog.changed, timeout=30_000):
        dialog.download_recommended()
    text = dialog.status.text()
    assert "Import…" in text and "ippon models import" not in text


def test_reopening_the_dialog_drops_an_old_error(make_window, qtbot):
    window = make_window()
    dialog = _dialog(window)
    with qtbot.waitSignal(dialog.import_finished, timeout=30_000):
        dialog.import_path(Path("/nonexistent/model.gguf"))
    assert "model.gguf" in dialog.status.text()
    dialog.hide()
    window.show_models()
    assert dialog.status.text() == ""


def test_a_model_set_in_settings_shows_in_the_dialog(make_window, qtbot, engine_models):
    window = make_window(llm=str(engine_models("llm-chat", "gguf")))
    dialog = _dialog(window)
    rows = [[dialog.installed.item(r, c).text() for c in range(5)] for r in range(dialog.installed.rowCount())]
    assert rows == [["llm-chat.gguf", "Answering (LLM)", "gguf", "", "Answering (LLM) (set in Settings)"]]
    dialog.installed.selectRow(0)
    dialog.remove_selected()  # not Ippon's file to delete: it says where the setting lives
    assert "set by its path in Settings" in dialog.status.text()
    assert engine_models("llm-chat", "gguf").exists()
    assert "llm-chat" in window.models_status.text()


def test_choosing_an_embedder_computes_the_vectors_with_progress(make_window, qtbot, tmp_path, engine_models,
                                                                 monkeypatch):
    window = make_window()
    monkeypatch.setenv("IPPON_HOME", str(window.service.config.data_dir))
    window.service.add([write_docs(tmp_path / "docs", RAG_DOCS)])
    assert window.service.library.store.count_pending_vectors() == 2  # no embedder yet: every chunk waits
    dialog = _dialog(window)
    _import(dialog, qtbot, engine_models("embedder", "gguf"))
    dialog.installed.selectRow(0)
    labels = []
    with qtbot.waitSignal(window.ingest_finished, timeout=120_000) as finished:
        dialog.use_selected()
        labels.append(window.progress_label.text())
    summary = finished.args[0]
    assert labels == ["Computing vectors…"]
    assert summary.chunks >= 2 and not summary.cancelled
    assert window.service.library.store.count_pending_vectors() == 0
    assert "Embedder: embedder" in window.models_status.text()
