<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP">
<context>
    <name>AnswerActions</name>
    <message>
        <source>Copy answer with sources</source>
        <translation>回答を出典付きでコピー</translation>
    </message>
    <message>
        <source>Regenerate</source>
        <translation>もう一度回答</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
</context>
<context>
    <name>AskPanel</name>
    <message>
        <source>Ask your library… (Enter)</source>
        <translation>ライブラリに質問…（Enter）</translation>
    </message>
    <message>
        <source>Ask</source>
        <translation>質問</translation>
    </message>
    <message>
        <source>Thinking off</source>
        <translation>思考オフ</translation>
    </message>
    <message>
        <source>Thinking on</source>
        <translation>思考オン</translation>
    </message>
    <message>
        <source>Thinking budget</source>
        <translation>思考の上限</translation>
    </message>
    <message>
        <source> tokens</source>
        <translation> トークン</translation>
    </message>
    <message>
        <source>Thinking</source>
        <translation>思考</translation>
    </message>
    <message>
        <source>Open file</source>
        <translation>ファイルを開く</translation>
    </message>
    <message>
        <source>Sources</source>
        <translation>出典</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>検索中…</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Answering…</source>
        <translation>回答中…</translation>
    </message>
    <message>
        <source>{n} of {total} candidates reranked</source>
        <translation>候補 {total} 件中 {n} 件を再ランク付け</translation>
    </message>
    <message>
        <source>No answering model is set up yet; these are the search results.</source>
        <translation type="vanished">回答用のモデルがまだ設定されていません。検索結果を表示しています。</translation>
    </message>
    <message>
        <source>first token {s:.1f} s</source>
        <translation>最初のトークンまで {s:.1f} 秒</translation>
    </message>
    <message>
        <source>{t:.1f} tokens/s</source>
        <translation>{t:.1f} トークン/秒</translation>
    </message>
</context>
<context>
    <name>ConversationView</name>
    <message>
        <source>(the answer was interrupted)</source>
        <translation>（回答は途中で中断されました）</translation>
    </message>
    <message>
        <source> (p.{page})</source>
        <translation>（{page} ページ）</translation>
    </message>
    <message>
        <source>cited</source>
        <translation>引用あり</translation>
    </message>
    <message>
        <source>given, not cited</source>
        <translation>渡したが引用なし</translation>
    </message>
