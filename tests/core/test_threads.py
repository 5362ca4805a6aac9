"""Threads: kept in SQLite across restarts and kills, listed, searched, renamed, deleted, exported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from markdown_it import MarkdownIt

from app.cli import main
from app.config import Config
from app.core.answer import Citation
from app.core.service import IpponService
from app.core.conversation import AskTurn
from app.core.threads import ThreadNotFoundError, ThreadStore, export_markdown
from engines import AnswerDelta, ChatSettings

from .scripted_chat import ScriptedChat, scripted_library

ROOT = Path(__file__).resolve().parents[2]
DOCS = {"tower.txt": "東京タワーの高さは333メートルです。",
        "kaika.md": "# 開業\n\n東京タワーは1958年に完成しました。"}


def _citation(n: int, path: Path, **extra) -> Citation:
    values = {"page": None, "slide": None, "heading": None, "char_start": 0, "char_end": 5, "text": "本文です。",
              "score": 0.5, "chunk_id": f"chunk{n}"} | extra
    return Citation(n, str(path), values["page"], values["slide"], values["heading"], values["char_start"],
                    values["char_end"], values["text"], values["score"], values["chunk_id"])


def _turn(store: ThreadStore, thread_id: str, question: str, answer: str, sources=()) -> None:
    turn = store.begin_turn(thread_id, question=question, search_question=question, retrieval={"top_k": 8},
                            sources=list(sources), models={"llm": "tiny.gguf"})
    store.finish_turn(turn.id, answer=answer, thinking="", timings={"generation_s": 0.1})


def test_threads_survive_a_restart_newest_first_with_their_turns_in_order(tmp_path):
    store = ThreadStore(tmp_path)
    first = store.create("富士山の高さは？")
    _turn(store, first.id, "富士山の高さは？", "3776メートルです[1]。", [_citation(1, tmp_path / "fuji.md")])
    second = store.create("ポート番号")
    _turn(store, second.id, "ポート番号は？", "8080です。")
    _turn(store, first.id, "それは何県にありますか？", "静岡県と山梨県です。")
    store.close()

    again = ThreadStore(tmp_path)
    assert [t.id for t in again.list()] == [first.id, second.id]  # the follow-up made `first` the latest
    thread = again.get(first.id[:12])  # a unique prefix is enough
    assert [t.position for t in thread.turns] == [1, 2] and thread.turns[1].question == "それは何県にありますか？"
    (source,) = thread.turns[0].sources
    assert (source.chunk_id, source.char_start, source.char_end, source.n) == ("chunk1", 0, 5, 1)
    assert thread.turns[0].models == {"llm": "tiny.gguf"} and thread.turns[0].status == "done"
    assert again.last().id == first.id


def test_search_rename_and_delete(tmp_path):
    store = ThreadStore(tmp_path)
    fuji = store.create("富士山")
    _turn(store, fuji.id, "富士山の高さは？", "標高は3776メートルです。")
    port = store.create("サーバー")
    _turn(store, port.id, "ポート番号は？", "8080です。")
    assert [t.id for t in store.list(search="3776メートル")] == [fuji.id]  # trigram index, in the answer
    assert [t.id for t in store.list(search="富士")] == [fuji.id]  # two characters: below the trigrams
    assert [t.id for t in store.list(search="ポート")] == [port.id]
    assert store.list(search="存在しない話題") == []
    assert store.rename(port.id, "  ポートの話  ").title == "ポートの話"
    assert [t.id for t in store.list(search="ポートの話")] == [port.id]
    store.delete(fuji.id)
    assert [t.id for t in store.list()] == [port.id]
    assert store.list(search="3776") == []  # its turns went with it
    with pytest.raises(ThreadNotFoundError, match="no conversation"):
        store.get(fuji.id)


def test_export_is_markdown_whose_source_links_open_the_files(tmp_path):
    docs = tmp_path / "my docs"  # a space: the links must still work
    docs.mkdir()
    manual, other = docs / "manual [v2].pdf", docs / "notes.md"
    manual.write_bytes(b"%PDF-1.4")
    other.write_text("メモ", encoding="utf-8")
    store = ThreadStore(tmp_path)
    thread = store.create("# 見出しではない [リンクでもない](http://example.com)")
    _turn(store, thread.id, "マニュアルの手順は？", "手順は三つです[1][2]。",
          [_citation(1, manual, page=3), _citation(2, other)])
    exports = tmp_path / "exports"
    for base in (exports, None):  # a file written somewhere (relative links), standard output (absolute)
        markdown = export_markdown(store.get(thread.id), base=base)
        tokens = MarkdownIt().parse(markdown)
        headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
        assert headings[0].startswith("\\# 見出しではない")
        links = [child.attrs["href"] for t in tokens if t.type == "inline" for child in t.children or []
                 if child.type == "link_open"]
        assert len(links) == 2, links  # the title's bracketed text is no link: only the two sources are
        paths = [(base or Path("/")) / unquote(urlparse(href).path) for href in links]
        assert [p.resolve() for p in paths] == [manual, other]
        assert urlparse(links[0]).fragment == "page=3" and not urlparse(links[1]).fragment
        assert any(t.type == "ordered_list_open" for t in tokens) and "手順は三つです[1][2]。" in markdown


CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from app.config import Config
    from app.core.service import IpponService
    from engines import ChatSettings
    from tests.core.scripted_chat import ScriptedChat

    home, thread = Path(sys.argv[1]), sys.argv[2]
    service = IpponService(Config(data_dir=home, models_dir=home / "models", llm="scripted"))
    service._llm = ScriptedChat(answers=["開業は1958年です[1]。とても長い答えが続きます。"], hang_after_first_piece=True)
    for event in service.ask("開業はいつですか？", retrieval=service.retrieval_settings(mode="lexical"),
                             chat=ChatSettings(), thread=thread):
        pass
""")


