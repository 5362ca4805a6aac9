"""Japanese-aware chunking: sentence boundaries, quotes, sizes, overlap, offsets, places."""

from __future__ import annotations

import pytest

from app.core.chunking import chunk_sections, document_text, estimate_tokens, split_sentences
from app.core.sources.base import Section


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_japanese_sentence_boundaries():
    text = "富士山は高い。本当に高い！ どうして？「登りますか。無理です！」と聞いた。\n次の段落"
    assert sentences(text) == ["富士山は高い。", "本当に高い！", " どうして？", "「登りますか。無理です！」と聞いた。",
                               "次の段落"]


def test_english_sentences_and_decimals():
    assert sentences("Version 3.5 is out. It works.\nNext") == ["Version 3.5 is out.", " It works.", "Next"]


def test_an_unclosed_quote_does_not_swallow_the_document():
    text = "「閉じない引用。" + "文です。" * 200
    assert len(sentences(text)) > 50


def _count_chars(texts):
    return [len(t) for t in texts]


def test_chunks_respect_the_size_and_overlap_with_whole_sentences():
    text = "".join(f"これは{i}番目の文です。" for i in range(60))
    chunks = chunk_sections([Section(text)], count_tokens=_count_chars, max_tokens=60, overlap=0.25)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.tokens <= 60 and chunk.text.endswith("。")
        assert text[chunk.start:chunk.end] == chunk.text
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end  # the next chunk repeats the end of the previous one
        assert a.end - b.start <= 15


def test_a_long_sentence_is_cut_without_breaking_words_or_graphemes():
    text = "が" * 30 + "、" + "word " * 30 + "👨‍👩‍👧" * 10 + "ﾊﾟ"  # combining marks and ZWJ emoji
    chunks = chunk_sections([Section(text)], count_tokens=_count_chars, max_tokens=25, overlap=0)
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")
    for chunk in chunks:
        assert chunk.tokens <= 25
        assert not chunk.text.startswith(("\u200d", "\u309a", "ord", "rd"))
        assert "wor" not in chunk.text[-3:] or chunk.text.endswith("word")


def test_chunks_carry_page_slide_and_heading_and_never_cross_pages():
    sections = [Section("一ページ目の文。" * 3, page=1, heading="第1章"), Section("二ページ目の文。", page=2),
                Section("スライドの本文。", slide=3, heading="タイトル"), Section("ノート。", slide=3, kind="notes")]
    chunks = chunk_sections(sections, count_tokens=_count_chars, max_tokens=400)
    assert [(c.page, c.slide, c.heading, c.kind) for c in chunks] == [
        (1, None, "第1章", "text"), (2, None, None, "text"), (None, 3, "タイトル", "text"), (None, 3, None, "notes")]
    doc = document_text(sections)
    assert all(doc[c.start:c.end] == c.text for c in chunks)


def test_the_estimate_counts_cjk_characters_as_tokens():
    assert estimate_tokens(["日本語", "abcdef", "", "2026年"]) == [3, 2, 0, 5]


def test_too_small_chunks_are_refused():
    with pytest.raises(ValueError):
        chunk_sections([Section("x")], max_tokens=4)
