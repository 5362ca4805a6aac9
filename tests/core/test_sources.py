"""The Library's parsers, on a corpus written into a tmp dir by tests/core/corpus.py."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.core import sources
from app.core.sources import ParseError, format_for, parse_file
from app.core.sources import ocr as ocr_module
from app.core.sources import reading

from . import corpus
from .corpus import ENCODINGS, JA_TEXT, MARKERS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_apple_vision(monkeypatch):
    """OCR tests choose their engine; on a Mac the suite must not silently use Vision instead."""
    monkeypatch.setattr(ocr_module, "vision_available", lambda: False)


# --- dispatch ---------------------------------------------------------------------------------

def test_format_for_is_by_suffix_and_case_insensitive():
    assert format_for(Path("a/b/Report.PDF")) == "pdf"
    assert format_for(Path("x.Markdown")) == "md"
    assert format_for(Path("x.htm")) == "html"
    assert format_for(Path("x.TSV")) == "tsv"
    assert format_for(Path("x.jpeg")) == "image"
    assert format_for(Path("x.heic")) == "image"  # pillow-heif is a dependency
    assert format_for(Path("x.xlsx")) is None
    assert format_for(Path("Makefile")) is None
    assert all(s.startswith(".") and s == s.lower() for s in sources.SUPPORTED_SUFFIXES)
    assert {".txt", ".md", ".html", ".pdf", ".docx", ".pptx", ".csv", ".tsv", ".png", ".tif"} <= sources.SUPPORTED_SUFFIXES
    assert isinstance(sources.PARSER_VERSION, int)


def test_unsupported_suffix_is_a_parse_error(tmp_path):
    path = corpus.write_text(tmp_path, "sheet.xlsx", "x")
    with pytest.raises(ParseError, match="not a supported file type"):
        parse_file(path)


def test_importing_the_package_loads_no_parser_library():
    code = ("import sys, app.core.sources; print(sorted(m for m in ('pypdfium2', 'docx', 'pptx', 'PIL', "
            "'charset_normalizer', 'markdown_it', 'pillow_heif') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_format_of_the_corpus_parses_with_its_marker(tmp_path):
    files = corpus.build_corpus(tmp_path / "corpus")
    for name, path in files.items():
        doc = parse_file(path, ocr=False)
        assert doc.path == path
        assert doc.format == format_for(path)
        if name in MARKERS:
            assert MARKERS[name] in doc.text, name
        assert "\r" not in doc.text


# --- text encodings ---------------------------------------------------------------------------

@pytest.mark.parametrize("label, reported, text", [(e[0], e[3], e[4]) for e in ENCODINGS],
                         ids=[e[0] for e in ENCODINGS])
def test_text_in_every_encoding_decodes_exactly(tmp_path, label, reported, text):
    doc = parse_file(corpus.write_encoded(tmp_path, label))
    assert doc.format == "txt"
    assert doc.encoding == reported
    assert doc.text == text
    assert doc.warnings == []


@pytest.mark.parametrize("suffix", [".md", ".csv", ".html"])
@pytest.mark.parametrize("label", ["sjis", "eucjp", "utf16le"])
def test_other_text_formats_share_the_decoder(tmp_path, suffix, label):
    doc = parse_file(corpus.write_encoded(tmp_path, label, suffix))
    expected = next(e for e in ENCODINGS if e[0] == label)
    assert doc.encoding == expected[3]
    if suffix == ".html":  # whitespace is HTML's: compare the sentences
        assert "吾輩は猫である。" in doc.text and "見当がつかぬ。" in doc.text
    elif suffix == ".csv":
        assert doc.sections[0].heading == expected[4].split("\n")[0]
    else:
        assert doc.text == expected[4]


@pytest.mark.parametrize("codec", ["cp932", "euc_jp"])
@pytest.mark.parametrize("text", ["日本語", "東京", "こんにちは", "abc 日本", "ｱｲｳｴｵ", "カナ"])
def test_short_japanese_text_is_not_mistaken(tmp_path, codec, text):
    doc = parse_file(corpus.write_text(tmp_path, "short.txt", text, codec=codec))
    assert (doc.text, doc.encoding) == (text, codec)


def test_newlines_become_lf(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes("一行目\r\n二行目\r三行目\n四行目".encode("cp932"))
    doc = parse_file(path)
    assert doc.text == "一行目\n二行目\n三行目\n四行目"


def test_text_is_kept_as_written_not_normalised(tmp_path):
    doc = parse_file(corpus.write_text(tmp_path, "wide.txt", "ＡＢＣ１２３　ｶﾀｶﾅ ㈱"))
    assert doc.text == "ＡＢＣ１２３　ｶﾀｶﾅ ㈱"


def test_undecodable_bytes_are_replaced_with_a_warning(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_bytes("前半は正しい。".encode("cp932") + b"\x81\xff" + "後半も正しい。".encode("cp932"))
    doc = parse_file(path)
    assert doc.encoding == "cp932"
    assert doc.text.startswith("前半は正しい。") and doc.text.endswith("後半も正しい。")
    assert "\ufffd" in doc.text
    assert len(doc.warnings) == 1 and "replaced" in doc.warnings[0]


def test_utf8_with_a_damaged_byte_stays_utf8(tmp_path):
    path = tmp_path / "damaged.txt"
    path.write_bytes(JA_TEXT.encode() + b"\xff" + "。続きの文章もUTF-8で書かれている。".encode())
    doc = parse_file(path)
    assert doc.encoding == "utf-8"
    assert doc.text == JA_TEXT + "\ufffd。続きの文章もUTF-8で書かれている。"
    assert doc.warnings == ["1 undecodable byte sequence(s) in utf-8 text were replaced by \ufffd"]


def test_binary_named_txt_is_rejected(tmp_path):
    png = tmp_path / "image.txt"
    png.write_bytes(corpus.write_image(tmp_path, "real.png").read_bytes())
    with pytest.raises(ParseError, match=r"image\.txt: is binary, not text"):
        parse_file(png)
    controls = tmp_path / "controls.txt"
    controls.write_bytes(bytes(range(1, 9)) * 50 + b"some text")
    with pytest.raises(ParseError, match="is binary, not text"):
        parse_file(controls)


def test_whitespace_only_text_has_no_sections(tmp_path):
    doc = parse_file(corpus.write_text(tmp_path, "blank.txt", " \n\n\t\n"))
    assert doc.sections == [] and doc.text == ""


# --- markdown ---------------------------------------------------------------------------------

def test_markdown_tracks_headings_and_keeps_the_text(tmp_path):
    doc = parse_file(corpus.write_text(tmp_path, "guide.md", corpus.MARKDOWN))
    assert doc.format == "md" and doc.title == "設定ガイド"
    by_heading = {s.heading: s.text for s in doc.sections}
    assert list(by_heading) == [None, "インストール", "インストール > macOS",
                                "インストール > Windows での注意", "使い方"]
    assert doc.sections[0].text.startswith("---\ntitle: 設定ガイド")  # front matter kept, not a heading
    assert f"はじめに。{MARKERS['md']}の話。" in doc.sections[1].text
    install = by_heading["インストール"]
    assert install.startswith("# インストール\n\n手順は次のとおり。")
    assert "# これは見出しではない" in install  # inside a code fence
    assert by_heading["インストール > Windows での注意"].startswith("Windows での注意\n----------------")
    assert by_heading["使い方"] == "# 使い方\n\n起動する。"


def test_markdown_heading_markup_is_dropped_from_the_heading_only(tmp_path):
    doc = parse_file(corpus.write_text(tmp_path, "x.md", "# **太字** の `code` 見出し\n本文\n"))
    assert doc.sections == [sources.Section("# **太字** の `code` 見出し\n本文", heading="太字 の code 見出し")]
    assert doc.title == "太字 の code 見出し"


# --- html -------------------------------------------------------------------------------------

def test_html_visible_text_headings_and_title(tmp_path):
    doc = parse_file(corpus.write_text(tmp_path, "manual.html", corpus.HTML))
    assert doc.format == "html" and doc.title == "製品マニュアル & FAQ"
    text = doc.text
    for hidden in ("secret", "スクリプトの中身", "color: red", "JavaScript を有効に"):
        assert hidden not in text
    assert [s.heading for s in doc.sections] == [None, "概要", "概要 > 仕様", "サポート"]
    assert doc.sections[0].text == "メニュー"
    overview = doc.sections[1].text
    # A line break between Japanese characters is no space; block elements are paragraphs.
    assert overview.split("\n\n") == [
        "概要",
        f"この製品はローカルで動きます。{MARKERS['html']}も登場。",
        "Second paragraph with bold text <escaped>.\nAfter a break.",
    ]
    assert doc.sections[2].text == "仕様\n\n項目\t値\n重さ\t1.2 kg"
    assert doc.sections[3].text == "サポート\n\n  indented code\n    kept as is\n\n連絡先はこちら"


def test_html_meta_charset_is_honoured(tmp_path):
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">' \
           "<title>題名</title></head><body><p>①の説明</p></body></html>"
    doc = parse_file(corpus.write_text(tmp_path, "sjis.htm", html, codec="cp932"))
    assert doc.encoding == "cp932" and doc.title == "題名" and doc.text == "①の説明"
    latin = "<meta charset='windows-1252'><p>café crème</p>"
    doc = parse_file(corpus.write_text(tmp_path, "latin.html", latin, codec="cp1252"))
    assert doc.encoding == "cp1252" and doc.text == "café crème"


# --- pdf --------------------------------------------------------------------------------------

def test_pdf_text_per_page_with_page_numbers(tmp_path):
    doc = parse_file(corpus.write_pdf(tmp_path))
    assert doc.format == "pdf" and doc.title == "PDFの題名"
    assert [(s.page, s.text) for s in doc.sections] == [(1, corpus.PDF_PAGES[0]), (3, corpus.PDF_PAGES[2])]
    assert doc.warnings == []


def test_pdf_lines_use_lf(tmp_path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    path = tmp_path / "lines.pdf"
    c = canvas.Canvas(str(path))
    c.setFont("HeiseiKakuGo-W5", 12)
    c.drawString(72, 720, "一行目の文。")
    c.drawString(72, 700, "Second line.")
    c.save()
    assert parse_file(path).sections[0].text == "一行目の文。\nSecond line."


def test_pdf_without_text_warns(tmp_path):
    doc = parse_file(corpus.write_pdf(tmp_path, "scan.pdf", ["", ""]))
    assert doc.sections == []
    assert doc.warnings == ["no text layer (scanned?)"]


def test_encrypted_pdf(tmp_path):
    with pytest.raises(ParseError, match=r"locked\.pdf: is encrypted"):
        parse_file(corpus.write_encrypted_pdf(tmp_path))


def test_pdf_with_only_an_owner_password_opens(tmp_path):
    # "Permissions" PDFs (no printing, no copying) open without a password in every viewer.
    doc = parse_file(corpus.write_encrypted_pdf(tmp_path, "restricted.pdf", user_password=""))
    assert [s.page for s in doc.sections] == [1, 3] and MARKERS["pdf"] in doc.text


def test_corrupt_pdf(tmp_path):
    good = corpus.write_pdf(tmp_path).read_bytes()
    for name, data in [("truncated.pdf", good[:200]), ("fake.pdf", b"%PDF-1.7\nnot really a pdf\n"),
                       ("text.pdf", "これはPDFではない".encode())]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ParseError, match=rf"{name}: is damaged or not a PDF"):
            parse_file(path)


# --- docx -------------------------------------------------------------------------------------

def test_docx_headings_tables_and_order(tmp_path):
    doc = parse_file(corpus.write_docx(tmp_path))
    assert doc.format == "docx" and doc.title == "仕様書"
    assert [(s.kind, s.heading, s.text) for s in doc.sections] == [
        ("text", None, "前書きの段落。"),
        ("text", "第1章 概要", f"第1章 概要\n本章では{MARKERS['docx']}について述べる。\n二つ目の段落。"),
        ("text", "第1章 概要 > 1.1 詳細", "1.1 詳細\n詳細な説明。"),
        ("table", "第1章 概要 > 1.1 詳細", "名前\t年齢\t備考\n田中\t30\t東京\nSmith\t41歳・結合"),
        ("text", "第1章 概要 > 1.1 詳細", "表の後の段落。"),
        ("text", "第2章 まとめ", "第2章 まとめ\n終わり。"),
    ]


def test_docx_custom_heading_style_with_outline_level(tmp_path):
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    style = document.styles.add_style("章見出し", WD_STYLE_TYPE.PARAGRAPH)
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), "0")
    style.element.get_or_add_pPr().append(outline)
    document.add_paragraph("独自スタイルの章", style="章見出し")
    document.add_paragraph("本文。")
    path = tmp_path / "custom.docx"
    document.save(str(path))
    assert parse_file(path).sections == [sources.Section("独自スタイルの章\n本文。", heading="独自スタイルの章")]


@pytest.mark.parametrize("suffix, kind", [(".docx", "Word document"), (".pptx", "PowerPoint presentation")])
def test_office_files_that_are_not_zip_or_are_encrypted(tmp_path, suffix, kind):
    path = corpus.write_text(tmp_path, f"plain{suffix}", "ただのテキスト")
    with pytest.raises(ParseError, match=rf"plain\{suffix}: is damaged or not a {kind}"):
        parse_file(path)
    import zipfile

    other_zip = tmp_path / f"other{suffix}"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("hello.txt", "not office")
    with pytest.raises(ParseError, match=rf"other\{suffix}: is damaged or not a {kind}"):
        parse_file(other_zip)
    ole = tmp_path / f"locked{suffix}"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    with pytest.raises(ParseError, match=rf"locked\{suffix}: is encrypted"):
        parse_file(ole)


# --- pptx -------------------------------------------------------------------------------------

def test_pptx_slides_titles_tables_and_notes(tmp_path):
    doc = parse_file(corpus.write_pptx(tmp_path))
    assert doc.format == "pptx" and doc.title == "発表資料"
    assert [(s.slide, s.kind, s.heading, s.text) for s in doc.sections] == [
        (1, "text", "一枚目のタイトル", f"一枚目のタイトル\n{MARKERS['pptx']}の生態"),
        (1, "notes", "一枚目のタイトル", "ここで聴衆に質問する。"),
        (2, "text", "二枚目：表", "二枚目：表\n地域\t売上\n関東\t120\n関西\t95\n出典：社内資料"),
        (2, "notes", "二枚目：表", "表は四半期ごとに更新。"),
    ]


def test_pptx_groups_line_breaks_and_untitled_slides(tmp_path):
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])  # blank: no title
    group = slide.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(1), Inches(3), Inches(1))
    box.text_frame.text = "グループ内\vの改行"
    path = tmp_path / "group.pptx"
    prs.save(str(path))
    doc = parse_file(path)
    assert doc.sections == [sources.Section("グループ内\nの改行", slide=1)]


# --- csv / tsv --------------------------------------------------------------------------------

def test_csv_sections_carry_the_header(tmp_path):
    doc = parse_file(corpus.write_csv(tmp_path, codec="cp932"))
    assert doc.format == "csv" and doc.encoding == "cp932"
    assert len(doc.sections) == 3  # 120 rows, 50 per section
    assert {s.heading for s in doc.sections} == {"商品名 | 価格 | 在庫"}
    assert {s.kind for s in doc.sections} == {"table"}
    lines = doc.sections[0].text.split("\n")
    assert lines[0] == "商品名\t価格\t在庫" and lines[1] == f"{MARKERS['csv']}1号\t100\tあり"
    assert len(lines) == 51
    assert doc.sections[2].text.split("\n")[-1] == f"{MARKERS['csv']}120号\t12000\tなし"
    assert sum(len(s.text.split("\n")) for s in doc.sections) == 121


def test_tsv_and_sniffed_delimiters(tmp_path):
    doc = parse_file(corpus.write_csv(tmp_path, "a.tsv", delimiter="\t", header=["名前", "説明"],
                                      rows=[["カピバラ", "大きい, 穏やか"]]))
    assert doc.format == "tsv"
    assert doc.sections == [sources.Section("名前\t説明\nカピバラ\t大きい, 穏やか", heading="名前 | 説明", kind="table")]
    doc = parse_file(corpus.write_csv(tmp_path, "semi.csv", delimiter=";", header=["列A", "列B"],
                                      rows=[["1", "複数行の\nセル"], ["2", "x"]]))
    assert doc.sections[0].text == "列A\t列B\n1\t複数行の セル\n2\tx"


def test_csv_with_a_broken_quote_is_still_indexed(tmp_path):
    path = corpus.write_text(tmp_path, "bad.csv", 'a,b\n1,"' + "x" * 200_000 + "\n2,y\n")
    doc = parse_file(path)
    assert any("indexed line by line" in w for w in doc.warnings)
    assert "2\ty" in doc.text


# --- images -----------------------------------------------------------------------------------

def _fake_tesseract(folder: Path, *, langs: str = "eng\njpn\nosd", output: str = "画像の中の文字\nText in image\n",
                    exit_code: int = 0) -> Path:
    """A `tesseract` that prints fixed text and records its arguments next to itself."""
    folder.mkdir(exist_ok=True)
    exe = folder / "tesseract"
    exe.write_text(f"""#!/bin/sh