</context>
<context>
    <name>GlobalHotkey</name>
    <message>
        <source>no desktop to listen to ({platform})</source>
        <translation>聞き取るデスクトップがありません（{platform}）</translation>
    </message>
    <message>
        <source>the desktop offers no system-wide keys here ({reason})</source>
        <translation>このデスクトップではシステム全体のショートカットを使えません（{reason}）</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>chunks</source>
        <translation>チャンク</translation>
    </message>
    <message>
        <source>{path}: the file is no longer there (moved, renamed or deleted?); add its new place to the library</source>
        <translation>{path}: ファイルが見つかりません（移動・名前変更・削除された可能性があります）。新しい場所をライブラリに追加してください</translation>
    </message>
    <message>
        <source>{path}: no application could open this file</source>
        <translation>{path}: このファイルを開けるアプリケーションがありません</translation>
    </message>
    <message>
        <source>Computing vectors…</source>
        <translation>ベクトルを計算中…</translation>
    </message>
    <message>
        <source>Updating the keyword index…</source>
        <translation>キーワード索引を更新中…</translation>
    </message>
    <message>
        <source>Keyword index updated: parts of compound words and other spellings of a word are found now.</source>
        <translation>キーワード索引を更新しました。複合語の一部や別の表記でも見つかるようになりました。</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>キャンセル</translation>
    </message>
    <message>
        <source>No models yet: keyword search works; choose models to ask.</source>
        <translation>モデルがまだありません。キーワード検索は使えます。質問するにはモデルを選んでください。</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>ファイル(&amp;F)</translation>
    </message>
    <message>
        <source>Add folder…</source>
        <translation>フォルダを追加…</translation>
    </message>
    <message>
        <source>Models…</source>
        <translation>モデル…</translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation>設定…</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>終了</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>表示(&amp;V)</translation>
    </message>
    <message>
        <source>Quick ask</source>
        <translation>クイック質問</translation>
    </message>
    <message>
        <source>Ask</source>
        <translation>質問</translation>
    </message>
    <message>
        <source>Add a folder to the library</source>
        <translation>ライブラリに追加するフォルダ</translation>
    </message>
    <message>
        <source>Still adding files; try again when it is done.</source>
        <translation>追加中です。終わってからもう一度お試しください。</translation>
    </message>
    <message>
        <source>Adding…</source>
        <translation>追加中…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>キャンセル中…</translation>
    </message>
    <message>
        <source>files</source>
        <translation>ファイル</translation>
    </message>
    <message>
        <source>vectors</source>
        <translation>ベクトル</translation>
    </message>
    <message>
        <source>, {s:.0f} s left</source>
        <translation>・残り {s:.0f} 秒</translation>
    </message>
    <message>
        <source>{added} added, {updated} updated, {unchanged} unchanged, {failed} failed</source>
        <translation>追加 {added}・更新 {updated}・変更なし {unchanged}・失敗 {failed}</translation>
    </message>
    <message>
        <source> (cancelled; add again to finish)</source>
        <translation>（キャンセルしました。もう一度追加すると続きから処理します）</translation>
    </message>
    <message>
        <source>Vectors: {n} computed; search now uses meaning as well as words.</source>
        <translation>ベクトル: {n} 件を計算しました。検索は語句に加えて意味でも探します。</translation>
    </message>
    <message>
        <source>Vectors: stopped; they continue the next time you add files.</source>
        <translation>ベクトル: 中断しました。次にファイルを追加したときに続きから計算します。</translation>
    </message>
    <message>
        <source>New conversation</source>
        <translation>新しい会話</translation>
    </message>
    <message>
        <source>Conversations</source>
        <translation>会話</translation>
    </message>
