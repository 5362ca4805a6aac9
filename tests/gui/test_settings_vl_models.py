"""Settings: the image reranker and image embedder (Qwen3-VL) are chosen like the other models, written to
config.toml, and the window starts over with them."""

from __future__ import annotations

import tomllib

from PySide6.QtWidgets import QFileDialog, QLabel, QLineEdit, QPushButton

from app.config import Config
from app.gui.settings_dialog import SettingsDialog


def test_the_two_vl_rows_show_browse_and_return_their_keys(qtbot, tmp_path, monkeypatch):
    config = Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models", vision_reranker="/m/vl-reranker.gguf")
    dialog = SettingsDialog(config)
    qtbot.addWidget(dialog)
    assert list(dialog.paths) == ["llm", "embedder", "reranker", "vision_reranker", "image_embedder"]
    assert dialog.paths["vision_reranker"].text() == "/m/vl-reranker.gguf"
    assert dialog.paths["image_embedder"].text() == ""
    labels = [w.text() for w in dialog.findChildren(QLabel)]
    assert "Image reranker (Qwen3-VL)" in labels and "Image embedder (Qwen3-VL)" in labels
    reranker_tip, embedder_tip = (dialog.paths[k].toolTip() for k in ("vision_reranker", "image_embedder"))
    assert "pixels" in reranker_tip and "PDF pages" in reranker_tip and "mmproj-<file name>" in reranker_tip
    assert "pixels" in embedder_tip and "added" in embedder_tip and "mmproj-<file name>" in embedder_tip
    assert dialog.changes() == {}

    # Browse… fills the row it belongs to.
    chosen = str(tmp_path / "vl-embedder.gguf")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (chosen, "GGUF (*.gguf)")))
    browse = [b for b in dialog.findChildren(QPushButton) if b.toolTip() == embedder_tip]
    assert len(browse) == 1 and browse[0].text() == "Browse…"
    browse[0].click()
    assert dialog.paths["image_embedder"].text() == chosen
    dialog.paths["vision_reranker"].setText("  ")
    assert dialog.changes() == {"vision_reranker": None, "image_embedder": chosen}
    assert all(isinstance(e, QLineEdit) for e in dialog.paths.values())


def test_the_window_writes_them_and_reloads_the_models(make_window, monkeypatch, tmp_path):
    from app.gui import settings_dialog

    window = make_window()
    monkeypatch.setenv("IPPON_HOME", str(window.service.config.data_dir))
    old = window.service
    old._image_embedder = loaded = _Closable()
    chosen = {"vision_reranker": str(tmp_path / "vl-reranker.gguf"), "image_embedder": str(tmp_path / "vl-emb.gguf")}
    monkeypatch.setattr(settings_dialog.SettingsDialog, "ask", classmethod(lambda cls, config, parent, **kw: chosen))
    window.edit_settings()
    written = tomllib.loads((window.service.config.data_dir / "config.toml").read_text(encoding="utf-8"))
    assert written == chosen
    assert window.service is not old and loaded.closed and old._image_embedder is None
    assert (window.service.config.vision_reranker, window.service.config.image_embedder) == (
        chosen["vision_reranker"], chosen["image_embedder"])
    assert window.service._vision_reranker is None and window.service._image_embedder is None


class _Closable:
    closed = False

    def close(self) -> None:
        self.closed = True
