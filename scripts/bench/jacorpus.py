"""A generated corpus of Japanese technical documents in every format the library reads, for benchmarks.

    from jacorpus import ensure_corpus
    corpus = ensure_corpus(ROOT / ".cache" / "bench-corpus", n_files=2000)  # -> Corpus(folder, manifest)

Documents read like manuals and runbooks: sentences built from word lists and templates
(設定, サーバー, 手順, katakana product names, English terms, numbers, versions, 「…」 quotes,
。！？), grouped into paragraphs, lists, code and tables under headings. Each document has
a marker word of its own (a katakana name used nowhere else) so a keyword search can check
that the file was read and decoded right. Sizes are log-normal around TEXT_BYTES_PER_FILE of
UTF-8 text (markup not counted); a document ends at a whole block, so the corpus runs ~5% over.

Formats by share of files: txt (UTF-8, Shift_JIS, EUC-JP), md, html (UTF-8, some Shift_JIS
with a meta charset), csv (UTF-8, some cp932 like an Excel export), docx, pptx, pdf
(reportlab's CID font HeiseiKakuGo-W5). Generation is seeded per file; the folder is cached
under a key of VERSION and the file count, and written to a temporary name first so an
interrupted run never leaves a half corpus behind.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

VERSION = "ja1"
TEXT_BYTES_PER_FILE = 5000  # 2,000 files -> ~10 MB of text
FORMATS = (("txt", 28), ("md", 23), ("html", 22), ("csv", 7), ("docx", 8), ("pptx", 6), ("pdf", 6))
FOLDERS = ("マニュアル", "runbooks", "仕様書", "FAQ", "議事録", "release-notes", "設計", "運用手順")

NOUNS = ("設定", "サーバー", "手順", "データベース", "ネットワーク", "認証", "ログ", "バックアップ", "証明書",
         "管理画面", "ユーザー", "アカウント", "パスワード", "ストレージ", "メモリ", "プロセス", "キャッシュ",
         "インデックス", "検索", "接続", "通知", "権限", "監視", "更新", "再起動", "障害", "復旧", "性能", "負荷",
         "容量", "転送", "暗号化", "同期", "端末", "仮想マシン", "コンテナ", "クラスター", "ノード", "ポート",
         "設定ファイル", "環境変数", "ファイアウォール", "ロードバランサー", "タイムアウト", "レプリケーション",
         "ジョブ", "キュー", "スケジューラー", "ライセンス", "ディスク", "ファームウェア", "ドライバー", "センサー",
         "温度", "電源", "ケーブル", "見積書", "請求書", "契約", "担当者", "問い合わせ", "申請", "承認", "会議")
ENGLISH = ("API", "HTTP", "TLS", "JSON", "YAML", "Docker", "Kubernetes", "PostgreSQL", "nginx", "Linux", "SSH",
           "DNS", "CPU", "GPU", "RAID", "VPN", "OAuth", "LDAP", "cron", "systemd", "Python", "S3", "Redis",
           "Webhook", "CSV", "SQL", "REST", "gRPC", "Prometheus", "Grafana")
ACTIONS = ("確認して", "設定して", "変更して", "保存して", "削除して", "追加して", "有効にして", "無効にして",
           "再起動して", "更新して", "登録して", "停止して", "起動して", "選択して", "入力して")
ENDINGS = ("ください", "おきます", "あります", "しまいます")
RESULTS = ("が表示されます", "が完了します", "が反映されます", "が必要です", "は不要です", "が停止します",
           "が自動で再開されます", "が記録されます", "が送信されます", "が失敗することがあります")
BUTTONS = ("詳細", "保存", "適用", "次へ", "キャンセル", "接続テスト", "エクスポート", "再読み込み", "OK")
MESSAGES = ("接続できません", "認証に失敗しました", "ディスクの空き容量が不足しています", "処理が完了しました",
            "タイムアウトしました", "設定が保存されていません", "権限がありません")
UNITS = ("MB", "GB", "秒", "分", "件", "台", "%", "ms", "時間", "日", "回")
KANA = ("ア カ サ タ ナ ハ マ ヤ ラ ワ イ キ シ チ ニ ヒ ミ リ ウ ク ス ツ ヌ フ ム ユ ル エ ケ セ テ ネ ヘ メ レ "
        "オ コ ソ ト ノ ホ モ ヨ ロ ガ ギ グ ゲ ゴ ザ ジ ズ ゼ ゾ ダ デ ド バ ビ ブ ベ ボ パ ピ プ ペ ポ").split()
PRODUCTS = tuple("".join(random.Random(k).sample(KANA, 3)) + "ー" for k in range(40))


def marker_for(index: int) -> str:
    """A katakana word unique to file `index` (base-67 digits of a permutation, after ヴ)."""
    n = (index * 7919 + 13) % len(KANA) ** 3
    return "ヴ" + "".join(KANA[(n // len(KANA) ** k) % len(KANA)] for k in range(3))


class Writer:
    """Sentences, paragraphs and blocks for one document, from one seeded generator."""

    def __init__(self, rng: random.Random, marker: str) -> None:
        self.rng, self.marker = rng, marker
        self.product = rng.choice(PRODUCTS)
        self.topic = rng.sample(NOUNS, 4)

    def noun(self) -> str:
        return self.rng.choice(self.topic) if self.rng.random() < 0.4 else self.rng.choice(NOUNS)

    def number(self) -> str:
        r = self.rng
        return r.choice([str(r.randint(1, 99)), str(r.randint(100, 9999)), f"{r.randint(1, 9)}.{r.randint(0, 20)}",
                         f"{r.randint(1, 65535)}"])

    def sentence(self) -> str:
        r, n = self.rng, self.noun
        templates = (
            lambda: f"{n()}の{n()}を{r.choice(ACTIONS)}から、{n()}を{r.choice(ACTIONS)}{r.choice(ENDINGS)}。",
            lambda: f"{r.choice(ENGLISH)}の{n()}は{self.number()}{r.choice(UNITS)}以上に設定することを推奨します。",
            lambda: f"「{r.choice(MESSAGES)}」と表示された場合は、{n()}と{n()}を確認してください。",
            lambda: f"手順{r.randint(1, 12)}：{n()}画面で「{r.choice(BUTTONS)}」を選択すると、{n()}{r.choice(RESULTS)}。",
            lambda: f"注意！{n()}を{r.choice(ACTIONS)}いる間は{n()}{r.choice(RESULTS)}。",
            lambda: f"{self.product}の{n()}が遅いですか？その場合は{r.choice(ENGLISH)}の{n()}を見直してください。",
            lambda: f"バージョン{r.randint(1, 5)}.{r.randint(0, 9)}.{r.randint(0, 30)}以降では、{n()}の既定値が"
                    f"{self.number()}{r.choice(UNITS)}に変わりました。",
            lambda: f"{r.randint(2019, 2025)}年{r.randint(1, 12)}月{r.randint(1, 28)}日の定期点検で、{n()}の"
                    f"{n()}{r.choice(RESULTS)}。",
            lambda: f"Run `{r.choice(ENGLISH).lower()} status` to check the {r.choice(ENGLISH)} service, then "
                    f"restart it if the {r.choice(('queue', 'cache', 'index', 'job'))} is stuck.",
            lambda: f"本書で扱う「{self.marker}」は、{self.product}の{n()}を管理するための仕組みです。",
            lambda: f"{n()}と{n()}の関係は、{r.choice(ENGLISH)}の{n()}を参照すると分かりやすいでしょう。",
            lambda: f"担当者は「{n()}の{n()}は毎週{r.choice('月火水木金')}曜日に行う」と決めています。",
        )
        weights = (6, 4, 3, 4, 2, 2, 2, 2, 1, 1, 3, 1)
        return r.choices(templates, weights)[0]()

    def paragraph(self) -> str:
        return "".join(self.sentence() for _ in range(self.rng.randint(2, 7)))

    def heading(self) -> str:
        r = self.rng
        return r.choice((f"{self.noun()}の{self.noun()}", f"{self.noun()}について", f"{r.choice(ENGLISH)}の設定",
                         f"{self.product}の{self.noun()}", f"よくある質問：{self.noun()}"))

    def table(self) -> list[list[str]]:
        rows = [["項目", "設定値", "説明"]]
        for _ in range(self.rng.randint(2, 6)):
            rows.append([self.noun(), f"{self.number()}{self.rng.choice(UNITS)}", self.sentence()])
        return rows


@dataclass
class Doc:
    title: str
    marker: str
    sections: list[tuple[str, list[tuple[str, object]]]]  # (heading, [(kind, content)]); kind: p ul table code

    def text_bytes(self) -> int:
        total = len(self.title.encode())
        for heading, blocks in self.sections:
            total += len(heading.encode())
            for kind, content in blocks:
                parts = content if kind == "ul" else [c for row in content for c in row] if kind == "table" \
                    else [content]
                total += sum(len(str(p).encode()) for p in parts)
        return total


def make_doc(w: Writer, target: int, *, blocks: tuple[str, ...] = ("p", "p", "p", "p", "ul", "table", "code")) -> Doc:
    doc = Doc(f"{w.product} {w.heading()}", w.marker, [])
    intro = f"本書は「{w.marker}」の{w.noun()}について説明します。{w.paragraph()}"
    doc.sections.append(("はじめに", [("p", intro)]))
    while doc.text_bytes() < target:
        section: list[tuple[str, object]] = []
        doc.sections.append((w.heading(), section))
        for _ in range(w.rng.randint(1, 4)):
            kind = w.rng.choice(blocks)
            if kind == "p":
                section.append(("p", w.paragraph()))
            elif kind == "ul":
                section.append(("ul", [w.sentence() for _ in range(w.rng.randint(2, 5))]))
            elif kind == "table":
                section.append(("table", w.table()))
            else:
                section.append(("code", f"$ {w.rng.choice(ENGLISH).lower()} --config /etc/app/{w.noun()}.yaml"))
            if doc.text_bytes() >= target:
                break
    return doc


# --- writers, one per format ---------------------------------------------------------------

def _plain(doc: Doc, heading_mark: str) -> str:
    out = [f"{doc.title}", ""]
    for heading, blocks in doc.sections:
        out += [f"{heading_mark}{heading}", ""]
        for kind, content in blocks:
            if kind == "ul":
                out += [f"・{item}" for item in content]
            elif kind == "table":
                out += ["\t".join(row) for row in content]
            else:
                out.append(str(content))
            out.append("")
    return "\n".join(out)


def write_txt(path: Path, doc: Doc, rng: random.Random) -> None:
    codec = rng.choices(("utf-8", "cp932", "euc_jp"), (70, 15, 15))[0]
    path.write_bytes(_plain(doc, "■ ").encode(codec))


def write_md(path: Path, doc: Doc, rng: random.Random) -> None:
    out = [f"# {doc.title}", ""]
    for i, (heading, blocks) in enumerate(doc.sections):
        out += [f"{'##' if i % 3 == 0 else '###'} {heading}", ""]
        for kind, content in blocks:
            if kind == "ul":
                out += [f"- {item}" for item in content]
            elif kind == "table":
                out += ["| " + " | ".join(content[0]) + " |", "|" + "---|" * len(content[0])]
                out += ["| " + " | ".join(row) + " |" for row in content[1:]]
            elif kind == "code":
                out += ["```sh", str(content), "```"]
            else:
                out.append(str(content))
            out.append("")
    path.write_text("\n".join(out), encoding="utf-8")


def write_html(path: Path, doc: Doc, rng: random.Random) -> None:
    from html import escape

    codec = "shift_jis" if rng.random() < 0.15 else "utf-8"
    out = ["<!DOCTYPE html>", '<html lang="ja"><head>', f'<meta charset="{codec.replace("_", "-").upper()}">',
           f"<title>{escape(doc.title)}</title>", "<style>body { font-family: sans-serif; }</style>",
           "<script>window.dataLayer = [];</script>", "</head><body>",
           "<nav><a href='/'>ホーム</a> | <a href='/docs'>ドキュメント</a></nav>", f"<h1>{escape(doc.title)}</h1>"]
    for heading, blocks in doc.sections:
        out.append(f"<h2>{escape(heading)}</h2>")
        for kind, content in blocks:
            if kind == "ul":
                out.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in content) + "</ul>")
            elif kind == "table":
                out.append("<table>" + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                                               for row in content) + "</table>")
            elif kind == "code":
                out.append(f"<pre><code>{escape(str(content))}</code></pre>")
            else:
                out.append(f"<p>{escape(str(content))}</p>")
    out.append("<footer>Copyright 株式会社サンプル</footer></body></html>")
    path.write_bytes("\n".join(out).encode(codec))


def write_csv(path: Path, doc: Doc, rng: random.Random) -> None:
    rows = [["ID", "項目", "設定値", "説明", "更新日"]]
    w = Writer(rng, doc.marker)
    rows.append(["1", doc.marker, "1", f"「{doc.marker}」の設定。", "2024-04-01"])
    target = doc.text_bytes()
    size = 0
    while size < target:
        row = [str(len(rows)), w.noun(), f"{w.number()}{rng.choice(UNITS)}", w.sentence(),
               f"{rng.randint(2019, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"]
        rows.append(row)
        size += sum(len(c.encode()) for c in row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    path.write_bytes(out.getvalue().encode("cp932" if rng.random() < 0.3 else "utf-8"))


def write_docx(path: Path, doc: Doc, rng: random.Random) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = doc.title
    document.add_heading(doc.title, level=0)
    for i, (heading, blocks) in enumerate(doc.sections):
        document.add_heading(heading, level=1 if i % 3 == 0 else 2)
        for kind, content in blocks:
            if kind == "ul":
                for item in content:
                    document.add_paragraph(item, style="List Bullet")
            elif kind == "table":
                table = document.add_table(rows=len(content), cols=len(content[0]))
                for r, row in enumerate(content):
                    for c, value in enumerate(row):
                        table.cell(r, c).text = value
            else:
                document.add_paragraph(str(content))
    document.save(str(path))


def write_pptx(path: Path, doc: Doc, rng: random.Random) -> None:
    from pptx import Presentation

    prs = Presentation()
    prs.core_properties.title = doc.title
    slide = prs.slides.add_slide(prs.slide_layouts[0])
    slide.shapes.title.text = doc.title
    slide.placeholders[1].text = f"「{doc.marker}」説明資料"
    for heading, blocks in doc.sections:
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = heading
        lines = [item for kind, c in blocks if kind == "ul" for item in c]
        lines += [s + "。" for kind, c in blocks if kind == "p" for s in str(c).split("。") if s][:6]
        slide.placeholders[1].text_frame.text = "\n".join(lines) or heading
        rest = [str(c) for kind, c in blocks if kind in ("p", "code")]
        if rest:
            slide.notes_slide.notes_text_frame.text = "\n".join(rest)
    prs.save(str(path))


def write_pdf(path: Path, doc: Doc, rng: random.Random) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    font = "HeiseiKakuGo-W5"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    c = canvas.Canvas(str(path), invariant=1)
    c.setTitle(doc.title)
    width, height = 595, 842
    y = height - 72

    def line(text: str, size: int) -> None:
        nonlocal y
        while text:
            n = len(text)
            while pdfmetrics.stringWidth(text[:n], font, size) > width - 144:
                n = max(1, int(n * 0.9))
            if y < 72:
                c.showPage()
                y = height - 72
            c.setFont(font, size)
            c.drawString(72, y, text[:n])
            y -= size * 1.6
            text = text[n:]

    line(doc.title, 16)
    for heading, blocks in doc.sections:
        line(heading, 14)
        for kind, content in blocks:
            items = content if kind == "ul" else ["  ".join(row) for row in content] if kind == "table" else [content]
            for item in items:
                line(str(item), 10)
    c.showPage()
    c.save()


WRITERS = {"txt": write_txt, "md": write_md, "html": write_html, "csv": write_csv, "docx": write_docx,
           "pptx": write_pptx, "pdf": write_pdf}


# --- the corpus ------------------------------------------------------------------------------

@dataclass
class Corpus:
    folder: Path
    manifest: dict  # {"version", "files": [{"path" (relative), "format", "text_bytes", "marker"}], ...}

    @property
    def files(self) -> list[dict]:
        return self.manifest["files"]

    def subset(self, n: int, folder: Path) -> Path:
        """A copy of the first n files (in manifest order, so of mixed formats) under `folder`, made once."""
        if not folder.exists():
            tmp = folder.with_name(folder.name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            for entry in self.files[:n]:
                (tmp / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.folder / entry["path"], tmp / entry["path"])
            tmp.rename(folder)
        return folder


def plan(n_files: int, seed: int = 1) -> list[tuple[str, int]]:
    """(format, target text bytes) per file: formats in their shares, sizes log-normal, scaled to the mean."""
    rng = random.Random(seed)
    weights = [w for _, w in FORMATS]
    counts = [n_files * w // sum(weights) for w in weights]
    counts[0] += n_files - sum(counts)
    formats = [fmt for (fmt, _), k in zip(FORMATS, counts) for _ in range(k)]
    rng.shuffle(formats)
    sigma = 0.8
    sizes = [min(60_000, max(400, rng.lognormvariate(math.log(TEXT_BYTES_PER_FILE) - sigma ** 2 / 2, sigma)))
             for _ in range(n_files)]
    scale = TEXT_BYTES_PER_FILE * n_files / sum(sizes)
    return [(fmt, int(size * scale)) for fmt, size in zip(formats, sizes)]


def generate(folder: Path, n_files: int) -> dict:
    files = []
    for index, (fmt, target) in enumerate(plan(n_files)):
        rng = random.Random(f"{VERSION}/{index}")
        marker = marker_for(index)
        writer = Writer(rng, marker)
        doc = make_doc(writer, target)
        sub = folder / FOLDERS[index % len(FOLDERS)]
        sub.mkdir(parents=True, exist_ok=True)
        stem = f"{writer.product}_{index:04d}" if index % 3 else f"doc-{index:04d}"
        path = sub / f"{stem}.{fmt}"
        WRITERS[fmt](path, doc, rng)
        files.append({"path": str(path.relative_to(folder)), "format": fmt, "text_bytes": doc.text_bytes(),
                      "marker": marker, "disk_bytes": path.stat().st_size})
    return {"version": VERSION, "n_files": n_files, "files": files,
            "text_bytes": sum(f["text_bytes"] for f in files), "disk_bytes": sum(f["disk_bytes"] for f in files)}


def ensure_corpus(cache: Path, n_files: int = 2000) -> Corpus:
    """The corpus of n_files under `cache`, generated on first use."""
    folder = Path(cache) / f"{VERSION}-{n_files}"
    manifest_file = folder.with_name(folder.name + ".json")
    if folder.is_dir() and manifest_file.exists():
        return Corpus(folder, json.loads(manifest_file.read_text(encoding="utf-8")))
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.mkdir(parents=True)
    manifest = generate(tmp, n_files)
    tmp.rename(folder)
    manifest_file.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return Corpus(folder, manifest)
