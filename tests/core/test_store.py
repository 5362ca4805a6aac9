"""The library database: upserts of whole files, Japanese keyword search, vectors and their embedder."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.store import (ChunkRecord, EmbedderMismatchError, FileUpdate, LibraryStore, SourceRecord,
                            normalize_path, search_text, source_id_for, text_hash)


def _file(path: str, texts: list[str]) -> FileUpdate:
    sid = source_id_for(path)
    chunks = [ChunkRecord(chunk_id=f"{sid}-{i:06d}", source_id=sid, ordinal=i, path=path, format="txt", text=t,
                          search_text=search_text(t), text_hash=text_hash(search_text(t)), page=None, slide=None,
                          heading=None, kind="text", char_start=0, char_end=len(t), mtime_ns=1) for i, t in
              enumerate(texts)]
    return FileUpdate(SourceRecord(source_id=sid, path=path, format="txt", size=1, mtime_ns=1, content_hash="h",
                                   status="indexed", chunks=len(chunks)), chunks)


@pytest.fixture()
def store(tmp_path):
    return LibraryStore(tmp_path)


def test_keyword_search_finds_two_characters_inside_a_long_compound(store):
    store.write_files([_file("/a.txt", ["国際連合安全保障理事会の決議について説明します。", "東京の天気は晴れです。"]),
                       _file("/b.txt", ["ポート番号を８０８０に変更してください。"])])
    store.optimize()
    assert [h.path for h in store.search_lexical("保障")] == ["/a.txt"]
    assert store.search_lexical("安全")[0].text.startswith("国際連合")
    # NFKC on both sides: half-width kana and full-width digits meet their normal forms.
    assert [h.path for h in store.search_lexical("ﾎﾟｰﾄ")] == ["/b.txt"]
    assert [h.path for h in store.search_lexical("8080")] == ["/b.txt"]
    assert store.search_lexical("存在しない語") == []


def test_rewriting_a_file_replaces_exactly_its_chunks(store):
    store.write_files([_file("/a.txt", ["一", "二", "三"]), _file("/b.txt", ["別"])])
    store.write_files([_file("/a.txt", ["新しい一"])])
    assert [c.text for c in store.chunks_of(source_id_for("/a.txt"))] == ["新しい一"]
    assert [c.text for c in store.chunks_of(source_id_for("/b.txt"))] == ["別"]
    assert store.count_chunks() == 2
    store.remove_sources([source_id_for("/a.txt")])
    assert store.count_chunks() == 1 and [s.path for s in store.sources()] == ["/b.txt"]


def test_vectors_follow_their_text_and_their_embedder(store):
    store.write_files([_file("/a.txt", ["犬", "猫"])])
    assert store.embedder() is None and store.pending_vectors() == []
    store.use_embedder("emb-a", 4)
    pending = store.pending_vectors()
    assert sorted(t for _, t, _ in pending) == ["犬", "猫"]
    vectors = np.eye(4, dtype=np.float32)[:2]
    store.write_vectors([p[0] for p in pending], [p[2] for p in pending], vectors)
    assert store.count_pending_vectors() == 0
    store.write_files([_file("/c.txt", ["まだベクトルのない文"])])
    assert len(store.search_vector(vectors[0], limit=10)) == 2  # chunks without a vector never come back
    hit = store.search_vector(vectors[0])[0]
    assert hit.text == dict((p[0], p[1]) for p in pending)[hit.chunk_id] and hit.score == pytest.approx(1.0)
    # A changed text loses its vector's validity; the unchanged chunk keeps its vector.
    store.write_files([_file("/a.txt", ["犬", "馬"])])
    assert sorted(t for _, t, _ in store.pending_vectors()) == ["まだベクトルのない文", "馬"]
    with pytest.raises(EmbedderMismatchError, match="ippon reindex --vectors"):
        LibraryStore(store.path.parent).use_embedder("emb-b", 8)
    store.use_embedder("emb-b", 8, replace=True)
    assert store.count_pending_vectors() == 3 and store.embedder() == ("emb-b", 8)
    pending = store.pending_vectors()
    store.write_vectors([p[0] for p in pending], [p[2] for p in pending], np.eye(8, dtype=np.float32)[:3])
    store.use_embedder("emb-b", 8, replace=True)  # the same name, maybe a re-converted file: all again
    assert store.count_pending_vectors() == 3


def test_paths_are_compared_in_nfc(tmp_path):
    nfd = str(tmp_path / "か\u3099いど.txt")  # が written as か + combining dakuten (macOS)
    nfc = str(tmp_path / "がいど.txt")
    assert normalize_path(nfd) == normalize_path(nfc)
    assert source_id_for(normalize_path(nfd)) == source_id_for(normalize_path(nfc))
