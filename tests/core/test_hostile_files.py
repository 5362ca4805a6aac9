"""Hostile files and folders (issue 12): each attack, bounded in time and memory, ends in a clear outcome.

The attacks come from scripts/attack_corpus.py, the generator users and reviewers run too.
Every test has a timeout: before the fixes these hung (a FIFO, /dev/zero), ate gigabytes (zip
bombs) or ran for minutes (long unbroken lines), so a regression fails instead of stalling.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Config
from app.core.chunking import chunk_sections
from app.core.service import IpponService
from app.core.sources import ParseError, parse_file, reading
from tests.core.watching import wait_for, watching

ROOT = Path(__file__).resolve().parents[2]
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="this system has no FIFOs")
needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="this system has no /dev/zero")


def _load_attack_corpus():
    spec = importlib.util.spec_from_file_location("attack_corpus", ROOT / "scripts" / "attack_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


attack_corpus = _load_attack_corpus()


def _service(tmp_path: Path, **settings) -> IpponService:
    home = tmp_path / "home"
    return IpponService(Config(data_dir=home, models_dir=home / "models", **settings))


def _errors(service: IpponService) -> dict[str, str]:
    return {Path(s.path).name: s.error for s in service.sources(errors_only=True)}


# --- item 3: FIFOs and devices -------------------------------------------------------------------

@needs_fifo
@pytest.mark.timeout(30)
def test_a_fifo_given_directly_fails_with_its_reason_instead_of_hanging(tmp_path):
    attack_corpus.write_corpus(tmp_path / "attack", only=["fifo"])
    fifo = tmp_path / "attack" / "fifo.txt"
    service = _service(tmp_path)
    summary = service.add([fifo])
    assert (summary.added, summary.failed) == (0, 1)
    assert summary.failures == [(str(fifo), "not a regular file (a FIFO)")]
    assert _errors(service) == {"fifo.txt": f"{fifo}: not a regular file (a FIFO)"}
    with pytest.raises(ParseError, match="fifo.txt: not a regular file \\(a FIFO\\)"):
        parse_file(fifo)


@needs_dev_zero
@pytest.mark.timeout(30)
def test_a_link_to_dev_zero_given_directly_fails_instead_of_reading_forever(tmp_path):
    attack_corpus.write_corpus(tmp_path / "attack", only=["dev-zero"])
    zero = tmp_path / "attack" / "zero.txt"
    service = _service(tmp_path)
    summary = service.add([zero])  # the path the user added is followed, but only to a regular file
    assert summary.failed == 1
    assert "zero.txt: not a regular file (a character device)" in _errors(service)["zero.txt"]
    with pytest.raises(ParseError, match="not a regular file \\(a character device\\)"):
        parse_file(zero)


@needs_fifo
@pytest.mark.timeout(30)
def test_a_fifo_swapped_in_between_the_check_and_the_open_does_not_block(tmp_path, monkeypatch):
    fifo = tmp_path / "swapped.txt"
    os.mkfifo(fifo)
    checks = []
    real_reason = reading.not_regular_reason

    def first_check_sees_a_regular_file(mode):
        checks.append(mode)
        return None if len(checks) == 1 else real_reason(mode)

    monkeypatch.setattr(reading, "not_regular_reason", first_check_sees_a_regular_file)
    with pytest.raises(ParseError, match="swapped.txt: not a regular file \\(a FIFO\\)"):
        reading.read_bytes(fifo, max_bytes=1000)  # opened without waiting for a writer, refused on fstat
    assert len(checks) == 2


@needs_fifo
@pytest.mark.timeout(60)
def test_a_fifo_appearing_in_a_watched_folder_is_reported_and_the_watch_goes_on(tmp_path):
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "first.txt").write_text("最初の文書です。", encoding="utf-8")
    service = _service(tmp_path)
    service.add([folder], watch=True)
    with watching(service.library) as updates:
        wait_for(updates, lambda s: s.unchanged == 1)
        os.mkfifo(folder / "pipe.txt")
        summary = wait_for(updates, lambda s: s.failed >= 1)
        assert (str(folder / "pipe.txt"), "not a regular file (a FIFO)") in summary.failures
        # The watch (and the library lock) is free: the next file is indexed as usual.
        (folder / "after.txt").write_text("後から来た文書です。", encoding="utf-8")
        wait_for(updates, lambda s: s.added >= 1)
        assert Path(service.search_keywords("後から来た")[0].path).name == "after.txt"


# --- item 4: decompression bombs -----------------------------------------------------------------

_BOMB_PROBE = """
import json, resource, sys, time
from pathlib import Path
from app.core.sources import ParseError, parse_file
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.monotonic()
try:
    parse_file(Path(sys.argv[1]))
    error = None
