"""Japanese-aware chunking: sentences first, then chunks of about N tokens with overlap.

Sentences end after 。！？!?． (with any closing quote or bracket attached), after a
period that ends an English word, and at line breaks, but never inside 「…」『…』（…）: a quotation stays whole. Sentences are packed into
chunks up to `max_tokens` tokens of the embedder's tokenizer; the next chunk repeats the
last sentences of the previous one up to `overlap` of the size. A sentence longer than a
chunk is cut at 、, spaces, then characters — never inside a word of Latin script, a
grapheme (combining marks, emoji sequences) or a surrogate pair. Chunks never cross a page,
slide or section kind, and carry the heading of their first sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from engines.qwen3 import estimate_tokens

from .sources.base import Section, SectionKind

TokenCounter = Callable[[Sequence[str]], list[int]]

_ENDERS = set("。！？!?．")
_CLOSERS = set("」』）)】〉》\"'”’")
_OPENERS = {"「": "」", "『": "』", "（": "）", "(": ")", "【": "】"}
_MAX_QUOTE_CHARS = 400  # an unclosed quote must not swallow the rest of the document
_WEAK_BREAKS = re.compile(r"(?<=[、，,;；:：])|(?<=\s)")
_LATIN_WORD = re.compile(r"[A-Za-z0-9À-ɏ_\-]")


@dataclass(frozen=True, slots=True)
class Chunk:
    text: str
    start: int  # character offsets in the document text (ParsedDocument.text)
    end: int
    page: int | None
    slide: int | None
    heading: str | None
    kind: SectionKind
    tokens: int


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str
    start: int
    tokens: int
    section: Section


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of `text`; whitespace-only spans are dropped."""
    spans, start, depth_stack, quote_start = [], 0, [], 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _OPENERS:
            if not depth_stack:
                quote_start = i
            depth_stack.append(_OPENERS[ch])
        elif depth_stack and ch == depth_stack[-1]:
            depth_stack.pop()
        elif depth_stack and i - quote_start > _MAX_QUOTE_CHARS:
            depth_stack.clear()  # unbalanced: give up on the quote rather than on the sentences
        end = None
        if ch == "\n" and not depth_stack:
            end = i + 1
        elif ch == "." and not depth_stack and (i + 1 == n or text[i + 1] in " \t\n") and i > 0 \
                and text[i - 1].isalpha():
            end = i + 1
        elif ch in _ENDERS and not depth_stack:
            end = i + 1
            while end < n and (text[end] in _CLOSERS or text[end] in _ENDERS):
                end += 1
        elif ch in "」』" and not depth_stack and i + 1 < n and text[i + 1] == "\n":
            end = i + 1
        if end is not None:
            spans.append((start, end))
            start = i = end
            continue
        i += 1
    if start < n:
        spans.append((start, n))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _safe_cut(text: str, at: int) -> int:
    """Move a cut point left so it splits no grapheme, surrogate pair or Latin word.

    A "grapheme" longer than the whole piece (thousands of combining marks or joiners in a row)
    is cut where it stands: backing off to the start would make one-character pieces, each
    costing a count over the window (minutes for a file of nothing but combining marks).
    """
    wanted = at
    while 0 < at < len(text) and (unicodedata.combining(text[at]) or text[at] in "\u200d\ufe0e\ufe0f"
                                  or text[at - 1] == "\u200d" or "\udc00" <= text[at] <= "\udfff"):
        at -= 1
    if at == 0:
        at = wanted
    word_start = at
    while 0 < word_start < len(text) and _LATIN_WORD.match(text[word_start - 1]) and _LATIN_WORD.match(text[word_start]):
        word_start -= 1
    return word_start if word_start > 0 else at


