#!/usr/bin/env python3
"""Render the README's conversation screenshot: a three-turn Japanese thread in the main window, a
follow-up rewritten, and a PDF citation open on its page with the cited line marked.

    Xvfb :98 -screen 0 1400x900x24 & DISPLAY=:98 openbox &
    DISPLAY=:98 .venv/bin/python scripts/screenshot_conversation.py [--out docs/screenshots/conversation.png]

The library (Markdown, text and a PDF) is real and searched for real; the answers come from the
test suite's scripted stand-in model (tests/core/scripted_chat.py), because the suite's tiny
models cannot write three sensible Japanese answers. The window, the rewrite step, the thread,
the links and the page rendering are the app's own. The picture is the whole X screen, taken
with ImageMagick's `import`, so the window manager's frame is in it. Needs fonts-ipafont-gothic.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = {
    "施設案内.md": "# 東京タワー\n\n東京タワーの高さは333メートルです。展望台は150メートルと250メートルの二つです。",
    "沿革.txt": "東京タワーは1958年に完成しました。当時は自立式鉄塔として世界一の高さでした。",
}
PDF_PAGES = ["点検マニュアル 第1版", "塗装の塗り替えは5年ごとに行います。", "点検は毎年春と秋の二回行います。"]
TURNS = [  # question, scripted answer, rewrite (for a follow-up)
    ("東京タワーの高さは？", "東京タワーの高さは**333メートル**です[1]。展望台は150メートルと250メートルにあります[1]。", None),
    ("それはいつ完成しましたか？", "東京タワーは**1958年**に完成しました[1]。当時は自立式鉄塔として世界一の高さでした[1]。",
     "東京タワーはいつ完成しましたか？"),
    ("塗装の塗り替えの周期は？", "塗装の塗り替えは**5年ごと**に行われます[1]。", None),
]


def write_pdf(path: Path) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("IPAGothic", "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"))
    c = canvas.Canvas(str(path))
    for n, text in enumerate(PDF_PAGES, 1):
        c.setFont("IPAGothic", 20)
        c.drawString(72, 760, f"東京タワー 点検マニュアル（{n}）")
        c.setFont("IPAGothic", 13)
        c.drawString(72, 700, text)
        c.drawString(72, 670, "作業の前に、責任者の承認を得てください。")
        c.showPage()
    c.save()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "conversation.png")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="ippon-conversation-"))
    os.environ.update(IPPON_HOME=str(work / "home"), IPPON_LANG="ja")
    library = work / "ライブラリ"
    library.mkdir()
    for name, text in DOCS.items():
        (library / name).write_text(text, encoding="utf-8")
    write_pdf(library / "点検マニュアル.pdf")

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QSplitter

    from app.config import Config
    from app.core.service import IpponService
    from app.gui.app import application, wait_until
    from app.gui.main_window import MainWindow
    from tests.core.scripted_chat import ScriptedChat

    app = application()
    service = IpponService(Config(data_dir=work / "home", models_dir=work / "models", llm="scripted"))
    service.add([library])
    service._llm = ScriptedChat(answers=[t[1] for t in TURNS], rewrites=[t[2] for t in TURNS if t[2]])
    window = MainWindow(service, settings=QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat))
    window.resize(1360, 820)
    window.move(20, 20)
    window.show()
    wait_until(lambda: window.ask_panel.library_files > 0, 10_000)
    for question, _answer, _rewrite in TURNS:
        done = []
        window.controller.finished.connect(done.append)
        window.ask_panel.question.setText(question)
        window.ask_panel.submit()
        wait_until(lambda: bool(done) and not window.controller.busy, 30_000)
        window.controller.finished.disconnect(done.append)
    window.ask_panel.question.clear()
    window.ask_panel.status.clear()  # the stand-in model's timings mean nothing
    window.centralWidget().setSizes([170, 210, 980])
    window.ask_panel.findChild(QSplitter).setSizes([520, 460])
    wait_until(lambda: False, 300)  # the new sizes are laid out before the page is rendered to fit
    window.thread_session.show_citation(len(TURNS) - 1, 1)  # what clicking the last answer's [1] does
    wait_until(lambda: False, 1500)  # the window manager maps and paints
    args.out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["import", "-display", os.environ.get("DISPLAY", ":98"), "-window", "root", str(args.out)],
                   check=True)
    print(f"wrote {args.out}")
    window.close()
    service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