</context>
<context>
    <name>ModelsDialog</name>
    <message>
        <source>Models</source>
        <translation>モデル</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>役割</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <source>Format</source>
        <translation>形式</translation>
    </message>
    <message>
        <source>Why</source>
        <translation>理由</translation>
    </message>
    <message>
        <source>Download and use the recommended models</source>
        <translation>おすすめのモデルをダウンロードして使う</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名前</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>種類</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>サイズ</translation>
    </message>
    <message>
        <source>In use</source>
        <translation>使用中</translation>
    </message>
    <message>
        <source>Use</source>
        <translation>使う</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>削除</translation>
    </message>
    <message>
        <source>Import…</source>
        <translation>読み込み…</translation>
    </message>
    <message>
        <source>A .gguf file, an MLX folder, or a Hugging Face checkpoint folder (converted for this machine)</source>
        <translation>.gguf ファイル、MLX フォルダ、または Hugging Face のチェックポイントフォルダ（このマシン用に変換します）</translation>
    </message>
    <message>
        <source>A .gguf file…</source>
        <translation>.gguf ファイル…</translation>
    </message>
    <message>
        <source>A model folder (MLX or Hugging Face)…</source>
        <translation>モデルフォルダ（MLX または Hugging Face）…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>キャンセル</translation>
    </message>
    <message>
        <source>Recommended for this machine</source>
        <translation>このマシンへのおすすめ</translation>
    </message>
    <message>
        <source>Installed and in use</source>
        <translation>インストール済み・使用中</translation>
    </message>
    <message>
        <source>Image reranker</source>
        <translation>画像リランカー</translation>
    </message>
    <message>
        <source>Image embedder</source>
        <translation>画像埋め込みモデル</translation>
    </message>
    <message>
        <source>Answering (LLM)</source>
        <translation>回答（LLM）</translation>
    </message>
    <message>
        <source>Embedder</source>
        <translation>埋め込みモデル</translation>
    </message>
    <message>
        <source>Reranker</source>
        <translation>リランカー</translation>
    </message>
    <message>
        <source>{name} is set by its path in Settings; change or clear it there (File → Settings…).</source>
        <translation>{name} は設定でパスを指定しています。変更・解除は設定（ファイル → 設定…）で行ってください。</translation>
    </message>
    <message>
        <source>Import a model folder (MLX or Hugging Face)</source>
        <translation>モデルフォルダを読み込む（MLX または Hugging Face）</translation>
    </message>
    <message>
        <source>Importing {name}…</source>
        <translation>{name} を読み込み中…</translation>
    </message>
    <message>
        <source>Installed {name} ({kind}). Select it and click Use to use it.</source>
        <translation>{name}（{kind}）をインストールしました。選んで「使う」を押すと使えます。</translation>
    </message>
    <message>
        <source>Downloading…</source>
        <translation>ダウンロード中…</translation>
    </message>
    <message>
        <source>This machine cannot reach the model hub, so nothing can be downloaded now. If you have a model already (a .gguf file, an MLX folder or a Hugging Face checkpoint folder), click Import… above and choose it.</source>
        <translation>モデルハブに接続できないため、今はダウンロードできません。モデルを持っている場合（.gguf ファイル、MLX フォルダ、Hugging Face のチェックポイントフォルダ）は、上の「読み込み…」を押して選んでください。</translation>
    </message>
    <message>
        <source>Converting for this machine…</source>
        <translation>このマシン用に変換中…</translation>
    </message>
    <message>
        <source>Installed</source>
        <translation type="vanished">インストール済み</translation>
    </message>
    <message>
        <source>Apple Silicon</source>
        <translation>Apple シリコン</translation>
    </message>
    <message>
        <source>not Apple Silicon</source>
        <translation>Apple シリコン以外</translation>
    </message>
    <message>
        <source>{ram:.0f} GB memory, {chip}, {disk:.0f} GB free disk</source>
        <translation>メモリ {ram:.0f} GB・{chip}・空きディスク {disk:.0f} GB</translation>
    </message>
    <message>
        <source>folder</source>
        <translation>フォルダ</translation>
    </message>
    <message>
        <source>on the server</source>
        <translation>サーバー上</translation>
    </message>
    <message>
        <source>{role} (set in Settings)</source>
        <translation>{role}（設定で指定）</translation>
    </message>
    <message>
        <source>Import a model</source>
        <translation>モデルを読み込む</translation>
    </message>
</context>
<context>
    <name>ModelsStatus</name>
    <message>
        <source>The models in use; click to change them</source>
        <translation>使用中のモデル（クリックで変更）</translation>
    </message>
    <message>
        <source>LLM: {llm} · Embedder: {embedder} · Reranker: {reranker}</source>
        <translation>LLM: {llm}・埋め込み: {embedder}・リランカー: {reranker}</translation>
    </message>
    <message>
        <source>on {device}</source>
        <translation>{device} で実行</translation>
    </message>
</context>
<context>
    <name>QuickAskWindow</name>
    <message>
        <source>Ippon quick ask</source>
        <translation>Ippon クイック質問</translation>
    </message>
    <message>
        <source>Ask your library… (Enter; Esc to close)</source>
        <translation>ライブラリに質問…（Enter・Esc で閉じる）</translation>
    </message>
    <message>
        <source>Click a source to open it</source>
        <translation>出典をクリックすると開きます</translation>
    </message>
    <message>
        <source>No answering model is set up yet; these are the search results.</source>
        <translation type="vanished">回答用のモデルがまだ設定されていません。検索結果を表示しています。</translation>
    </message>
