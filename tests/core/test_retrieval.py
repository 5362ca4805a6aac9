"""Retrieval: rank fusion, Japanese lexical search with NFKC variants, filters, and the metrics of ippon eval."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from app.cli import main
from app.config import Config
from app.core.evaluation import Positive, load_questions, metrics_for, relevance
from app.core.retrieval import RetrievalSettings, Retriever, SearchFilters, fuse
from app.core.service import IpponService
from app.core.store import Hit

DOCS = {
    "manual/server.md": "# サーバー\n\nｻｰﾊﾞｰの設定ファイルはconfig.tomlです。ポート番号は８０８０に変更できます。",
    "manual/database.txt": "ﾃﾞｰﾀﾍﾞｰｽのバックアップは毎日午前３時に実行されます。",
    "notes/meeting.txt": "来週の会議では新製品の価格設定について議論します。",
    "notes/english.txt": "The backup runs every night. Restore takes ten minutes.",
}


def hit(chunk: str, source: str = "s", path: str = "/p", page: int | None = None) -> Hit:
    return Hit(chunk, source, path, "text", page, None, None, 0, 4, 0.0)


def test_reciprocal_rank_fusion_by_hand():
    a, b, c, d = hit("a"), hit("b"), hit("c"), hit("d")
    fused = fuse([a, b, c], [c, a, d], k=60)
    assert [r.hit.chunk_id for r in fused] == ["a", "c", "b", "d"]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1].score == pytest.approx(1 / 63 + 1 / 61)
    assert (fused[2].lexical_rank, fused[2].vector_rank) == (2, None)
    assert fused[3].score == pytest.approx(1 / 63)


def test_metrics_by_hand_on_a_toy_ranking():
    # Ranks: miss, positive 0, miss, positive 1, positive 0 again (counted once).
    m = metrics_for([-1, 0, -1, 1, 0], n_positives=2)
    assert m["recall@1"] == 0 and m["recall@5"] == 1 and m["recall@10"] == 1
    assert m["mrr@10"] == pytest.approx(1 / 2)
    assert m["ndcg@10"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3)))
    assert metrics_for([-1] * 12, n_positives=1) == {"recall@1": 0, "recall@5": 0, "recall@10": 0, "mrr@10": 0,
                                                     "ndcg@10": 0}


def test_relevance_counts_a_source_once_and_matches_paths_pages_and_ids():
    from app.core.retrieval import Result

    results = [Result(hit(f"c{i}", source=s, path=p, page=pg), 0, None, None) for i, (s, p, pg) in
               enumerate([("x", "/d/a.pdf", 2), ("x", "/d/a.pdf", 2), ("y", "/d/b.md", None), ("x", "/d/a.pdf", 3)])]
    assert relevance(results, [Positive("a.pdf", 3), Positive("y")]) == [-1, 1, 0]
    assert Positive("d/b.md").matches("/d/b.md", "y", None) and not Positive("b.md").matches("/d/bb.md", "z", None)


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> IpponService:
    root = tmp_path_factory.mktemp("retrieval")
    for name, text in DOCS.items():
        (root / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / name).write_text(text, encoding="utf-8")
    service = IpponService(Config(data_dir=root / "home", models_dir=root / "models"))
    service.add([root / "docs"])
    return service


@pytest.mark.parametrize(("query", "expected"), [
    ("サーバー", "server.md"),  # full-width katakana finds half-width in the text
    ("ﾎﾟｰﾄ番号", "server.md"),  # and the other way round
    ("8080", "server.md"),  # full-width digits in the text
    ("データベース", "database.txt"),
    ("価格", "meeting.txt"),  # two characters inside 価格設定, no spaces anywhere
    ("午前3時", "database.txt"),
    ("backup", "english.txt"),
])
def test_lexical_retrieval_finds_japanese_without_spaces_and_width_variants(library, query, expected):
    found = Retriever(library.library.store).search(query, RetrievalSettings(mode="lexical"))
    assert found.mode == "lexical" and not found.reranked
    assert Path(found.results[0].hit.path).name == expected


def test_hybrid_falls_back_to_lexical_without_an_embedder_and_vector_says_why(library):
    retriever = Retriever(library.library.store)
    assert retriever.search("価格").mode == "lexical"
    from app.core.retrieval import NoEmbedderError

    with pytest.raises(NoEmbedderError, match="set `embedder`"):
        retriever.search("価格", RetrievalSettings(mode="vector"))


def test_filters_by_folder_and_type(library):
    retriever = Retriever(library.library.store)
    root = Path(library.library.roots()[0].path)
    in_notes = retriever.search("設定", RetrievalSettings(filters=SearchFilters(folders=(str(root / "notes"),))))
    assert [Path(r.hit.path).name for r in in_notes.results] == ["meeting.txt"]
    markdown = retriever.search("設定", RetrievalSettings(filters=SearchFilters(formats=("md",))))
    assert [Path(r.hit.path).name for r in markdown.results] == ["server.md"]


def test_search_cli_json(library, monkeypatch, capsys):
    monkeypatch.setenv("IPPON_HOME", str(library.config.data_dir))
    assert main(["search", "ﾃﾞｰﾀﾍﾞｰｽ", "--json", "--limit", "3"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert set(rows[0]) >= {"path", "page", "score", "text"} and rows[0]["path"].endswith("database.txt")
    assert main(["search", "ﾃﾞｰﾀﾍﾞｰｽ", "--mode", "vector"]) == 1
    assert "set `embedder`" in capsys.readouterr().err


def test_eval_cli_reports_metrics_and_misses(library, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IPPON_HOME", str(library.config.data_dir))
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "1", "question": "データベースのバックアップは何時？", "positive": ["manual/database.txt"]},
        {"id": "2", "question": "会議の議題", "positive": ["notes/meeting.txt"]},
        {"id": "3", "question": "有給休暇の申請方法", "positive": ["hr/leave.md"]},
    ]), encoding="utf-8")
    lexical = tmp_path / "lexical.toml"
    lexical.write_text('mode = "lexical"\n')
    assert main(["eval", str(questions), "--config", f"lex={lexical}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lex = report["configs"]["lex"]
    assert lex["recall@10"] == pytest.approx(2 / 3, abs=1e-4)
    assert set(lex["latency_ms"]) >= {"total", "lexical"}
    assert [m["id"] for m in report["misses"]["lex"]] == ["3"]
    assert main(["eval", str(questions)]) == 0
    out = capsys.readouterr().out
    assert "recall@1" in out and "有給休暇の申請方法" in out


def test_bad_question_files_name_the_line(tmp_path):
    from app.core.evaluation import QuestionSetError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "question": "q", "positive": ["a.txt"]}\n{"question": "no positives"}\n')
    with pytest.raises(QuestionSetError, match="bad.jsonl:2: not a question line"):
        load_questions(bad)
