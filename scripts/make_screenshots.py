#!/usr/bin/env python3
"""Render the README's screenshots: the main window with a library, the ask view with a streamed
Japanese answer and its citation, and the quick-ask window.

    xvfb-run -a .venv/bin/python scripts/make_screenshots.py [--out docs/screenshots]

It builds the suite's tiny models (the chat model trained to answer one library question),
converts the chat model to GGUF, fills a demo library in a temporary IPPON_HOME and runs
`ippon gui --screenshot` for each view, with the Japanese UI. Needs a CJK font
(fonts-ipafont-gothic) for the Japanese to render.
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
    "fuji.md": "# 富士山\n\n富士山の標高は3776メートルです。静岡県と山梨県にまたがります。",
    "port.txt": "サーバーのポート番号は8080です。",
    "manual/backup.md": "# バックアップ\n\n## 手順\n\nデータベースのバックアップは毎日午前3時に実行されます。"
                        "復元には管理画面の「復元」ボタンを使います。",
    "manual/setup.md": "# 初期設定\n\n設定ファイル config.toml を開き、ポート番号とデータフォルダを指定します。",
    "notes/meeting.txt": "来週の会議では新製品の価格設定について議論します。議事録は共有フォルダに保存してください。",
    "notes/empty.txt": "",
}
QUESTION = "富士山の標高は？"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_test_models

    from converters import convert

    work = Path(tempfile.mkdtemp(prefix="ippon-shots-"))
    models = make_test_models.build_test_models(work / "models")
    llm = convert(models["llm-chat"], to="gguf", quant="f16", out=work / "llm-chat.gguf").output
    library = work / "ライブラリ"
    for name, text in DOCS.items():
        (library / name).parent.mkdir(parents=True, exist_ok=True)
        (library / name).write_text(text, encoding="utf-8")
    home = work / "home"
    home.mkdir()
    (home / "config.toml").write_text(f'llm = "{llm}"\n', encoding="utf-8")
    env = {**os.environ, "IPPON_HOME": str(home), "IPPON_LANG": "ja", "MLX_DISABLE_COMPILE": "1"}
    ippon = [sys.executable, "-m", "app.launcher"]
    subprocess.run([*ippon, "add", str(library)], env=env, cwd=ROOT, check=True)
    args.out.mkdir(parents=True, exist_ok=True)
    for view, extra in (("main", []), ("ask", ["--question", QUESTION]), ("quick", ["--question", QUESTION])):
        size = ["--size", "640x400"] if view == "quick" else []
        subprocess.run([*ippon, "gui", "--screenshot", str(args.out / f"{view}.png"), "--view", view, *extra, *size],
                       env=env, cwd=ROOT, check=True)
        print(f"wrote {args.out / f'{view}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