</context>
<context>
    <name>ServeSwitch</name>
    <message>
        <source>Serve the library to other apps (OpenAI-compatible API and MCP)</source>
        <translation>ライブラリをほかのアプリに提供する（OpenAI 互換 API と MCP）</translation>
    </message>
    <message>
        <source>Only this computer can connect (127.0.0.1), and only with the key</source>
        <translation>接続できるのはこのコンピューター（127.0.0.1）から、キーを使う場合だけです</translation>
    </message>
    <message>
        <source>Copy key</source>
        <translation>キーをコピー</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>起動中…</translation>
    </message>
    <message>
        <source>API: {url}/v1 · MCP: {url}/mcp · send the key as Authorization: Bearer</source>
        <translation>API: {url}/v1 · MCP: {url}/mcp · キーは Authorization: Bearer で送ります</translation>
    </message>
    <message>
        <source>The server could not start: {reason}</source>
        <translation>サーバーを起動できませんでした: {reason}</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>オフ</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Local API</source>
        <translation>ローカル API</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>設定</translation>
    </message>
    <message>
        <source>Set IPPON_HOME to use another data folder</source>
        <translation>別のデータフォルダを使うには IPPON_HOME を設定します</translation>
    </message>
    <message>
        <source>Data folder</source>
        <translation>データフォルダ</translation>
    </message>
    <message>
        <source>Answering model (LLM)</source>
        <translation>回答モデル（LLM）</translation>
    </message>
    <message>
        <source>Embedder</source>
        <translation>埋め込みモデル</translation>
    </message>
    <message>
        <source>Reranker</source>
        <translation>リランカー</translation>
    </message>
    <message>
        <source>a .gguf file, an MLX folder, or a model name on the server</source>
        <translation>.gguf ファイル、MLX フォルダ、またはサーバー上のモデル名</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>参照…</translation>
    </message>
    <message>
        <source>Backend</source>
        <translation>バックエンド</translation>
    </message>
    <message>
        <source>A .gguf file needs its projector, mmproj-&lt;file name&gt;, beside it.</source>
        <translation>.gguf ファイルの場合は、同じ場所にプロジェクター mmproj-&lt;ファイル名&gt; が必要です。</translation>
    </message>
    <message>
        <source>Image reranker (Qwen3-VL)</source>
        <translation>画像リランカー（Qwen3-VL）</translation>
    </message>
    <message>
        <source>Qwen3-VL-Reranker: judges images and PDF pages by their pixels when it reranks.</source>
        <translation>Qwen3-VL-Reranker: 並べ替えのときに、画像と PDF のページを画素で判定します。</translation>
    </message>
    <message>
        <source>Image embedder (Qwen3-VL)</source>
        <translation>画像埋め込みモデル（Qwen3-VL）</translation>
    </message>
    <message>
        <source>Qwen3-VL-Embedding: vectors from the pixels of the library&apos;s images, computed when they are added, so that a question finds them by what they show.</source>
        <translation>Qwen3-VL-Embedding: ライブラリの画像を追加したときに画素からベクトルを計算し、写っている内容で質問から見つけられるようにします。</translation>
    </message>
    <message>
        <source>Server URL</source>
        <translation>サーバー URL</translation>
    </message>
    <message>
        <source>Sources per answer</source>
        <translation>回答に使う出典数</translation>
    </message>
    <message>
        <source>Speed: first words in about 4 s</source>
        <translation>速さ優先: 約 4 秒で回答が始まる</translation>
    </message>
    <message>
        <source>Balanced: about 8 s</source>
        <translation>バランス: 約 8 秒</translation>
    </message>
    <message>
        <source>Quality: about 20 s, more sources reranked</source>
        <translation>質優先: 約 20 秒（より多くの候補を再ランク付け）</translation>
    </message>
    <message>
        <source>No limit: rerank every candidate</source>
        <translation>制限なし: すべての候補を再ランク付け</translation>
    </message>
    <message>
        <source>{s:g} s (config.toml)</source>
        <translation>{s:g} 秒（config.toml）</translation>
    </message>
    <message>
        <source>Ippon measures how fast this machine runs each model and reranks as many candidates as fit this time</source>
        <translation>Ippon はこのマシンで各モデルがどれだけ速く動くかを計測し、この時間に収まるだけの候補を再ランク付けします</translation>
    </message>
    <message>
        <source>Answer speed</source>
        <translation>回答の速さ</translation>
    </message>
    <message>
        <source>Chunk size (tokens)</source>
        <translation>チャンクの大きさ（トークン）</translation>
    </message>
    <message>
        <source>automatic</source>
        <translation>自動</translation>
    </message>
    <message>
        <source>Threads</source>
        <translation>スレッド数</translation>
    </message>
    <message>
        <source>Follow the system</source>
        <translation>システムに合わせる</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>ライト</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>ダーク</translation>
    </message>
    <message>
        <source>Appearance</source>
        <translation>外観</translation>
    </message>
    <message>
        <source>System size</source>
        <translation>システムの大きさ</translation>
    </message>
    <message>
        <source>{pt} pt</source>
        <translation>{pt} ポイント</translation>
    </message>
    <message>
        <source>Text size</source>
        <translation>文字の大きさ</translation>
    </message>
    <message>
        <source>Choose a model</source>
        <translation>モデルを選択</translation>
    </message>