def _split_long(text: str, max_tokens: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Cut an over-long sentence into pieces of at most max_tokens tokens (weak breaks first).

    Tokens are counted over a window of characters after the cut point, never over the whole
    remainder: on a megabyte of text without a break, counting the remainder for every piece
    was quadratic. The window doubles until the limit falls inside it, so any tokenizer fits.
    """
    pieces, start = [], 0
    window = max(64, 4 * max_tokens)
    while start < len(text):
        end = min(len(text), start + window)
        while end < len(text) and count([text[start:end]])[0] <= max_tokens:
            window *= 2
            end = min(len(text), start + window)
        rest = text[start:end]
        if end == len(text) and count([rest])[0] <= max_tokens:
            pieces.append((start, len(text)))
            break
        # The longest prefix that fits, by bisection on characters, then back to a weak break.
        lo, hi = 1, len(rest)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count([rest[:mid]])[0] <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        breaks = [m.start() for m in _WEAK_BREAKS.finditer(rest, 0, cut) if m.start() > cut // 2]
        cut = breaks[-1] if breaks else _safe_cut(rest, cut)
        cut = max(cut, 1)
        pieces.append((start, start + cut))
        start += cut
    return pieces


def document_text(sections: Sequence[Section]) -> str:
    """The document's text as stored and displayed: sections joined by a blank line."""
    return "\n\n".join(s.text for s in sections if s.text)


def _sentences(sections: Sequence[Section], max_tokens: int, count: TokenCounter) -> list[_Sentence]:
    spans: list[tuple[int, int, Section]] = []
    offset = 0
    for section in sections:
        if section.text:
            spans.extend((offset + a, offset + b, section) for a, b in split_sentences(section.text))
            offset += len(section.text) + 2
    doc = document_text(sections)
    counts = count([doc[a:b] for a, b, _ in spans]) if spans else []
    out: list[_Sentence] = []
    for (start, end, section), tokens in zip(spans, counts, strict=True):
        text = doc[start:end]
        if tokens <= max_tokens:
            out.append(_Sentence(text, start, tokens, section))
            continue
        for a, b in _split_long(text, max_tokens, count):
            piece = text[a:b]
            out.append(_Sentence(piece, start + a, count([piece])[0], section))
    return out


def chunk_sections(sections: Sequence[Section], *, count_tokens: TokenCounter = estimate_tokens,
                   max_tokens: int = 400, overlap: float = 0.15) -> list[Chunk]:
    """Chunks of whole sentences, about max_tokens long, overlapping by about `overlap` of that."""
    if max_tokens < 16:
        raise ValueError("chunks must be at least 16 tokens")
    sentences = _sentences(sections, max_tokens, count_tokens)
    return list(_pack(document_text(sections), sentences, max_tokens, int(max_tokens * overlap)))


def _pack(doc: str, sentences: list[_Sentence], max_tokens: int, overlap_tokens: int) -> Iterator[Chunk]:
    current: list[_Sentence] = []
    tokens = 0  # in `current`, kept as it grows: summing per sentence was slow for many tiny sentences
    fresh = False  # whether `current` holds anything not yet emitted (overlap alone is not a chunk)
    for sentence in sentences:
        boundary = current and _place(current[-1].section) != _place(sentence.section)
        if current and (boundary or tokens + sentence.tokens > max_tokens):
            if fresh:
                yield _chunk(doc, current)
            current = [] if boundary else _tail(current, overlap_tokens, max_tokens - sentence.tokens)
            tokens = sum(s.tokens for s in current)
            fresh = False
        current.append(sentence)
        tokens += sentence.tokens
        fresh = True
    if current and fresh:
        yield _chunk(doc, current)


def _place(section: Section) -> tuple[int | None, int | None, str]:
    return section.page, section.slide, section.kind


def _tail(sentences: list[_Sentence], overlap_tokens: int, room: int) -> list[_Sentence]:
    """The last sentences of a chunk, to repeat at the start of the next one."""
    tail: list[_Sentence] = []
    total = 0
    for sentence in reversed(sentences):
        if total + sentence.tokens > min(overlap_tokens, room):
            break
        tail.insert(0, sentence)
        total += sentence.tokens
    return tail


def _chunk(doc: str, sentences: list[_Sentence]) -> Chunk:
    """One span of the document: from the first sentence to the end of the last, whitespace trimmed."""
    first, last = sentences[0], sentences[-1]
    start, end = first.start, last.start + len(last.text)
    while start < end and doc[start].isspace():
        start += 1
    while end > start and doc[end - 1].isspace():
        end -= 1
    return Chunk(text=doc[start:end], start=start, end=end, page=first.section.page, slide=first.section.slide,
                 heading=first.section.heading, kind=first.section.kind, tokens=sum(s.tokens for s in sentences))
