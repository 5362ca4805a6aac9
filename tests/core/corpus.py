"""A small Japanese/English document corpus, written on demand (no binary fixtures in git).

Every writer puts a file under a folder and returns its path; the texts are module
constants so tests can assert exact content, and each file carries a marker word of its
own (MARKERS) so ingest and retrieval tests can check that a search finds the right file,
page or slide. `build_corpus(folder)` writes one of everything, e.g. for ingest tests and
benchmarks.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

JA_TEXT = "吾輩は猫である。名前はまだ無い。\nどこで生れたかとんと見当がつかぬ。①㈱髙﨑などの機種依存文字も含む。"
JA_TEXT_JIS = "吾輩は猫である。名前はまだ無い。\nどこで生れたかとんと見当がつかぬ。ｶﾀｶﾅ半角も。"  # JIS X 0208 + kana only
EN_TEXT = "The quick brown fox jumps over the lazy dog.\nRetrieval-augmented generation, locally."

# (file label, codec used to write, BOM to prepend, encoding the parser must report, text)
ENCODINGS = [
    ("utf8", "utf-8", b"", "utf-8", JA_TEXT),
    ("utf8bom", "utf-8", b"\xef\xbb\xbf", "utf-8-sig", JA_TEXT),
    ("utf16le", "utf-16-le", b"\xff\xfe", "utf-16-le", JA_TEXT),
    ("utf16be", "utf-16-be", b"\xfe\xff", "utf-16-be", JA_TEXT),
    ("sjis", "cp932", b"", "cp932", JA_TEXT),
    ("eucjp", "euc_jp", b"", "euc_jp", JA_TEXT_JIS),
    ("jis", "iso2022_jp", b"", "iso2022_jp", JA_TEXT_JIS.replace("ｶﾀｶﾅ", "カタカナ")),
]

MARKERS = {
    "txt": "ペンギン",
    "md": "キツネ",
    "html": "フクロウ",
    "pdf": "カワウソ",
    "docx": "イルカ",
    "pptx": "ラッコ",
    "csv": "アルパカ",
    "tsv": "カピバラ",
    "image": "ハリネズミ",
}

MARKDOWN = f"""---
title: 設定ガイド
tags: [guide]
---
はじめに。{MARKERS["md"]}の話。

# インストール

手順は次のとおり。

```sh
# これは見出しではない
pip install ippon
```

## macOS

Homebrew を使う。

Windows での注意
----------------

管理者権限が必要。

# 使い方

起動する。
"""

HTML = f"""<!DOCTYPE html>
<html lang="ja"><head>
<meta charset="utf-8">
<title>製品マニュアル &amp; FAQ</title>
<style>body {{ color: red; }} .hidden {{ display: none }}</style>
<script>var secret = "スクリプトの中身";</script>
</head><body>
<nav>メニュー</nav>
<h1>概要</h1>
<p>この製品は
ローカルで動きます。{MARKERS["html"]}も登場。</p>
<p>Second paragraph with <b>bold</b> text &lt;escaped&gt;.<br>After a break.</p>
<h2>仕様</h2>
<table><tr><th>項目</th><th>値</th></tr><tr><td>重さ</td><td>1.2 kg</td></tr></table>
<noscript>JavaScript を有効にしてください</noscript>
<h1>サポート</h1>
<pre>
  indented code
    kept as is
</pre>
<div>連絡先はこちら</div>
</body></html>
"""

PDF_PAGES = [
    f"日本語のPDF、一ページ目です。{MARKERS['pdf']}が泳ぐ。",
    "",  # a blank page: skipped, but page numbers after it stay true
    "三ページ目。Page three in English.",
]

CSV_HEADER = ["商品名", "価格", "在庫"]
CSV_ROWS = [[f"{MARKERS['csv']}{i}号", str(100 * i), "あり" if i % 2 else "なし"] for i in range(1, 121)]


def write_text(folder: Path, name: str, text: str, *, codec: str = "utf-8", bom: bytes = b"") -> Path:
    path = folder / name
    path.write_bytes(bom + text.encode(codec))
    return path


def write_encoded(folder: Path, label: str, suffix: str = ".txt") -> Path:
    """The ENCODINGS entry `label`, written as the same Japanese text in that encoding."""
    _, codec, bom, _, text = next(e for e in ENCODINGS if e[0] == label)
    return write_text(folder, f"{label}{suffix}", text, codec=codec, bom=bom)


def write_pdf(folder: Path, name: str = "doc.pdf", pages: list[str] = PDF_PAGES, *, title: str = "PDFの題名") -> Path:
    """A PDF with one text line per page, in reportlab's built-in Japanese CID font (no font file needed)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    path = folder / name
    c = canvas.Canvas(str(path))
    c.setTitle(title)
    for text in pages:
        if text:
            c.setFont("HeiseiKakuGo-W5", 12)
            c.drawString(72, 720, text)
        else:
            c.rect(72, 600, 200, 100)  # drawn, but no text
        c.showPage()
    c.save()
    return path