</context>
<context>
    <name>SourcesPanel</name>
    <message>
        <source>Filter by name…</source>
        <translation>名前で絞り込む…</translation>
    </message>
    <message>
        <source>File</source>
        <translation>ファイル</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状態</translation>
    </message>
    <message>
        <source>Chunks</source>
        <translation>チャンク</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>理由</translation>
    </message>
    <message>
        <source>Add…</source>
        <translation>追加…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>削除</translation>
    </message>
    <message>
        <source>Watch folders</source>
        <translation>フォルダを監視</translation>
    </message>
    <message>
        <source>Follow edits, renames and deletions in the library&apos;s folders</source>
        <translation>フォルダ内の編集・名前変更・削除を追跡します</translation>
    </message>
    <message>
        <source>Your library is empty. Drop folders or files here, or click Add…, to search and ask them.</source>
        <translation>ライブラリは空です。フォルダやファイルをここにドロップするか「追加…」を押すと、検索や質問ができるようになります。</translation>
    </message>
    <message>
        <source>{files} files, {chunks} chunks, {failed} failed, {skipped} skipped</source>
        <translation>{files} ファイル・{chunks} チャンク・失敗 {failed}・対象外 {skipped}</translation>
    </message>
    <message>
        <source>indexed</source>
        <translation>登録済み</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失敗</translation>
    </message>
    <message>
        <source>skipped</source>
        <translation>対象外</translation>
    </message>
    <message>
        <source>Remove these from the library? The files on the disk are kept, and a removed file stays out of its folder&apos;s updates until you add it again.

{names}</source>
        <translation>これらをライブラリから削除しますか？ ディスク上のファイルは残ります。削除したファイルは、もう一度追加するまでフォルダの更新でも戻りません。

{names}</translation>
    </message>
    <message>
        <source>Remove from the library</source>
        <translation>ライブラリから削除</translation>
    </message>
</context>
<context>
    <name>StateMessages</name>
    <message>
        <source>Your library is empty, so there is nothing to answer from yet. &lt;a href=&apos;add&apos;&gt;Add a folder…&lt;/a&gt; or drop files onto the window.</source>
        <translation>ライブラリが空なので、まだ回答の元になる資料がありません。&lt;a href=&apos;add&apos;&gt;フォルダを追加…&lt;/a&gt;するか、ファイルをウィンドウにドロップしてください。</translation>
    </message>
    <message>
        <source>No answering model is set up yet; these are the search results. &lt;a href=&apos;models&apos;&gt;Choose a model…&lt;/a&gt;</source>
        <translation>回答用のモデルがまだ設定されていません。検索結果を表示しています。&lt;a href=&apos;models&apos;&gt;モデルを選ぶ…&lt;/a&gt;</translation>
    </message>
    <message>
        <source>Nothing in the library matches this question. Try other words or the terms the documents use, ask about one thing at a time, or check in the library that the file is indexed.</source>
        <translation>ライブラリにこの質問に合う資料がありません。別の言葉や資料で使われている用語で聞く、一度に一つのことを聞く、またはライブラリでファイルが登録済みか確かめてみてください。</translation>
    </message>
    <message>
        <source>The answer failed: {reason}. The search results stay listed under Sources. &lt;a href=&apos;models&apos;&gt;Check the models…&lt;/a&gt;</source>
        <translation>回答に失敗しました: {reason}。検索結果は「出典」に残っています。&lt;a href=&apos;models&apos;&gt;モデルを確認…&lt;/a&gt;</translation>
    </message>
    <message>
        <source>Stopped. Ask again to start over.</source>
        <translation>停止しました。もう一度質問すると最初からやり直します。</translation>
    </message>