except ParseError as exc:
    error = str(exc)
seconds = time.monotonic() - start
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes on macOS, KiB on Linux
print(json.dumps({"error": error, "seconds": seconds, "grown_bytes": grown * scale}))
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["docx", "pptx"])
def test_a_5_gb_zip_bomb_is_refused_before_it_is_inflated(tmp_path, kind):
    bomb = tmp_path / f"bomb.{kind}"
    writer = attack_corpus.write_docx_bomb if kind == "docx" else attack_corpus.write_pptx_bomb
    writer(bomb, 5 * 2**30)
    assert bomb.stat().st_size < 20 * 2**20  # a small file, well under the size limit
    # In a fresh process, so the peak memory measured is this parse's alone.
    probe = subprocess.run([sys.executable, "-c", _BOMB_PROBE, str(bomb)], cwd=ROOT, capture_output=True,
                           text=True, timeout=100)
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout)
    assert result["error"].startswith(f"{bomb}: compressed contents too large")
    assert "5 GB uncompressed" in result["error"]
    assert result["grown_bytes"] < 300 * 2**20


def _office_with_lying_header(tmp_path: Path) -> Path:
    """A .docx whose directory says document.xml is 4 KB uncompressed while it inflates to 20 MB."""
    import zipfile

    path = attack_corpus.write_docx_bomb(tmp_path / "liar.docx", 20 * 2**20)
    data = path.read_bytes()
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml")
    true_size = info.file_size.to_bytes(4, "little")
    at = data.rindex(true_size)  # the central directory, at the end, is what readers trust
    path.write_bytes(data[:at] + (4096).to_bytes(4, "little") + data[at + 4:])
    assert zipfile.ZipFile(path).getinfo("word/document.xml").file_size == 4096
    return path


@pytest.mark.timeout(60)
def test_a_member_larger_than_its_header_says_is_caught_while_inflating(tmp_path):
    liar = _office_with_lying_header(tmp_path)
    with pytest.raises(ParseError, match="liar.docx: is damaged"):
        parse_file(liar)