def test_a_kill_while_answering_loses_only_the_answer_in_progress(tmp_path):
    service = scripted_library(tmp_path, DOCS)
    home = service.config.data_dir
    service._llm = ScriptedChat(answers=["高さは333メートルです[1]。"])
    events = list(service.ask("東京タワーの高さは？", retrieval=service.retrieval_settings(mode="lexical"),
                              chat=ChatSettings()))
    thread_id = next(e.thread_id for e in events if isinstance(e, AskTurn))

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(home), thread_id], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or (lines[-1] and lines[-1].strip() != "STREAMING"):  # skip anything printed before
            lines.append(child.stdout.readline())
        assert lines[-1].strip() == "STREAMING", "".join(lines) + child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    restarted = IpponService(Config(data_dir=home, models_dir=home / "models", llm="scripted"))
    thread = restarted.threads.get(thread_id)
    first, killed = thread.turns
    assert first.status == "done" and first.answer == "高さは333メートルです[1]。"
    assert killed.question == "開業はいつですか？" and killed.status == "answering" and killed.answer == ""
    assert killed.sources and {Path(s.path).name for s in killed.sources} >= {"kaika.md"}
    assert all(s.chunk_id for s in killed.sources)
    assert "interrupted" in export_markdown(thread)
    # The thread goes on after the crash: the interrupted turn is not history the model sees.
    restarted._llm = ScriptedChat(answers=["333メートルです。"])
    list(restarted.ask("東京タワーの高さをもう一度", retrieval=restarted.retrieval_settings(mode="lexical"),
                       chat=ChatSettings(), thread=thread_id))
    (prompt,) = restarted._llm.answer_calls
    assert [m.role for m in prompt] == ["system", "user", "assistant", "user"]
    assert len(restarted.threads.get(thread_id).turns) == 3


@pytest.fixture()
def cli_home(tmp_path, monkeypatch, engine_models):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(f'llm = "{engine_models("llm-chat", "gguf")}"\nthreads = 1\n', encoding="utf-8")
    monkeypatch.setenv("IPPON_HOME", str(home))
    assert main(["add", str(docs)]) == 0
    return home


