"""Watch mode follows creations, edits, renames and deletions, and coalesces bursts."""

from __future__ import annotations

from pathlib import Path

from app.config import Config
from app.core.service import IpponService
from tests.core.watching import wait_for, watching


def test_watch_follows_edits_renames_and_deletions(tmp_path):
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "first.txt").write_text("最初の文書です。", encoding="utf-8")
    home = tmp_path / "home"
    service = IpponService(Config(data_dir=home, models_dir=home / "models"))
    service.add([folder], watch=True)
    library = service.library
    with watching(library) as updates:
        wait_for(updates, lambda s: s.unchanged == 1)  # the catch-up pass at start
        # A burst: create, write twice, rename into place -> one update with the final text.
        tmp = folder / "draft.tmp.txt"
        tmp.write_text("下書き", encoding="utf-8")
        tmp.write_text("新しい議事録です。予算について話しました。", encoding="utf-8")
        tmp.rename(folder / "minutes.txt")
        wait_for(updates, lambda s: s.added >= 1)
        assert Path(service.search_keywords("予算")[0].path).name == "minutes.txt"
        assert not any(Path(s.path).name == "draft.tmp.txt" for s in service.sources())

        (folder / "first.txt").write_text("書き換えた文書です。天気の話。", encoding="utf-8")
        wait_for(updates, lambda s: s.updated == 1)
        assert Path(service.search_keywords("天気")[0].path).name == "first.txt"
        assert service.search_keywords("最初") == []

        (folder / "minutes.txt").unlink()
        wait_for(updates, lambda s: s.removed == 1)
        assert service.search_keywords("予算") == []