@pytest.mark.timeout(60)
def test_a_bomb_in_a_folder_is_one_failed_source(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    attack_corpus.write_docx_bomb(folder / "bomb.docx", 5 * 2**30)
    (folder / "ok.txt").write_text("普通の文書です。", encoding="utf-8")
    service = _service(tmp_path)
    summary = service.add([folder])
    assert (summary.added, summary.failed) == (1, 1)
    assert "compressed contents too large" in _errors(service)["bomb.docx"]


# --- item 7: long unbroken lines, &amp; and millions of paragraphs --------------------------------

@pytest.fixture(scope="module")
def long_lines(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("long-lines")
    attack_corpus.write_corpus(folder, small=True, only=["long-lines"])
    return folder


def _check_chunks(text: str, chunks, max_tokens: int = 400) -> None:
    assert chunks and all(c.tokens <= max_tokens for c in chunks)
    assert all(text[c.start:c.end] == c.text for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", ["unbroken-japanese.txt", "one-line-base64.txt", "amp.html", "unclosed-tags.html",
                                  "combining-marks.txt"])
def test_long_unbroken_text_chunks_in_linear_time(long_lines, name):
    # At these sizes the old chunker (or html.parser, for the unclosed tags) took one to seven minutes
    # each; the timeout catches a return.
    doc = parse_file(long_lines / name)
    chunks = chunk_sections(doc.sections)
    _check_chunks(doc.text, chunks)
    assert len(doc.text) >= 400_000


def _split_counting_the_whole_remainder(text, max_tokens, count):
    """The cutter as it was before the window: the reference for where cuts fall.

    A copy of the binary search in app/core/chunking.py (_split_long) on purpose, not a duplicate to share:
    it keeps the old algorithm (counting the whole remainder) so the new one's cut points can be compared."""
    from app.core import chunking

    pieces, start = [], 0
    while start < len(text):
        rest = text[start:]
        if count([rest])[0] <= max_tokens:
            pieces.append((start, len(text)))
            break
        lo, hi = 1, len(rest)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count([rest[:mid]])[0] <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        breaks = [m.start() for m in chunking._WEAK_BREAKS.finditer(rest, 0, lo) if m.start() > lo // 2]
        cut = max(breaks[-1] if breaks else chunking._safe_cut(rest, lo), 1)
        pieces.append((start, start + cut))
        start += cut
    return pieces


@pytest.mark.parametrize("max_tokens", [16, 100, 400])
def test_a_long_sentence_is_cut_where_it_was_while_counting_a_bounded_window(max_tokens):
    from app.core import chunking
    from app.core.chunking import estimate_tokens

    text = ("長い文の途中で切る" * 40 + "、" + "word " * 30 + "👨‍👩‍👧" * 5 + "abc" * 300) * 10
    seen: list[int] = []

    def counting(texts):
        seen.extend(len(t) for t in texts)
        return estimate_tokens(texts)

    pieces = chunking._split_long(text, max_tokens, counting)
    assert pieces == _split_counting_the_whole_remainder(text, max_tokens, estimate_tokens)
    assert max(seen) < len(text) // 4  # never the whole remainder


@pytest.mark.timeout(60)
def test_a_docx_of_millions_of_tiny_paragraphs_is_refused_quickly(tmp_path):
    attack_corpus.write_corpus(tmp_path, small=True, only=["many-paragraphs"])
    with pytest.raises(ParseError, match="paragraphs.docx: compressed contents too large"):
        parse_file(tmp_path / "paragraphs.docx")


@pytest.mark.timeout(60)
def test_a_table_row_of_many_cells_is_read_in_linear_time(tmp_path):
    # 60,000 cells in one row took about two and a half minutes while merged cells were looked up in a list.
    attack_corpus.write_corpus(tmp_path, small=True, only=["wide-table"])
    doc = parse_file(tmp_path / "wide-table.docx")
    (section,) = doc.sections
    assert section.kind == "table" and section.text == "\t".join(["a"] * 60_000)


@pytest.mark.timeout(60)
def test_past_the_paragraph_cap_the_rest_is_not_read_and_a_warning_says_so(tmp_path, monkeypatch):
    import docx

    from app.core.sources import docx as docx_parser

    document = docx.Document()
    for i in range(120):
        document.add_paragraph(f"段落{i}番です。")
    path = tmp_path / "many.docx"
    document.save(path)
    monkeypatch.setattr(docx_parser, "MAX_BLOCKS", 50)
    doc = parse_file(path)
    assert "段落49番です。" in doc.text and "段落50番" not in doc.text
    assert doc.warnings == ["only the first 50 paragraphs and tables were read"]


# --- item 8: symbolic links leaving the added folder -----------------------------------------------

def _linked_folder(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    (outside / "private").mkdir(parents=True)
    (outside / "secret.txt").write_text("外部の秘密の文書です。", encoding="utf-8")
    (outside / "private" / "diary.txt").write_text("外部フォルダの日記です。", encoding="utf-8")
    shared = tmp_path / "shared"
    (shared / "inner").mkdir(parents=True)
    (shared / "inner" / "own.txt").write_text("共有フォルダ自身の文書です。", encoding="utf-8")
    os.symlink(outside / "secret.txt", shared / "p.txt")
    os.symlink(outside / "private", shared / "etc")
    os.symlink(shared / "inner", shared / "alias")  # inside the folder: followed as before
    return shared


def test_links_leading_out_of_an_added_folder_are_skipped_with_the_reason(tmp_path):
    shared = _linked_folder(tmp_path)
    service = _service(tmp_path)
    summary = service.add([shared])
    assert service.search_keywords("秘密") == [] and service.search_keywords("日記") == []
    assert {Path(h.path).name for h in service.search_keywords("共有フォルダ自身")} == {"own.txt"}
    assert (summary.added, summary.failed, summary.skipped) == (2, 0, 2)  # inner/own.txt and alias/own.txt
    secret = os.path.realpath(tmp_path / "outside" / "secret.txt")
    reason = (f"a symbolic link to {secret}, outside the added folder: not followed (set follow_external_links "
              "= true to follow such links)")
    assert (str(shared / "p.txt"), reason) in summary.skipped_paths
    listed = {Path(s.path).name: (s.status, s.error) for s in service.sources() if s.status != "indexed"}
    assert set(listed) == {"p.txt", "etc"}
    assert listed["p.txt"] == ("skipped", f"{shared / 'p.txt'}: {reason}")


def test_the_setting_follows_links_out_of_the_folder(tmp_path):
    shared = _linked_folder(tmp_path)
    service = _service(tmp_path, follow_external_links=True)
    summary = service.add([shared])
    assert summary.failed == 0
    assert {Path(h.path).name for h in service.search_keywords("秘密")} == {"p.txt"}
    assert {Path(h.path).name for h in service.search_keywords("日記")} == {"diary.txt"}


def test_the_setting_is_read_from_config_toml(tmp_path):
    from app.config import load_config
    from app.errors import ConfigError

    file = tmp_path / "config.toml"
    file.write_text("follow_external_links = true\n", encoding="utf-8")
    assert load_config(file).follow_external_links is True
    file.write_text('follow_external_links = "yes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="follow_external_links must be true or false"):
        load_config(file)


def test_a_link_added_directly_is_followed(tmp_path):
    shared = _linked_folder(tmp_path)
    service = _service(tmp_path)
    summary = service.add([shared / "p.txt"])  # the user chose this path: it is theirs to follow
    assert summary.added == 1
    assert {Path(h.path).name for h in service.search_keywords("秘密")} == {"p.txt"}


@pytest.mark.timeout(60)
def test_a_link_dropped_into_a_watched_folder_is_not_followed(tmp_path):
    shared = _linked_folder(tmp_path)
    service = _service(tmp_path)
    service.add([shared], watch=True)
    with watching(service.library) as updates:
        wait_for(updates, lambda s: s.unchanged == 2)
        os.symlink(tmp_path / "outside" / "private" / "diary.txt", shared / "dropped.txt")
        summary = wait_for(updates, lambda s: s.skipped >= 1)
        (reason,) = [r for p, r in summary.skipped_paths if p.endswith("dropped.txt")]
        assert "outside the added folder" in reason
        assert service.search_keywords("日記") == []


# --- the whole corpus ------------------------------------------------------------------------------

@pytest.mark.timeout(300)
def test_the_whole_attack_corpus_adds_without_hanging_and_every_attack_has_its_reason(tmp_path):
    folder = tmp_path / "attacks"
    lines = attack_corpus.write_corpus(folder, small=True,
                                       only=["fifo", "dev-zero", "zip-bombs", "names", "many-paragraphs",
                                             "external-links"])
    assert lines
    service = _service(tmp_path)
    summary = service.add([folder])
    errors = _errors(service)
    expected = {"bomb.docx": "compressed contents too large", "bomb.pptx": "compressed contents too large",
                "paragraphs.docx": "compressed contents too large"}
    if hasattr(os, "mkfifo"):
        expected["fifo.txt"] = "not a regular file (a FIFO)"
    if os.path.exists("/dev/zero"):
        expected["zero.txt"] = "outside the added folder"
    if os.path.exists("/etc/passwd"):
        expected["p.txt"] = "outside the added folder"
        expected["etc"] = "outside the added folder"
    assert set(errors) == set(expected)
    for name, reason in expected.items():
        assert reason in errors[name], (name, errors[name])
    assert summary.added == 4  # the four oddly named text files
    links = {name for name, reason in expected.items() if reason == "outside the added folder"}
    assert (summary.failed, summary.skipped) == (len(expected) - len(links), len(links))
    assert {Path(s.path).name for s in service.sources() if s.status == "skipped"} == links


def test_a_large_picture_that_compresses_well_is_not_taken_for_a_bomb(tmp_path):
    import zipfile

    from pptx import Presentation

    path = tmp_path / "slides.pptx"
    presentation = Presentation()
    presentation.slides.add_slide(presentation.slide_layouts[5]).shapes.title.text = "大きな画像のスライド"
    presentation.save(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ppt/media/image1.bmp", b"BM" + b"\xff" * (8 * 2**20))  # one colour: ~1,000 times smaller
    doc = parse_file(path)
    assert "大きな画像のスライド" in doc.text


def test_an_ordinary_folder_costs_no_link_resolution_and_no_extra_stat_per_file(tmp_path, monkeypatch):
    """The checks ride on the stats ingest already made: none per file beyond the parser's own."""
    calls: dict[str, int] = {}

    def counted(name):
        real = getattr(os, name)

        def call(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kwargs)
        return call

    def cost(count: int) -> dict[str, int]:
        folder = tmp_path / f"docs{count}"
        folder.mkdir()
        for i in range(count):
            (folder / f"d{i:03d}.txt").write_text(f"普通の文書{i}です。", encoding="utf-8")
        service = _service(tmp_path / f"home{count}")
        calls.clear()
        with monkeypatch.context() as patched:
            for name in ("stat", "lstat", "open", "fstat", "readlink"):
                patched.setattr(os, name, counted(name))
            assert service.add([folder]).added == count
        return dict(calls)

    cost(3)  # first use imports parsers and opens the store: not a per-file cost
    few, many = cost(10), cost(30)
    per_file = {name: (many.get(name, 0) - few.get(name, 0)) / 20 for name in set(few) | set(many)}
    per_file = {name: n for name, n in per_file.items() if n}
    # Per file: the parser's stat-open-fstat, and the hash's open-fstat (discovery's stat comes from scandir).
    assert per_file == {"stat": 1, "open": 2, "fstat": 2}


def test_a_link_added_directly_inside_an_added_folder_stays_followed(tmp_path):
    shared = _linked_folder(tmp_path)
    service = _service(tmp_path)
    service.add([shared])
    summary = service.add([shared / "p.txt"])  # now chosen on purpose: the failed row becomes indexed
    assert (summary.updated, summary.failed) == (1, 0)
    service.library.refresh(vectors=False)  # the folder's walk skips it, the root of its own follows it: followed it stays
    assert {Path(h.path).name for h in service.search_keywords("秘密")} == {"p.txt"}
    assert set(_errors(service)) == {"etc"}


@needs_fifo
@pytest.mark.timeout(30)
def test_a_cited_pdf_replaced_by_a_fifo_fails_at_once_when_its_page_is_shown(tmp_path):
    from app.core.pdf_pages import PdfPageError, render_page

    from . import corpus

    pdf = corpus.write_pdf(tmp_path)
    page = render_page(pdf, 1, find=corpus.PDF_PAGES[0])
    assert page.width > 0 and page.pieces_found >= 1
    pdf.unlink()
    os.mkfifo(pdf)  # since it was indexed
    with pytest.raises(PdfPageError, match="doc.pdf: not a regular file \\(a FIFO\\)"):
        render_page(pdf, 1)


def test_the_html_text_is_unchanged_by_making_the_tail_inert():
    from app.core.sources import html

    for tail in ("a < b and <c d", "<b>bold</b", "<!-- c", "</", "<", "<a href='x", "<!DOCTYPE", "&lt;<&amp;<"):
        doc = html.parse(Path("x.html"), f"<p>x</p>{tail}".encode())
        assert doc.text == "x\n\n" + tail.replace("&lt;", "<").replace("&amp;", "&").replace("<b>", "")


def test_the_list_of_unread_files_follows_links_as_the_ingest_does(tmp_path):
    from app.core.discovery import LinkPolicy
    from app.core.unindexed import unindexed_files

    shared = _linked_folder(tmp_path)
    (tmp_path / "outside" / "private" / "budget.xlsx").write_bytes(b"PK")
    assert unindexed_files([str(shared)]) == []
    (listed,) = unindexed_files([str(shared)], links=LinkPolicy(follow_external=True))
    assert listed.path == str(shared / "etc" / "budget.xlsx")


def test_the_boundary_of_a_root_is_found_up_its_folders_among_thousands_of_added_paths():
    from app.core.discovery import LinkPolicy

    added = frozenset(f"/docs/f{i}.txt" for i in range(20_000)) | {"/docs", "/docs/sub"}
    policy = LinkPolicy(added=added)
    assert policy.boundary("/docs/f7.txt") == "/docs/f7.txt"  # added itself: followed wherever it points
    assert policy.boundary("/docs/sub/new.txt") == "/docs"  # a watched folder's event: the outermost folder
    assert policy.boundary("/elsewhere/x.txt") == "/elsewhere/x.txt"


def test_ippon_add_and_sources_name_the_links_they_skipped(tmp_path, capsys, monkeypatch):
    from app.cli import main

    shared = _linked_folder(tmp_path)
    monkeypatch.setenv("IPPON_HOME", str(tmp_path / "cli-home"))
    monkeypatch.setenv("COLUMNS", "400")
    assert main(["add", str(shared), "--no-vectors"]) == 0
    out, err = capsys.readouterr()
    assert "2 added" in out and "2 skipped" in out
    assert f"  skipped: {shared / 'p.txt'}: a symbolic link to " in err
    assert main(["sources", "--errors"]) == 0
    out = capsys.readouterr().out
    assert "skipped" in out and "outside the added folder: not followed" in out