def _json_out(capsys, argv) -> object:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_ask_keeps_threads_and_threads_commands_manage_them(cli_home, capsys, tmp_path):
    ask = ["--mode", "lexical", "--json", "--max-tokens", "8", "--temperature", "0"]
    first = _json_out(capsys, ["ask", "東京タワーの高さは？", *ask])
    follow = _json_out(capsys, ["ask", "開業は何年ですか？", "-c", *ask])
    other = _json_out(capsys, ["ask", "高さは？", *ask])
    assert first["thread"] == follow["thread"] != other["thread"] and follow["turn"] == 2
    again = _json_out(capsys, ["ask", "完成は？", "--thread", first["thread"][:13], *ask])
    assert again["thread"] == first["thread"] and again["turn"] == 3

    listed = _json_out(capsys, ["threads", "list", "--json"])
    assert [t["id"] for t in listed] == [first["thread"], other["thread"]] and listed[0]["turns"] == 3
    shown = _json_out(capsys, ["threads", "show", first["thread"], "--json"])
    assert [t["question"] for t in shown["turns"]] == ["東京タワーの高さは？", "開業は何年ですか？", "完成は？"]
    assert shown["turns"][0]["answer"] == first["answer"] and shown["turns"][0]["sources"]
    assert _json_out(capsys, ["threads", "rename", other["thread"], "高さの話", "--json"])["title"] == "高さの話"
    assert [t["id"] for t in _json_out(capsys, ["threads", "list", "--search", "高さの話", "--json"])] == [other["thread"]]
    out = tmp_path / "thread.md"
    assert _json_out(capsys, ["threads", "export", first["thread"], "--out", str(out), "--json"])["out"] == str(out)
    assert out.read_text(encoding="utf-8").startswith("# 東京タワーの高さは？")
    _json_out(capsys, ["threads", "delete", other["thread"], "--json"])
    assert [t["id"] for t in _json_out(capsys, ["threads", "list", "--json"])] == [first["thread"]]
    assert main(["threads", "show", "nosuchthread"]) == 1
    assert "no conversation nosuchthread" in capsys.readouterr().err


def test_continue_without_any_thread_says_so(tmp_path, monkeypatch, capsys, engine_models):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(f'llm = "{engine_models("llm-chat", "gguf")}"\n', encoding="utf-8")
    monkeypatch.setenv("IPPON_HOME", str(home))
    assert main(["ask", "質問", "-c"]) == 1
    assert "no conversation to continue" in capsys.readouterr().err


def test_stopping_an_answer_keeps_what_was_written_as_a_cancelled_turn(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    service = IpponService(Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models", llm="scripted"))
    service.add([docs])
    service._llm = ScriptedChat(answers=["東京タワーの高さは333メートルです[1]。"])
    events = service.ask("東京タワーの高さは？", retrieval=service.retrieval_settings(mode="lexical"),
                         chat=ChatSettings())
    turn = None
    for event in events:
        if isinstance(event, AskTurn):
            turn = event
        elif isinstance(event, AnswerDelta):
            break  # the first piece has streamed: Stop
    events.close()  # what the window's Stop does to the stream
    (stored,) = service.threads.get(turn.thread_id).turns
    assert stored.status == "cancelled" and stored.answer == "東京タ" and stored.sources


def test_threads_show_prints_control_characters_as_escapes(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("IPPON_HOME", str(home))
    store = ThreadStore(home)
    thread = store.create("題名\x1b]0;owned\x07")
    _turn(store, thread.id, "質問\x1b[2J", "回答\x1b[31m赤\n二行目")
    store.close()
    assert main(["threads", "show", thread.id]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J" in out and "回答\\x1b[31m赤\n二行目" in out
    assert main(["threads", "list"]) == 0
    assert "\x1b" not in capsys.readouterr().out
