#!/usr/bin/env python3
"""Render the README's screenshots of the desktop app, in Japanese and English, light and dark: the first
run (the model picker over an empty window), the library with its folders, an answer citing an image,
quick ask, and the Settings window.

    Xvfb :99 -screen 0 1280x800x24 &  DISPLAY=:99 openbox &
    DISPLAY=:99 .venv/bin/python scripts/make_screenshots.py [--out docs/screenshots] [--only ja-light] [--view settings]

Each picture is the whole X screen (ImageMagick's `import -window root`), so the window manager's frame
is in it, taken from a fresh process per language and theme. The library is real and searched for real
(Markdown, text, a spreadsheet Ippon skips, an empty file, a photo); the answers come from the test
suite's scripted stand-in model (tests/core/scripted_chat.py), because the suite's tiny models cannot
write a sensible Japanese answer about a photo. Needs fonts-ipafont-gothic.
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
    "富士山.md": "# 富士山\n\n富士山の標高は**3776メートル**です。静岡県と山梨県にまたがります。\n\n"
               "## 登山道\n\n- 吉田ルート\n- 富士宮ルート",
    "マニュアル/バックアップ.md": "# バックアップ\n\n## 手順\n\nデータベースのバックアップは毎日午前3時に実行されます。"
                          "復元には管理画面の「復元」ボタンを使います。",
    "マニュアル/初期設定.md": "# 初期設定\n\n設定ファイル config.toml を開き、ポート番号とデータフォルダを指定します。",
    "マニュアル/ポート.txt": "サーバーのポート番号は8080です。",
    "会議/議事録_0412.txt": "来週の会議では新製品の価格設定について議論します。議事録は共有フォルダに保存してください。",
    "会議/メモ.txt": "",
}
PHOTO = "写真/富士山の写真.png"
SKIPPED = "会議/予算表.xlsx"
QUESTIONS = {"ja": "富士山の標高と写真は？", "en": "富士山の標高と写真は？"}
ANSWER = ("富士山の標高は**3776メートル**です[1]。写真は山梨県側から見た富士山で、山頂付近に雪が残っています[2]。")
VIEWS = ("first-run", "library", "answer", "quick", "settings")
# What the Settings window shows in its picture: models installed the usual way, the image reranker among them.
SHOWN_MODELS = {"llm": "Qwen3-1.7B-Q4_K_M", "embedder": "Qwen3-Embedding-0.6B-Q8_0",
                "reranker": "Qwen3-Reranker-0.6B-Q8_0", "vision_reranker": "Qwen3-VL-Reranker-2B-Q8_0"}
VARIANTS = ("ja-light", "ja-dark", "en-light", "en-dark")


def write_photo(path: Path) -> None:
    """A drawn photo of Mt Fuji: sky, the mountain, its snow cap."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (960, 640))
    draw = ImageDraw.Draw(image)
    for y in range(640):  # the sky, lighter towards the horizon
        t = y / 640
        draw.line([(0, y), (960, y)], fill=(int(90 + 120 * t), int(150 + 80 * t), int(220 + 25 * t)))
    draw.polygon([(60, 640), (430, 170), (530, 170), (900, 640)], fill=(62, 78, 120))
    draw.polygon([(380, 235), (430, 170), (530, 170), (580, 235), (540, 220), (505, 250), (470, 222), (430, 252)],
                 fill=(246, 248, 252))
    draw.rectangle([(0, 560), (960, 640)], fill=(70, 110, 70))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def make_library(folder: Path) -> None:
    for name, text in DOCS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    (folder / SKIPPED).write_bytes(b"PK\x03\x04")
    write_photo(folder / PHOTO)


def grab(out: Path) -> None:
    subprocess.run(["import", "-display", os.environ["DISPLAY"], "-window", "root", str(out)], check=True)
    print(f"wrote {out}", flush=True)


