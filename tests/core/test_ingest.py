"""Ingest end to end: incremental, Japanese-aware, bad files recorded, two phases, NFC paths."""

from __future__ import annotations

import json
import os
import threading
import unicodedata
from pathlib import Path

import pytest

from app.cli import main
from app.config import Config
from app.core.service import IpponService
from app.core.store import EmbedderMismatchError

DOCS = {
    "manual/setup.md": "# 設定\n\nポート番号は８０８０です。設定ファイルを開いて変更してください。\n\n## 再起動\n\n変更後はサーバーを再起動します。",
    "manual/安全.txt": "国際連合安全保障理事会の決議について説明します。" * 3,
    "notes/en.txt": "The quick brown fox jumps over the lazy dog. Retrieval needs good chunks.",
}


def _write(root: Path, files: dict[str, str | bytes], encoding: str = "utf-8") -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))


def _service(tmp_path: Path, **settings) -> IpponService:
    home = tmp_path / "home"
    return IpponService(Config(data_dir=home, models_dir=home / "models", **settings))


@pytest.fixture()
def corpus(tmp_path) -> Path:
    root = tmp_path / "docs"
    _write(root, DOCS)
    _write(root, {"sjis.txt": "シフトJISの文書です。検索できるはずです。"}, encoding="cp932")
    _write(root, {"euc.txt": "EUC-JPの文書です。"}, encoding="euc_jp")
    _write(root, {"empty.txt": b"", "binary.txt": bytes(range(256)) * 8, "program.exe": b"MZ\x00\x00",
                  ".hidden.txt": "隠しファイル"})
    return root


def test_add_indexes_every_format_and_reports_bad_files(corpus, tmp_path):
    service = _service(tmp_path)
    summary = service.add([corpus])
    assert (summary.added, summary.failed, summary.skipped, summary.unchanged) == (5, 2, 1, 0)
    by_name = {Path(s.path).name: s for s in service.sources()}
    assert set(by_name) == {"setup.md", "安全.txt", "en.txt", "sjis.txt", "euc.txt", "empty.txt", "binary.txt"}
    assert by_name["empty.txt"].status == "failed" and "is empty" in by_name["empty.txt"].error
    assert "binary" in by_name["binary.txt"].error
    assert {Path(s.path).name for s in service.sources(errors_only=True)} == {"empty.txt", "binary.txt"}
    # Keyword search: Japanese without spaces, a two-character word inside a compound, NFKC.
    assert [Path(h.path).name for h in service.search_keywords("保障")] == ["安全.txt"]
    assert Path(service.search_keywords("8080")[0].path).name == "setup.md"
    assert Path(service.search_keywords("シフト")[0].path).name == "sjis.txt"
    hit = service.search_keywords("再起動")[0]
    assert hit.heading == "設定" and "再起動" in hit.text  # one chunk, headed by its first section


def test_a_second_run_is_incremental(corpus, tmp_path):
    service = _service(tmp_path)
    service.add([corpus])
    again = service.add([corpus])
    # Failed files that did not change are not retried either (their error stays listed).
    assert (again.added, again.updated, again.unchanged, again.removed, again.chunks) == (0, 0, 7, 0, 0)

    (corpus / "notes/en.txt").write_text("A completely new text about llamas.", encoding="utf-8")
    (corpus / "manual/安全.txt").unlink()
    (corpus / "manual/setup.md").rename(corpus / "manual/renamed.md")
    third = service.add([corpus])
    assert (third.added, third.updated, third.removed) == (1, 1, 2)
    names = {Path(s.path).name for s in service.sources() if s.status == "indexed"}
    assert names == {"renamed.md", "en.txt", "sjis.txt", "euc.txt"}
    assert service.search_keywords("保障") == [] and service.search_keywords("fox") == []
    assert Path(service.search_keywords("llamas")[0].path).name == "en.txt"