if [ "$1" = "--list-langs" ]; then
    printf 'List of available languages in "/fake/tessdata/" (3):\\n{langs}\\n'
    exit 0
fi
printf '%s\\n' "$@" > "${{0%/*}}/args.txt"
[ -f "$1" ] || {{ echo "no image $1" >&2; exit 3; }}
printf '{output}'
[ {exit_code} -eq 0 ] || echo "Error: tesseract broke" >&2
exit {exit_code}
""", encoding="utf-8")
    exe.chmod(0o755)
    return exe


def _path_without_tesseract() -> str:
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and not (Path(d) / "tesseract").exists())


def test_image_size_exif_date_description_and_thumbnail(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("PATH", _path_without_tesseract())
    path = corpus.write_image(tmp_path, "photo.jpg", size=(1200, 800), description="清水寺の夕景".encode(),
                              xp_comment="京都旅行", taken_at=datetime(2023, 11, 3, 16, 45, 10),
                              date_time=datetime(2024, 1, 1, 0, 0, 0))
    doc = parse_file(path)
    info = doc.image
    assert doc.format == "image" and (info.width, info.height) == (1200, 800)
    assert info.taken_at == datetime(2023, 11, 3, 16, 45, 10)  # DateTimeOriginal wins over DateTime
    assert info.description == "清水寺の夕景\n京都旅行"
    thumb = Image.open(io.BytesIO(info.thumbnail_png))
    assert thumb.format == "PNG" and thumb.size == (256, 171)
    assert doc.sections == [sources.Section("清水寺の夕景\n京都旅行", kind="image")]


def test_image_exif_variants(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _path_without_tesseract())
    # Shift_JIS in ImageDescription, DateTime only, XPTitle; a zone offset makes the time exact.
    doc = parse_file(corpus.write_image(tmp_path, "a.png", description="富士山".encode("cp932"), xp_title="表紙",
                                        date_time=datetime(2020, 2, 29, 12, 0, 0)))
    assert doc.image.description == "富士山\n表紙"
    assert doc.image.taken_at == datetime(2020, 2, 29, 12, 0, 0)
    doc = parse_file(corpus.write_image(tmp_path, "b.webp", taken_at=datetime(2021, 5, 5, 8, 0, 0), offset="+09:00",
                                        description=b"OLYMPUS DIGITAL CAMERA"))
    assert doc.image.taken_at == datetime(2021, 5, 5, 8, 0, 0, tzinfo=timezone(timedelta(hours=9)))
    assert doc.image.description == ""  # camera boilerplate describes nothing
    # Rotated a quarter turn by EXIF: the size and thumbnail are as the photo is seen.
    # (Pillow writes no EXIF sub-IFD into a TIFF, so this one has IFD0's DateTime.)
    doc = parse_file(corpus.write_image(tmp_path, "c.tiff", size=(400, 300), orientation=6,
                                        date_time=datetime(2019, 7, 7, 7, 7, 7)))
    assert (doc.image.width, doc.image.height) == (300, 400)
    from PIL import Image

    assert Image.open(io.BytesIO(doc.image.thumbnail_png)).size == (192, 256)
    assert doc.image.taken_at == datetime(2019, 7, 7, 7, 7, 7) and doc.image.description == ""
    assert doc.sections == [sources.Section("", kind="image")]  # stored by path even without text


@pytest.mark.parametrize("name", ["x.gif", "x.heic", "x.jpeg", "x.tif"])
def test_other_image_formats(tmp_path, monkeypatch, name):
    monkeypatch.setenv("PATH", _path_without_tesseract())
    doc = parse_file(corpus.write_image(tmp_path, name, size=(300, 100), xp_comment="メモ"), ocr=False)
    assert (doc.image.width, doc.image.height) == (300, 100)
    assert doc.image.description == ("" if name == "x.gif" else "メモ")  # GIF has no EXIF
    assert doc.image.ocr_text is None and doc.warnings == []


def test_ocr_with_tesseract(tmp_path, monkeypatch):
    exe = _fake_tesseract(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    doc = parse_file(corpus.write_image(tmp_path, "slide.png", description="説明".encode()))
    assert doc.image.ocr_text == "画像の中の文字\nText in image"
    assert doc.warnings == []
    assert doc.sections[0].text == "説明\n画像の中の文字\nText in image"
    args = (exe.parent / "args.txt").read_text().split("\n")
    assert args[1:4] == ["stdout", "-l", "jpn+eng"] and args[0].endswith(".png")
    assert not Path(args[0]).exists()  # the temporary image is removed


def test_ocr_without_japanese_data_falls_back_to_english(tmp_path, monkeypatch):
    exe = _fake_tesseract(tmp_path / "bin", langs="eng\nosd", output="English only")
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{_path_without_tesseract()}")
    doc = parse_file(corpus.write_image(tmp_path, "en.png"))
    assert doc.image.ocr_text == "English only"
    assert (exe.parent / "args.txt").read_text().split("\n")[1:4] == ["stdout", "-l", "eng"]
    assert doc.warnings == ["tesseract has no Japanese data (install tesseract-ocr-jpn); read English only"]


def test_ocr_failure_is_a_warning(tmp_path, monkeypatch):
    exe = _fake_tesseract(tmp_path / "bin", output="", exit_code=1)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{_path_without_tesseract()}")
    doc = parse_file(corpus.write_image(tmp_path, "x.png"))
    assert doc.image.ocr_text is None
    assert doc.warnings == ["OCR failed: tesseract: Error: tesseract broke"]


def test_ocr_timeout_is_a_warning(tmp_path, monkeypatch):
    folder = tmp_path / "bin"
    folder.mkdir()
    exe = folder / "tesseract"
    exe.write_text('#!/bin/sh\n[ "$1" = "--list-langs" ] && { printf "x\\neng\\njpn\\n"; exit 0; }\nexec sleep 30\n')
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(ocr_module, "TESSERACT_TIMEOUT_S", 0.5)
    doc = parse_file(corpus.write_image(tmp_path, "slow.png"))
    assert doc.image.ocr_text is None and doc.warnings == ["OCR gave up after 0.5 s"]


def test_no_ocr_engine_warns(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _path_without_tesseract())
    doc = parse_file(corpus.write_image(tmp_path, "x.jpg", description="写真".encode()))
    assert doc.image.ocr_text is None
    assert doc.warnings == ["no OCR engine: install tesseract with Japanese data (tesseract-ocr-jpn) "
                            "to search text in images"]
    assert doc.sections[0].text == "写真"


def test_ocr_off_runs_nothing(tmp_path, monkeypatch):
    exe = _fake_tesseract(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    doc = parse_file(corpus.write_image(tmp_path, "x.png"), ocr=False)
    assert doc.image.ocr_text is None and doc.warnings == []
    assert not (exe.parent / "args.txt").exists()


def test_icons_are_not_sent_to_ocr(tmp_path, monkeypatch):
    exe = _fake_tesseract(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    doc = parse_file(corpus.write_image(tmp_path, "favicon.png", size=(12, 12)))
    assert doc.image.ocr_text is None and doc.warnings == []
    assert not (exe.parent / "args.txt").exists()


def test_damaged_image(tmp_path):
    good = corpus.write_image(tmp_path, "good.jpg").read_bytes()
    for name, data in [("cut.jpg", good[: len(good) // 2]), ("noise.png", b"\x89PNG\r\n\x1a\n" + b"\x07" * 100),
                       ("text.gif", "画像ではない".encode())]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ParseError, match=rf"{name}: is damaged or not an image"):
            parse_file(path, ocr=False)


# --- bad files, every format ------------------------------------------------------------------

ALL_SUFFIXES = sorted(sources.SUPPORTED_SUFFIXES)


@pytest.mark.parametrize("suffix", ALL_SUFFIXES)
def test_zero_byte_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.touch()
    with pytest.raises(ParseError, match=rf"empty\{suffix}: is empty$"):
        parse_file(path)


@pytest.mark.parametrize("suffix", ALL_SUFFIXES)
def test_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"big{suffix}"
    path.write_bytes(b"x" * 3000)

    def no_open(*args, **kwargs):
        raise AssertionError("the file was opened although its size is over the limit")

    monkeypatch.setattr(reading, "open", no_open, raising=False)
    with pytest.raises(ParseError, match=rf"big\{suffix}: is too large \(2\.9 KB; the limit is 2 KB\)"):
        parse_file(path, max_bytes=2048)


@pytest.mark.parametrize("suffix", [".txt", ".pdf", ".docx", ".png"])
def test_permission_denied(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"secret{suffix}"
    path.write_bytes(b"content")
    path.chmod(0)
    try:
        with open(path, "rb"):
            blocked = False
    except PermissionError:
        blocked = True
    if not blocked:
        # Running as root, where file modes do not stop reading: make open() answer as the
        # OS does for everyone else, for this file only.
        real_open = os.open

        def denying_open(file, *args, **kwargs):
            if Path(file) == path:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(reading.os, "open", denying_open)
    try:
        with pytest.raises(ParseError, match=rf"secret\{suffix}: permission denied"):
            parse_file(path)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


@pytest.mark.parametrize("suffix", [".md", ".pptx", ".jpg"])
def test_file_deleted_between_stat_and_read(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"gone{suffix}"
    path.write_bytes(b"content")
    real_open = os.open

    def deleting_open(file, *args, **kwargs):
        if Path(file) == path:
            Path(file).unlink()  # another program removes it right after the size check
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(reading.os, "open", deleting_open)
    with pytest.raises(ParseError, match=rf"gone\{suffix}: disappeared while reading"):
        parse_file(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ParseError, match="nothing.txt: does not exist"):
        parse_file(tmp_path / "nothing.txt")
    (tmp_path / "folder.md").mkdir()
    with pytest.raises(ParseError, match="folder.md: is a folder, not a file"):
        parse_file(tmp_path / "folder.md")


@pytest.mark.parametrize("suffix", ALL_SUFFIXES)
def test_garbage_never_escapes_as_another_exception(tmp_path, suffix):
    import random

    rng = random.Random(suffix)
    for i in range(3):
        path = tmp_path / f"garbage{i}{suffix}"
        path.write_bytes(bytes(rng.randrange(256) for _ in range(2000)))
        try:
            doc = parse_file(path, ocr=False)
        except ParseError as exc:
            assert str(exc).startswith(f"{path}: ")
        else:
            assert doc.warnings  # random bytes that decode at all were decoded with replacements