</context>
<context>
    <name>ThreadSession</name>
    <message>
        <source>{path}: cannot write the export: {reason}</source>
        <translation>{path}: 書き出せません: {reason}</translation>
    </message>
</context>
<context>
    <name>ThreadsPanel</name>
    <message>
        <source>Conversations</source>
        <translation>会話</translation>
    </message>
    <message>
        <source>New</source>
        <translation>新規</translation>
    </message>
    <message>
        <source>Start a new conversation (Ctrl+N)</source>
        <translation>新しい会話を始めます（Ctrl+N）</translation>
    </message>
    <message>
        <source>Search conversations…</source>
        <translation>会話を検索…</translation>
    </message>
    <message>
        <source>Your questions and their answers are kept here.</source>
        <translation>質問と回答はここに残ります。</translation>
    </message>
    <message>
        <source>{title}
{turns} questions · {when}</source>
        <translation>{title}
質問 {turns} 件・{when}</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>名前を変更…</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>削除</translation>
    </message>
    <message>
        <source>Rename conversation</source>
        <translation>会話の名前を変更</translation>
    </message>
    <message>
        <source>Title:</source>
        <translation>題名:</translation>
    </message>
    <message>
        <source>Delete conversation</source>
        <translation>会話を削除</translation>
    </message>
    <message>
        <source>Delete this conversation? Its questions and answers are removed; the library is not touched.</source>
        <translation>この会話を削除しますか？質問と回答は消えますが、ライブラリはそのままです。</translation>
    </message>
    <message>
        <source>Export as Markdown…</source>
        <translation>Markdown で書き出す…</translation>
    </message>
    <message>
        <source>Export conversation</source>
        <translation>会話を書き出す</translation>
    </message>
    <message>
        <source>Markdown (*.md)</source>
        <translation>Markdown (*.md)</translation>
    </message>
</context>
<context>
    <name>TrayController</name>
    <message>
        <source>Quick ask</source>
        <translation>クイック質問</translation>
    </message>
    <message>
        <source>Show Ippon</source>
        <translation>Ippon を表示</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>終了</translation>
    </message>
    <message>
        <source>This desktop has no system tray: open quick ask from the View menu or with Ctrl+Shift+Space.</source>
        <translation>このデスクトップにはシステムトレイがありません。クイック質問は「表示」メニューか Ctrl+Shift+Space で開けます。</translation>
    </message>
    <message>
        <source>Ippon keeps running here: quick ask is one click away. Quit from this icon&apos;s menu.</source>
        <translation>Ippon はここで動き続けます。クイック質問はクリックひとつで開けます。終了はこのアイコンのメニューから。</translation>
    </message>
</context>
<context>
    <name>parent</name>
    <message>
        <source>Remove these from the library? The files on the disk are kept, and a removed file stays out of its folder&apos;s updates until you add it again.

{names}</source>
        <translation type="vanished">これらをライブラリから削除しますか？ ディスク上のファイルは残ります。削除したファイルは、もう一度追加するまでフォルダの更新でも戻りません。

{names}</translation>
    </message>
    <message>
        <source>Remove from the library</source>
        <translation type="vanished">ライブラリから削除</translation>
    </message>
</context>
</TS>