def test_nfd_and_nfc_spellings_are_one_source(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    nfd = unicodedata.normalize("NFD", "がいど.txt")  # a name as macOS writes it, copied to Linux as is
    (folder / nfd).write_text("濁点のあるファイル名。", encoding="utf-8")
    service = _service(tmp_path)
    service.add([folder])
    assert service.add([folder / nfd]).unchanged == 1
    (record,) = service.sources()
    assert record.status == "indexed" and record.path == unicodedata.normalize("NFC", str(folder / nfd))
    assert service.search_keywords("濁点")[0].source_id == record.source_id


def test_remove_drops_the_files_and_their_chunks(corpus, tmp_path):
    service = _service(tmp_path)
    service.add([corpus])
    assert service.remove([corpus / "manual"]) == 2
    assert service.search_keywords("保障") == []
    assert all("manual" not in s.path for s in service.sources())


def test_phase_two_embeds_every_chunk_and_resumes(corpus, tmp_path, engine_models):
    embedder = str(engine_models("embedder", "gguf"))
    service = _service(tmp_path, embedder=embedder, threads=1)
    summary = service.add([corpus], vectors=False)
    store = service.library.store
    assert summary.chunks > 0 and store.embedder() is None
    cancel = threading.Event()
    events = []

    def stop_after_first(event) -> None:
        events.append(event)
        cancel.set()

    service.library.embed_pending(progress=stop_after_first, cancel=cancel, batch_size=2)
    assert store.embedder() == ("embedder.gguf", 64)
    remaining = store.count_pending_vectors()
    assert 0 < remaining < store.count_chunks()
    service.library.embed_pending()
    assert store.count_pending_vectors() == 0
    query = service._library_embedder().embed(["国際連合の安全保障"], kind="query")[0]
    hits = store.search_vector(query, limit=3)
    assert hits and all(-1.0 <= h.score <= 1.0 for h in hits)
    # Another embedder refuses, and says what to do.
    other = _service(tmp_path, embedder=embedder, embed_dim=32, threads=1)
    with pytest.raises(EmbedderMismatchError, match="ippon reindex --vectors"):
        other.library.embed_pending()
    other.reindex(vectors_only=True)
    assert other.library.store.embedder() == ("embedder.gguf", 32)
    assert other.library.store.count_pending_vectors() == 0


def test_cli_add_and_sources_json(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IPPON_HOME", str(tmp_path / "cli-home"))
    assert main(["add", str(corpus), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary == {"added": 5, "updated": 0, "unchanged": 0, "removed": 0, "failed": 2, "skipped": 1,
                       "chunks": summary["chunks"], "vectors": 0, "cancelled": False}
    assert main(["sources", "--errors", "--json"]) == 0
    errors = json.loads(capsys.readouterr().out)
    assert sorted(Path(e["path"]).name for e in errors) == ["binary.txt", "empty.txt"]
    assert all(e["status"] == "failed" and e["error"] for e in errors)
    assert main(["add", str(tmp_path / "missing")]) == 1
    assert "missing: no such file or folder" in capsys.readouterr().err


def test_unreadable_entries_are_recorded_not_fatal(tmp_path):
    root = tmp_path / "docs"
    _write(root, {"ok.txt": "大丈夫な文書。"})
    os.symlink(root / "nowhere.txt", root / "broken.txt")
    os.symlink(root, root / "loop")
    service = _service(tmp_path)
    summary = service.add([root])
    errors = {Path(s.path).name: s.error for s in service.sources(errors_only=True)}
    assert summary.added == 1
    assert "broken symbolic link" in errors["broken.txt"]
    assert "loop" in errors["loop"]


def test_an_undecodable_file_name_is_reported(tmp_path):
    root = tmp_path / "docs"
    _write(root, {"ok.txt": "読める名前。"})
    with open(os.path.join(os.fsencode(root), b"bad-\xff-name.txt"), "wb") as fh:
        fh.write("中身".encode())
    service = _service(tmp_path)
    summary = service.add([root])
    (error,) = [s.error for s in service.sources(errors_only=True)]
    assert summary.added == 1 and summary.failed == 1
    assert "bad-\ufffd-name.txt" in error and "not valid UTF-8" in error


def test_a_reader_can_search_while_an_ingest_writes(tmp_path):
    import subprocess
    import sys

    root = tmp_path / "docs"
    _write(root, {f"d{i:03d}.txt": f"検索対象の文書{i}です。" * 50 for i in range(200)})
    home = tmp_path / "home"
    reader = IpponService(Config(data_dir=home, models_dir=home / "models"))
    reader.add([root / "d000.txt"])
    code = ("import sys; from pathlib import Path; from app.config import Config; "
            "from app.core.service import IpponService; h = Path(sys.argv[1]); "
            "IpponService(Config(data_dir=h, models_dir=h / 'models')).add([Path(sys.argv[2])])")
    writer = subprocess.Popen([sys.executable, "-c", code, str(home), str(root)],
                              cwd=Path(__file__).resolve().parents[2], stderr=subprocess.PIPE, text=True)
    searches = 0
    while writer.poll() is None:
        fresh = IpponService(Config(data_dir=home, models_dir=home / "models"))
        assert fresh.search_keywords("検索対象")  # never fails, never empty while the writer commits
        searches += 1
    assert writer.returncode == 0, writer.stderr.read()
    assert searches >= 1
    assert len(reader.sources()) == 200
