"""The store's native read path gives what lancedb's public API gives, and keeps short commands off lancedb's import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.core.lance_reader import open_reader
from app.core.store import LibraryStore
from tests.core.test_store import _file


@pytest.fixture()
def stores(tmp_path):
    """The same library read natively and through the public API."""
    writer = LibraryStore(tmp_path)
    writer.write_files([_file("/a.txt", ["国際連合安全保障理事会の決議について説明します。", "東京の天気は晴れです。"]),
                        _file("/b.txt", ["ポート番号を８０８０に変更してください。", "東京駅の案内です。"])])
    writer.optimize()
    writer.use_embedder("emb-a", 4)
    native = LibraryStore(tmp_path)
    public = LibraryStore(tmp_path)
    public._reader = None  # noqa: SLF001 - the public API's answer is the reference
    return native, public


def test_the_installed_lancedb_gets_the_native_path(tmp_path):
    assert open_reader(tmp_path) is not None, "lancedb's native interface changed: update app/core/lance_reader.py"


def test_native_reads_match_the_public_api(stores):
    native, public = stores
    assert native._native() is not None  # noqa: SLF001
    assert native.sources() == public.sources()
    assert native.count_chunks() == public.count_chunks() == 4
    assert native.embedder() == public.embedder() == ("emb-a", 4)
    for query, where in (("東京", None), ("保障", None), ("東京", "path = '/b.txt'"), ("8080", None), ("無い語", None)):
        assert native.search_lexical(query, where=where) == public.search_lexical(query, where=where)
    assert [h.path for h in native.search_lexical("東京", where="path = '/b.txt'")] == ["/b.txt"]


def test_native_reads_see_what_another_store_wrote_since(stores, tmp_path):
    native, _ = stores
    assert len(native.sources()) == 2
    LibraryStore(tmp_path).remove_sources([native.sources()[0].source_id])
    assert [s.path for s in native.sources()] == ["/b.txt"]


def test_a_fresh_library_reads_empty_without_creating_anything(tmp_path):
    store = LibraryStore(tmp_path)
    assert store.sources() == [] and store.count_chunks() == 0 and store.embedder() is None
    assert store.search_lexical("東京") == []
    assert not list((tmp_path / "library").iterdir())


def test_sources_and_search_commands_never_import_lancedb(tmp_path):
    home = tmp_path / "home"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# 設定\n\n設定ファイルの場所です。", encoding="utf-8")
    env = {"IPPON_HOME": str(home), "IPPON_LANG": "en", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "app.launcher", "add", str(docs)], env=env, check=True,
                   capture_output=True)
    probe = ("import sys, json; from app.launcher import main; main(sys.argv[1:]); "
             "print(json.dumps(sorted(m for m in sys.modules if m == 'lancedb' or m.startswith('lancedb.') "
             "and m != 'lancedb._lancedb' or m == 'pandas')), file=sys.stderr)")
    for command in (["sources"], ["search", "設定ファイル"]):
        run = subprocess.run([sys.executable, "-c", probe, *command], env=env, check=True, capture_output=True,
                             text=True)
        assert "a.md" in run.stdout.replace("\n", "")
        assert json.loads(run.stderr.strip().splitlines()[-1]) == []


def test_threads_opening_the_tables_at_once_share_one_connection(tmp_path):
    import threading

    store = LibraryStore(tmp_path)
    start = threading.Barrier(4)
    tables = []

    def first_use() -> None:
        start.wait()
        tables.append(store._chunks)  # noqa: SLF001 - the table a write would use

    workers = [threading.Thread(target=first_use) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(tables) == 4 and all(table is tables[0] for table in tables)


def test_a_lancedb_with_another_native_interface_reads_through_the_public_api(stores, tmp_path):
    _, public = stores

    def connect(uri):  # an older or newer core: other arguments
        raise AssertionError("not reached: the call itself fails")

    store = LibraryStore(tmp_path)
    store._reader._native = type("OtherCore", (), {"connect": staticmethod(connect)})  # noqa: SLF001
    assert store.sources() == public.sources() and store.count_chunks() == 4
    assert store._reader is None  # noqa: SLF001 - decided once, then the public API