def write_encrypted_pdf(folder: Path, name: str = "locked.pdf", *, user_password: str = "secret") -> Path:
    """An encrypted copy of write_pdf's PDF; with user_password="" it opens without a password."""
    from pypdf import PdfReader, PdfWriter

    plain = write_pdf(folder, f".plain-{name}")
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password=user_password, owner_password="owner-pass")
    path = folder / name
    with open(path, "wb") as f:
        writer.write(f)
    plain.unlink()
    return path


def write_docx(folder: Path, name: str = "doc.docx") -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "仕様書"
    document.add_paragraph("前書きの段落。")
    document.add_heading("第1章 概要", level=1)
    document.add_paragraph(f"本章では{MARKERS['docx']}について述べる。")
    document.add_paragraph("二つ目の段落。")
    document.add_heading("1.1 詳細", level=2)
    document.add_paragraph("詳細な説明。")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["名前", "年齢", "備考"], ["田中", "30", "東京"], ["Smith", "41", "merged"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.cell(2, 1).merge(table.cell(2, 2))
    table.cell(2, 1).text = "41歳・結合"
    document.add_paragraph("表の後の段落。")
    document.add_heading("第2章 まとめ", level=1)
    document.add_paragraph("終わり。")
    path = folder / name
    document.save(str(path))
    return path


def write_pptx(folder: Path, name: str = "slides.pptx") -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.core_properties.title = "発表資料"
    slide = prs.slides.add_slide(prs.slide_layouts[1])  # title and content
    slide.shapes.title.text = "一枚目のタイトル"
    slide.placeholders[1].text_frame.text = f"{MARKERS['pptx']}の生態"
    slide.notes_slide.notes_text_frame.text = "ここで聴衆に質問する。"
    slide = prs.slides.add_slide(prs.slide_layouts[5])  # title only
    slide.shapes.title.text = "二枚目：表"
    rows = [["地域", "売上"], ["関東", "120"], ["関西", "95"]]
    table = slide.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    box = slide.shapes.add_textbox(Inches(1), Inches(5), Inches(6), Inches(1))
    box.text_frame.text = "出典：社内資料"
    slide.notes_slide.notes_text_frame.text = "表は四半期ごとに更新。"
    path = folder / name
    prs.save(str(path))
    return path


def write_csv(folder: Path, name: str = "items.csv", *, delimiter: str = ",", codec: str = "utf-8",
              header: list[str] = CSV_HEADER, rows: list[list[str]] = CSV_ROWS) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = folder / name
    path.write_bytes(out.getvalue().encode(codec))
    return path


def write_image(folder: Path, name: str = "photo.jpg", *, size: tuple[int, int] = (640, 480),
                description: bytes | None = None, xp_comment: str | None = None, xp_title: str | None = None,
                taken_at: datetime | None = None, date_time: datetime | None = None, offset: str | None = None,
                orientation: int | None = None) -> Path:
    """An image with the given EXIF: ImageDescription as raw bytes (software writes UTF-8 or
    Shift_JIS there), XP* tags as UTF-16LE, DateTimeOriginal / DateTime, OffsetTimeOriginal."""
    from PIL import Image, ImageDraw
    from PIL.ExifTags import IFD, Base

    if name.lower().endswith((".heic", ".heif")):
        from pillow_heif import register_heif_opener

        register_heif_opener()
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).rectangle([0, 0, size[0] // 2, size[1] // 3], fill="navy")
    exif = Image.Exif()
    if description is not None:
        exif[Base.ImageDescription] = description
    if xp_comment is not None:
        exif[Base.XPComment] = xp_comment.encode("utf-16-le") + b"\x00\x00"
    if xp_title is not None:
        exif[Base.XPTitle] = xp_title.encode("utf-16-le") + b"\x00\x00"
    if date_time is not None:
        exif[Base.DateTime] = date_time.strftime("%Y:%m:%d %H:%M:%S")
    if orientation is not None:
        exif[Base.Orientation] = orientation
    if taken_at is not None or offset is not None:
        sub = exif.get_ifd(IFD.Exif)
        if taken_at is not None:
            sub[Base.DateTimeOriginal] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        if offset is not None:
            sub[Base.OffsetTimeOriginal] = offset
    path = folder / name
    img.save(path, exif=exif)
    return path


def build_corpus(folder: Path) -> dict[str, Path]:
    """One file of every format (and every text encoding), each with its marker word; name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "txt": write_text(folder, "notes.txt", f"{JA_TEXT}\n{MARKERS['txt']}がいる。\n{EN_TEXT}\n"),
        "md": write_text(folder, "guide.md", MARKDOWN),
        "html": write_text(folder, "manual.html", HTML),
        "pdf": write_pdf(folder),
        "docx": write_docx(folder),
        "pptx": write_pptx(folder),
        "csv": write_csv(folder),
        "tsv": write_csv(folder, "animals.tsv", delimiter="\t", header=["名前", "説明"],
                         rows=[[MARKERS["tsv"], "世界最大のげっ歯類"], ["Otter", "swims"]]),
        "image": write_image(folder, "hedgehog.jpg", description=f"{MARKERS['image']}の写真".encode(),
                             taken_at=datetime(2024, 4, 1, 9, 30, 0)),
    }
    encodings = folder / "encodings"
    encodings.mkdir(exist_ok=True)
    for label, *_ in ENCODINGS:
        files[f"txt-{label}"] = write_encoded(encodings, label)
    return files
