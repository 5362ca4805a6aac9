"""Japanese keyword search finds what people type: parts of compounds, spelling variants both ways,
questions whose particles do not count, snippets at the matched words, and older libraries upgraded."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from app.cli import main
from app.config import load_config
from app.core import lexical_rank
from app.core import store as store_module
from app.core.analysis import ANALYSIS_VERSION, analyzer
from app.core.lexical_rank import word_coverage, word_pairs_share
from app.core.snippets import make_snippet, match_ranges
from app.core.store import (STOP_WORDS, ChunkRecord, FileUpdate, LibraryStore, SourceRecord, search_text,
                            source_id_for, text_hash)

MANUAL = "保守点検は半年に一度行います。\n耐熱性能の確認を忘れないでください。\nサーバの再起動はお問合せ窓口へ。\n"

# (two-character noun, a sentence where it stands only inside a compound of four or more characters)
COMPOUND_PARTS = [
    ("耐熱", "新しい耐熱性能の試験を行った。"),
    ("保障", "国際連合安全保障理事会が開かれた。"),
    ("勤務", "来月から在宅勤務制度が始まる。"),
    ("漏洩", "個人情報漏洩対策を強化する。"),
    ("品質", "工場の品質管理体制を見直した。"),
    ("裁判", "最高裁判所の判断が示された。"),
    ("沢市", "所沢市役所の窓口は九時に開く。"),
    ("暗号", "通信暗号化方式を変更した。"),
    ("負荷", "負荷分散装置を追加で導入した。"),
    ("防災", "地域防災計画を改定する予定だ。"),
    ("交通", "公共交通機関の運賃が上がった。"),
    ("保険", "国民健康保険料の通知が届いた。"),
]

# Spelling variants (表記ゆれ) that NFKC leaves apart: Sudachi's normalized forms and the katakana long vowel.
VARIANTS = [
    ("サーバ", "サーバー"), ("問合せ", "問い合わせ"), ("インタフェース", "インターフェース"), ("取扱い", "取り扱い"),
    ("メモリ", "メモリー"), ("コンピュータ", "コンピューター"), ("プリンタ", "プリンター"), ("ユーザ", "ユーザー"),
    ("フォルダ", "フォルダー"), ("ブラウザ", "ブラウザー"), ("ドライバ", "ドライバー"), ("パラメータ", "パラメーター"),
    ("スキャナ", "スキャナー"), ("申込み", "申し込み"), ("打合せ", "打ち合わせ"), ("引渡し", "引き渡し"),
    ("振込", "振り込み"), ("見積り", "見積もり"), ("手続", "手続き"), ("切替", "切り替え"), ("書込み", "書き込み"),
    ("取消し", "取り消し"), ("組合せ", "組み合わせ"), ("ウィルス", "ウイルス"), ("貸出", "貸し出し"),
]
FILLER = ["本日は晴天なり。会議は午後三時から始まります。", "昼食は社員食堂でとることができます。"]


def _file(path: str, texts: list[str]) -> FileUpdate:
    sid = source_id_for(path)
    chunks = [ChunkRecord(chunk_id=f"{sid}-{i:06d}", source_id=sid, ordinal=i, path=path, format="txt", text=t,
                          search_text=search_text(t), text_hash=text_hash(search_text(t)), page=None, slide=None,
                          heading=None, kind="text", char_start=0, char_end=len(t), mtime_ns=1)
              for i, t in enumerate(texts)]
    return FileUpdate(SourceRecord(source_id=sid, path=path, format="txt", size=1, mtime_ns=1, content_hash="h",
                                   status="indexed", chunks=len(chunks)), chunks)


def _library(folder: Path, documents: dict[str, str]) -> LibraryStore:
    store = LibraryStore(folder)
    store.write_files([_file(path, [text]) for path, text in documents.items()])
    store.optimize()
    return store


def _top(store: LibraryStore, query: str) -> str | None:
    hits = store.search_lexical(query, limit=5)
    return hits[0].path if hits else None


def test_a_two_character_noun_finds_the_compound_it_stands_in(tmp_path):
    store = _library(tmp_path, {f"/doc{i}.txt": text for i, (_, text) in enumerate(COMPOUND_PARTS)}
                     | {f"/filler{i}.txt": text for i, text in enumerate(FILLER)})
    for i, (part, text) in enumerate(COMPOUND_PARTS):
        assert part in text and _top(store, part) == f"/doc{i}.txt", part


@pytest.mark.parametrize("written", [0, 1], ids=["short-form-written", "long-form-written"])
def test_every_spelling_variant_finds_the_other(tmp_path, written):
    assert len(VARIANTS) >= 20
    documents = {f"/doc{i}.txt": f"{pair[written]}の設定について説明します。" for i, pair in enumerate(VARIANTS)}
    store = _library(tmp_path, documents | {f"/filler{i}.txt": text for i, text in enumerate(FILLER)})
    for i, pair in enumerate(VARIANTS):
        asked = pair[1 - written]
        assert _top(store, asked) == f"/doc{i}.txt", f"{asked} should find {pair[written]}"
        assert _top(store, f"{asked}はどこで変更できますか？") == f"/doc{i}.txt", asked


def test_particles_and_question_words_never_decide_a_ranking(tmp_path):
    store = _library(tmp_path, {
        "/heat.txt": "耐熱性能の確認は年に一度行う。",
        "/chatter.txt": "これはそれについてのことですか。何をどうして教えてくださいとは言えない。",
        "/other.txt": "電源ケーブルの交換手順。",
    })
    for question in ("耐熱性能について教えてください", "耐熱性能とは何ですか？", "耐熱性能はどこで確認しますか"):
        hits = store.search_lexical(question)
        assert [h.path for h in hits] == ["/heat.txt"], question
    # Only particles, question words and request forms: nothing to rank by, so nothing comes back.
    assert store.search_lexical("について教えてください。何ですか？") == []
    assert analyzer().query_terms("それはどこですか").terms == ""
    # The query is analysed as the text is: the same words, whatever the particles around them.
    assert analyzer().query_terms("サーバーの問合せについて").words == analyzer().query_terms("サーバ 問い合わせ").words


def test_snippet_shows_and_points_at_the_matched_words():
    text = "はじめに。" * 30 + "本機の耐熱性能は八十度までです。" + "おわりに。" * 30
    snippet = make_snippet("耐熱", text)
    at = text.index("耐熱")
    assert snippet.ranges == [(at, at + 2)]
    assert snippet.start <= at and at + 2 <= snippet.end and snippet.text == text[snippet.start:snippet.end]
    assert "耐熱性能" in snippet.marked(before="", after="") and snippet.marked().startswith("…")
    assert snippet.marked(before="<", after=">").count("<耐熱>") == 1
    # A variant marks the other spelling; offsets are in the original text even where NFKC changes its length.
    original = "設定はｻｰﾊﾞｰ側で行い、問合せは窓口へ。"
    found = [original[s:e] for s, e in match_ranges("サーバーへの問い合わせ", original)]
    assert found == ["ｻｰﾊﾞｰ", "問合せ"]
    assert make_snippet("存在しない", "短い文。").ranges == []


def test_search_cli_finds_parts_of_a_shift_jis_manual_and_reports_snippets(tmp_path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manual.txt").write_bytes(MANUAL.replace("\n", "\r\n").encode("cp932"))
    assert main(["add", str(docs), "--no-vectors", "--json"]) == 0
    capsys.readouterr()
    for query in ("耐熱性能", "耐熱", "性能", "サーバー", "問い合わせ", "耐熱について教えてください"):
        assert main(["search", query, "--mode", "lexical", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert [Path(r["path"]).name for r in rows] == ["manual.txt"], query
    assert main(["search", "問い合わせ", "--mode", "lexical", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    ranges = row["snippet"]["ranges"]
    assert [row["text"][s:e] for s, e in ranges] == ["問合せ"]
    assert main(["search", "耐熱", "--mode", "lexical"]) == 0
    out = capsys.readouterr().out
    assert "manual.txt" in out and "耐熱性能の確認" in out


def _write_old_library(data_dir: Path, texts: dict[str, str]) -> None:
    """A library as Ippon wrote it before the analysed terms: the chunk columns alone and an ICU index."""
    import lancedb
    import pyarrow as pa
    from lancedb.index import FTS

    folder = data_dir / "library"
    folder.mkdir(parents=True)
    db = lancedb.connect(str(folder))
    updates = [_file(path, [text]) for path, text in texts.items()]
    schema = store_module._schema(ChunkRecord, pa)  # noqa: SLF001 - the chunk columns, less the new one
    schema = schema.remove(schema.get_field_index(store_module.TERMS))
    rows = [{k: v for k, v in store_module._row(c).items() if k in schema.names}  # noqa: SLF001
            for u in updates for c in u.chunks]
    chunks = db.create_table("chunks", pa.Table.from_pylist(rows, schema=schema))
    chunks.create_index("search_text", config=FTS(base_tokenizer="icu", stem=False, remove_stop_words=True,
                                                  custom_stop_words=list(STOP_WORDS)))
    sources = [store_module._row(u.source) for u in updates]  # noqa: SLF001
    source_schema = store_module._schema(SourceRecord, pa)  # noqa: SLF001
    db.create_table("sources", pa.Table.from_pylist(sources, schema=source_schema))


OLD_TEXTS = {f"/old/doc{i}.txt": f"第{i}章。耐熱性能の試験と在宅勤務の規程。サーバの設定。" for i in range(7)}


def test_an_old_library_keeps_answering_then_upgrades_with_progress_losing_nothing(tmp_path, monkeypatch):
    _write_old_library(tmp_path, OLD_TEXTS)
    store = LibraryStore(tmp_path)
    assert store.index_outdated()
    assert len(store.search_lexical("耐熱性能")) == 7  # the old ICU index answers until the upgrade
    assert store.search_lexical("耐熱") == []  # ... with the old blind spot

    monkeypatch.setattr(store_module, "_TERMS_BATCH", 3)
    cancel, seen = threading.Event(), []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        cancel.set()  # stop after the first batch: a cancelled upgrade must leave a working library

    store.upgrade_index(progress=progress, cancel=cancel)
    assert seen == [(3, 7)] and store.index_outdated()
    assert len(store.search_lexical("耐熱性能")) == 7 and store.search_lexical("耐熱") == []

    seen.clear()
    store.upgrade_index(progress=lambda done, total: seen.append((done, total)))
    assert seen == [(6, 7), (7, 7)]  # resumed where it stopped
    assert not store.index_outdated()
    assert {h.path for h in store.search_lexical("耐熱")} == set(OLD_TEXTS)
    assert {h.path for h in store.search_lexical("サーバー")} == set(OLD_TEXTS)
    assert sorted(s.path for s in store.sources()) == sorted(OLD_TEXTS)
    assert sorted(c.text for s in store.sources() for c in store.chunks_of(s.source_id)) == sorted(OLD_TEXTS.values())
    names = {i.name for i in store._chunks.list_indices()}  # noqa: SLF001
    assert names == {f"{store_module.TERMS}_idx"}  # the ICU index is gone; the new one is there
    field = store._chunks.schema.field(store_module.TERMS)  # noqa: SLF001
    assert field.metadata[b"analysis"].decode() == ANALYSIS_VERSION
    # New files go into the upgraded library as usual.
    store.write_files([_file("/new.txt", ["新しい耐熱試験の報告。"])])
    store.optimize()
    assert "/new.txt" in {h.path for h in store.search_lexical("耐熱")}


def test_ippon_search_upgrades_an_old_library_by_itself(tmp_path, capsys):
    data_dir = load_config().data_dir
    _write_old_library(data_dir, OLD_TEXTS)
    assert main(["search", "在宅", "--mode", "lexical", "--json"]) == 0
    assert {r["path"] for r in json.loads(capsys.readouterr().out)} == set(OLD_TEXTS)
    assert not LibraryStore(data_dir).index_outdated()


def test_a_query_in_hiragana_finds_the_words_written_in_kanji(tmp_path):
    store = _library(tmp_path, {"/telework.txt": "来月から在宅勤務制度が始まります。",
                                "/safety.txt": "国際連合安全保障理事会が開かれた。",
                                "/other.txt": "財務担当の在籍者は三名です。"} | {f"/filler{i}.txt": t for i, t in enumerate(FILLER)})
    assert _top(store, "ざいたくきんむ") == "/telework.txt"
    assert _top(store, "あんぜんほしょう") == "/safety.txt"
    # Readings are searched for hiragana queries only: a kanji query ranks by what is written.
    assert _top(store, "在籍") == "/other.txt"


def _age_library(data_dir: Path) -> None:
    """Turn a library into one as older Ippon left it: no analysed terms, the ICU index instead."""
    import lancedb
    from lancedb.index import FTS

    chunks = lancedb.connect(str(data_dir / "library")).open_table("chunks")
    chunks.drop_index(f"{store_module.TERMS}_idx")
    chunks.drop_columns([store_module.TERMS])
    chunks.create_index("search_text", config=FTS(base_tokenizer="icu", stem=False, remove_stop_words=True,
                                                  custom_stop_words=list(STOP_WORDS)))


def test_ippon_reindex_upgrades_an_old_library_and_keeps_its_files(tmp_path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manual.txt").write_bytes(MANUAL.encode("cp932"))
    (docs / "notes.txt").write_text("What is the backup schedule? 毎晩バックアップします。", encoding="utf-8")
    assert main(["add", str(docs), "--no-vectors", "--json"]) == 0
    data_dir = load_config().data_dir
    _age_library(data_dir)
    assert LibraryStore(data_dir).index_outdated()
    assert main(["reindex", "--json"]) == 0
    capsys.readouterr()
    store = LibraryStore(data_dir)
    assert not store.index_outdated()
    assert sorted(Path(s.path).name for s in store.sources()) == ["manual.txt", "notes.txt"]
    assert [Path(h.path).name for h in store.search_lexical("耐熱")] == ["manual.txt"]
    # English stop words never rank either, whatever their case.
    assert analyzer().query_terms("What is THE backup schedule?").words == ["backup", "schedule"]
    assert [Path(h.path).name for h in store.search_lexical("the backup")] == ["notes.txt"]


def test_text_sudachi_refuses_is_still_searchable_by_its_bigrams(monkeypatch):
    from app.core.analysis import JapaneseAnalyzer

    class Refusing:
        def tokenize(self, text):  # noqa: ANN001, ANN202 - a stand-in for Sudachi's tokenizer
            raise RuntimeError("input is too long")

    analyser = JapaneseAnalyzer()
    monkeypatch.setattr(analyser, "_tokenizer", lambda: Refusing())
    analysis = analyser.analyse("耐熱性能の確認。Port 8080")
    assert "耐熱" in analysis.grams and "性能" in analysis.grams and "8080" in analysis.words


def test_the_chunk_holding_every_word_of_a_question_beats_those_holding_some_of_them(tmp_path, monkeypatch):
    please_ask = "ご不明な点は販売店にお問い合わせください。"
    store = _library(tmp_path, {
        "/minerva/warranty.txt": "ご購入後のご案内。" + please_ask * 4 + "ミネルバの保証期間は購入日から一年間です。",
        "/minerva/setup.txt": "ミネルバの設置期間。ミネルバは水平な場所に置き、ミネルバの電源を入れてから、ミネルバの用紙を補充します。",
        "/minerva/toner.txt": "トナーの交換。ミネルバの前面カバーを開けます。",
        "/news/campaign.txt": "キャンペーン期間は今月末までです。",
        "/news/trial.txt": "延長保証の試用期間中は全機能を使えます。",
        "/news/network.txt": "ネットワーク設定。ルーターに接続し、アドレスを確認します。",
    })
    question = "ミネルバの保証期間は？"
    assert _top(store, question) == "/minerva/warranty.txt"
    monkeypatch.setattr(lexical_rank, "PAIRS_WEIGHT", 0.0)
    assert _top(store, question) == "/minerva/warranty.txt"  # coverage alone does it
    # BM25 alone ranks first a chunk that holds only some of the question's words.
    monkeypatch.setattr(lexical_rank, "COVERAGE_WEIGHT", 0.0)
    assert _top(store, question) == "/news/trial.txt"


def test_the_chunk_with_the_question_s_words_side_by_side_beats_one_holding_them_apart(tmp_path, monkeypatch):
    store = _library(tmp_path, {
        "/mahler/late.txt": "晩年。この時期の楽譜は現在も図書館に残されている。作品の演奏が頻繁に行われるようになったのは1970年代からである。",
        "/mahler/now.txt": "現在、交響曲作品は頻繁に演奏され、演奏会も頻繁に行われる。作品の規模は大きく、演奏には長い練習を要する。",
        "/mahler/life.txt": "幼少期の作品と生涯。",
        "/concerts.txt": "演奏会の案内。",
    })
    question = "作品の演奏が頻繁に行われるようになったのはいつか"
    assert _top(store, question) == "/mahler/late.txt"
    monkeypatch.setattr(lexical_rank, "PAIRS_WEIGHT", 0.0)  # BM25 and coverage alone: the words apart win
    assert _top(store, question) == "/mahler/now.txt"


def test_a_word_finds_a_text_sharing_one_of_its_kanji_when_nothing_shares_more(tmp_path):
    store = _library(tmp_path, {"/museum.txt": "入館は無料です。", "/parking.txt": "駐車場は午後五時に閉まります。"})
    assert [h.path for h in store.search_lexical("使用料はいくら？")] == ["/museum.txt"]  # 料 of 無料
    assert analyzer().query_terms("使用料").kanji == ["使", "用", "料"]
    assert analyzer().query_terms("ミネルバ").kanji == []


def test_word_coverage_counts_a_word_held_whole_or_inside_a_compound():
    terms = analyzer().analyse("最高裁判所の判断が示された。").terms
    assert word_coverage(["裁判", "判断"], terms) == 1.0  # 裁判 by its bigram, should the dictionary keep 裁判所 whole
    assert word_coverage(["判断", "保証"], terms) == 0.5
    assert word_coverage([], terms) == 0.0


def test_word_pairs_share_counts_the_query_s_neighbouring_words_found_side_by_side():
    terms = analyzer().analyse("作品の演奏が頻繁に行われる。").terms
    assert word_pairs_share(["作品", "演奏", "頻繁"], terms) == 1.0  # particles between them do not part them
    assert word_pairs_share(["演奏", "作品", "頻繁"], terms) == 0.0
    assert word_pairs_share(["作品"], terms) == 0.0


def test_a_chunk_sharing_only_characters_is_no_match_when_another_shares_a_word(tmp_path):
    store = _library(tmp_path, {"/exists.txt": "その記録の存在は確認されている。",
                                "/grammar.txt": "日本語の文法を学ぶ。",
                                "/poem.txt": "句読点の使い方。"})
    # 存在 is a word the first chunk holds; 語 and 句 alone are characters of 語句, not the word.
    assert [h.path for h in store.search_lexical("存在しない語句")] == ["/exists.txt"]
    # With no chunk sharing a word, a shared character still finds something (a last resort).
    assert [h.path for h in store.search_lexical("語句の意味")][:1] in (["/grammar.txt"], ["/poem.txt"])
