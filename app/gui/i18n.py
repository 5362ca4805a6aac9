"""Japanese for the window, through Qt's own translation hook (widgets call self.tr("English text")).

A QTranslator subclass answers from this table, so there is no .qm build step; Japanese is
chosen when the system locale is Japanese (or IPPON_LANG=ja), English otherwise.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QLocale, QTranslator

JA = {
    "Status": "状態", "Chunks": "チャンク", "File": "ファイル", "Error": "エラー",
    "Add…": "追加…", "Remove": "削除", "Watch folders": "フォルダを監視",
    "Follow edits, renames and deletions in the library's folders": "フォルダ内の編集・名前変更・削除を追跡します",
    "Drop folders or files here to add them to the library.": "フォルダやファイルをここにドロップしてライブラリに追加します。",
    "indexed": "登録済み", "failed": "失敗",
    "{files} files, {chunks} chunks, {failed} failed": "{files} ファイル・{chunks} チャンク・失敗 {failed}",
    "Ask your library… (Enter)": "ライブラリに質問…（Enter）", "Ask": "質問", "Stop": "停止",
    "Thinking off": "思考オフ", "Thinking on": "思考オン", "Thinking budget": "思考の上限", " tokens": " トークン",
    "Thinking": "思考", "Sources": "出典", "Open file": "ファイルを開く",
    "Searching…": "検索中…", "Answering…": "回答中…",
    "No answering model is set up yet; these are the search results.":
        "回答用のモデルがまだ設定されていません。検索結果を表示しています。",
    "first token {s:.1f} s": "最初のトークンまで {s:.1f} 秒", "{t:.1f} tokens/s": "{t:.1f} トークン/秒",
    "Ippon quick ask": "Ippon クイック質問", "Ask your library… (Enter; Esc to close)": "ライブラリに質問…（Enter・Esc で閉じる）",
    "Quick ask": "クイック質問", "Show Ippon": "Ippon を表示", "Quit": "終了",
    "This desktop has no system tray: open quick ask from the View menu or with Ctrl+Shift+Space.":
        "このデスクトップにはシステムトレイがありません。クイック質問は「表示」メニューか Ctrl+Shift+Space で開けます。",
    "Cancel": "キャンセル", "&File": "ファイル(&F)", "Add folder…": "フォルダを追加…", "Settings…": "設定…",
    "&View": "表示(&V)", "Add a folder to the library": "ライブラリに追加するフォルダ",
    "Still adding files; try again when it is done.": "追加中です。終わってからもう一度お試しください。",
    "Adding…": "追加中…", "Cancelling…": "キャンセル中…", "files": "ファイル", "vectors": "ベクトル",
    ", {s:.0f} s left": "・残り {s:.0f} 秒",
    "{added} added, {updated} updated, {unchanged} unchanged, {failed} failed":
        "追加 {added}・更新 {updated}・変更なし {unchanged}・失敗 {failed}",
    " (cancelled; add again to finish)": "（キャンセルしました。もう一度追加すると続きから処理します）",
    "Settings": "設定", "Data folder": "データフォルダ", "Set IPPON_HOME to use another data folder":
        "別のデータフォルダを使うには IPPON_HOME を設定します",
    "Answering model (LLM)": "回答モデル（LLM）", "Embedder": "埋め込みモデル", "Reranker": "リランカー",
    "a .gguf file, an MLX folder, or a model name on the server": ".gguf ファイル、MLX フォルダ、またはサーバー上のモデル名",
    "Browse…": "参照…", "Backend": "バックエンド", "Server URL": "サーバー URL", "Sources per answer": "回答に使う出典数",
    "Chunk size (tokens)": "チャンクの大きさ（トークン）", "Threads": "スレッド数", "automatic": "自動",
    "Choose a model": "モデルを選択",
    "Models": "モデル", "Models…": "モデル…", "Role": "役割", "Model": "モデル", "Format": "形式", "Why": "理由",
    "Download and use the recommended models": "おすすめのモデルをダウンロードして使う",
    "Name": "名前", "Kind": "種類", "Size": "サイズ", "In use": "使用中", "Use": "使う", "Import…": "読み込み…",
    "Recommended for this machine": "このマシンへのおすすめ", "Installed": "インストール済み",
    "Apple Silicon": "Apple シリコン", "not Apple Silicon": "Apple シリコン以外",
    "{ram:.0f} GB memory, {chip}, {disk:.0f} GB free disk": "メモリ {ram:.0f} GB・{chip}・空きディスク {disk:.0f} GB",
    "Import a model": "モデルを読み込む",
    "No models yet: keyword search works; choose models to ask.":
        "モデルがまだありません。キーワード検索は使えます。質問するにはモデルを選んでください。",
}


class DictTranslator(QTranslator):
    def __init__(self, table: dict[str, str]) -> None:
        super().__init__()
        self.table = table

    def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str:
        return self.table.get(source, "")

    def isEmpty(self) -> bool:  # noqa: N802 - Qt's name
        return False


def wants_japanese() -> bool:
    chosen = os.environ.get("IPPON_LANG")
    if chosen:
        return chosen.lower().startswith("ja")
    return QLocale.system().language() == QLocale.Language.Japanese


def translator() -> QTranslator | None:
    return DictTranslator(JA) if wants_japanese() else None