def shoot(view: str, theme: str, work: Path, out: Path) -> int:
    """One picture, in this process (the language comes from IPPON_LANG, set by the caller)."""
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QSplitter

    from app.config import Config
    from app.core.service import IpponService
    from app.gui.app import application, wait_until
    from app.gui.main_window import MainWindow
    from tests.core.scripted_chat import ScriptedChat

    app = application()
    # Each language has its own library: the reasons a file failed are stored in the language of the ingest.
    home = work / ("empty-home" if view == "first-run" else f"home-{os.environ['IPPON_LANG']}")
    settings = QSettings(str(work / f"ui-{theme}-{view}.ini"), QSettings.Format.IniFormat)
    settings.setValue("look/theme", theme)
    settings.setValue("tray/fallback_announced", True)  # Xvfb has no tray; the one-time notice is not the point
    config = Config(data_dir=home, models_dir=work / "models", llm=None if view == "first-run" else "scripted")
    service = IpponService(config)
    if view != "first-run":
        service._llm = ScriptedChat(answers=[ANSWER])  # noqa: SLF001 - the stand-in answering model
    window = MainWindow(service, settings=settings)
    window.resize(1240, 760)
    window.move(10, 10)
    if view != "quick":
        window.show()
    wait_until(lambda: window.ask_panel.library_files >= 0 and not window.runner.busy, 20_000)
    if view == "first-run":
        window.first_run()
        dialog = window.models_dialog
        dialog.move(window.x() + 170, window.y() + 110)
    elif view == "library":
        window.sources_panel.tree.expandAll()
        window.centralWidget().setSizes([130, 640, 470])  # conversations, library, asking
        window.sources_panel.tree.setCurrentItem(window.sources_panel.tree.topLevelItem(0))
    elif view == "answer":
        done = []
        window.controller.finished.connect(done.append)
        window.ask_panel.question.setText(QUESTIONS["ja"])
        window.ask_panel.submit()
        wait_until(lambda: bool(done) and not window.controller.busy, 30_000)
        window.ask_panel.status.clear()  # the stand-in model's timings mean nothing
        panel = window.ask_panel
        row = next(i for i, c in enumerate(panel._citations) if c.path.endswith(".png"))  # noqa: SLF001
        panel.citations.setCurrentRow(row)
        window.centralWidget().setSizes([150, 360, 730])
        panel.findChild(QSplitter).setSizes([400, 330])
    elif view == "settings":
        from app.gui.settings_dialog import SettingsDialog

        models = work / "models"
        shown = Config(data_dir=home, models_dir=models,
                       **{key: str(models / name / f"{name}.gguf") for key, name in SHOWN_MODELS.items()})
        dialog = SettingsDialog(shown, window)
        dialog.show()
        dialog.move(window.x() + 200, window.y() + 40)
    elif view == "quick":
        quick = window.quick_ask
        done = []
        quick.controller.finished.connect(done.append)
        quick.show_and_focus()
        quick.question.setText(QUESTIONS["ja"])
        quick.submit()
        wait_until(lambda: bool(done) and not quick.controller.busy, 30_000)
    wait_until(lambda: False, 1500)  # the window manager maps and paints
    grab(out)
    window.quit_app()
    service.close()
    del app
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--only", choices=VARIANTS, action="append", help="only these language-theme pairs")
    ap.add_argument("--view", choices=VIEWS, action="append", help="only these views")
    ap.add_argument("--shot", nargs=4, metavar=("VIEW", "THEME", "WORK", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if "DISPLAY" not in os.environ:
        ap.error("run under an X server with a window manager (see the usage above)")
    if args.shot:
        view, theme, work, out = args.shot
        return shoot(view, theme, Path(work), Path(out))

    work = Path(tempfile.mkdtemp(prefix="ippon-shots-"))
    library = work / "ライブラリ"
    make_library(library)
    env = {**os.environ, "MLX_DISABLE_COMPILE": "1"}
    for lang in sorted({v.split("-")[0] for v in args.only or VARIANTS}):
        subprocess.run([sys.executable, "-m", "app.launcher", "add", str(library)], cwd=ROOT, check=True,
                       env={**env, "IPPON_HOME": str(work / f"home-{lang}"), "IPPON_LANG": lang},
                       stdout=subprocess.DEVNULL)
    args.out.mkdir(parents=True, exist_ok=True)
    for variant in args.only or VARIANTS:
        lang, theme = variant.split("-")
        for view in args.view or VIEWS:
            out = args.out / f"{view}-{variant}.png"
            subprocess.run([sys.executable, __file__, "--shot", view, theme, str(work), str(out)],
                           env={**env, "IPPON_LANG": lang, "LANG": "ja_JP.UTF-8" if lang == "ja" else "en_US.UTF-8"},
                           cwd=ROOT, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
