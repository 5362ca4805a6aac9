"""A file removed from inside a library folder stays out (refresh, watch) until it is added again;
files of unknown types are listed with the reason they are not indexed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.config import Config
from app.core.service import IpponService
from app.core.unindexed import unindexed_files
from app.errors import IpponError
from tests.core.watching import watching


def _library(tmp_path: Path) -> tuple[IpponService, Path]:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "keep.txt").write_text("残す文書です。", encoding="utf-8")
    (folder / "sub" / "drop.txt").write_text("消す文書です。予算の話。", encoding="utf-8")
    home = tmp_path / "home"
    service = IpponService(Config(data_dir=home, models_dir=home / "models"))
    service.add([folder], watch=True)
    return service, folder


def _names(service: IpponService) -> set[str]:
    return {Path(s.path).name for s in service.sources()}


def test_a_removed_file_stays_out_of_refreshes_until_added_again(tmp_path):
    service, folder = _library(tmp_path)
    service.remove([folder / "sub" / "drop.txt"])
    assert _names(service) == {"keep.txt"}
    service.library.refresh()
    assert _names(service) == {"keep.txt"}
    assert [r.path for r in service.library.roots()] == [str(folder)]  # the folder itself stays
    # A fresh service (a restart) still honours it.
    again = IpponService(service.config)
    again.library.refresh()
    assert _names(again) == {"keep.txt"}
    again.add([folder / "sub" / "drop.txt"])
    assert _names(again) == {"keep.txt", "drop.txt"}
    again.library.refresh()
    assert _names(again) == {"keep.txt", "drop.txt"}


def test_adding_the_folder_again_lets_its_removed_files_back(tmp_path):
    service, folder = _library(tmp_path)
    service.remove([folder / "sub"])
    assert _names(service) == {"keep.txt"}
    service.add([folder])
    assert _names(service) == {"keep.txt", "drop.txt"}


def test_a_removed_file_stays_out_while_its_folder_is_watched(tmp_path):
    service, folder = _library(tmp_path)
    service.remove([folder / "sub" / "drop.txt"])
    with watching(service.library) as updates:
        updates.get(timeout=30)  # the catch-up pass
        assert _names(service) == {"keep.txt"}
        (folder / "sub" / "drop.txt").write_text("編集した消す文書です。", encoding="utf-8")
        (folder / "new.txt").write_text("新しい文書です。", encoding="utf-8")
        deadline = time.monotonic() + 30
        while "new.txt" not in _names(service) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _names(service) == {"keep.txt", "new.txt"}


def test_a_damaged_exclusion_list_is_a_clear_error(tmp_path):
    service, folder = _library(tmp_path)
    (service.config.data_dir / "excluded.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IpponError, match="excluded.json"):
        service.library.refresh()


def test_files_of_unknown_types_are_listed_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("IPPON_LANG", "en")
    service, folder = _library(tmp_path)
    (folder / "table.xlsx").write_bytes(b"PK")
    (folder / "Makefile").write_text("all:", encoding="utf-8")
    found = {Path(f.path).name: f.reason for f in unindexed_files([str(folder)])}
    assert found == {"table.xlsx": "Ippon does not read .xlsx files",
                     "Makefile": "a file without an extension (Ippon reads files by their type)"}
