"""The library panel lists a link that leaves its folder as skipped, with the reason, not as a failure."""

from __future__ import annotations

import os

from app.config import Config
from app.core.service import IpponService
from app.gui.sources_panel import SourcesPanel


def test_a_link_out_of_the_folder_is_listed_as_skipped_with_its_reason(qtbot, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("外の文書です。", encoding="utf-8")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "own.txt").write_text("共有の文書です。", encoding="utf-8")
    (shared / "empty.txt").write_text("", encoding="utf-8")
    os.symlink(outside / "secret.txt", shared / "p.txt")
    home = tmp_path / "home"
    service = IpponService(Config(data_dir=home, models_dir=home / "models"))
    service.add([shared])

    panel = SourcesPanel()
    qtbot.addWidget(panel)
    panel.set_sources(service.sources(), roots=[str(shared)])
    rows = panel.file_rows()
    assert rows["own.txt"][0] == "indexed" and rows["empty.txt"][0] == "failed"
    status, chunks, reason = rows["p.txt"]
    assert status == "skipped" and chunks == ""
    assert "outside the added folder: not followed" in reason
    assert "1 failed, 1 skipped" in panel.title.text()
