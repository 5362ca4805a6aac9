"""The part of a chunk that matters for a question: a window of whole sentences around the
words it shares with the question, within a token cap.

The reranker's cost grows with every token it reads, and so does the LLM's time to its first
token; most of a 400-token chunk says nothing about the question. The window is built from
sentences (never cut inside one unless a single sentence is over the cap), starts at the
sentence that shares the most with the question and grows towards the neighbour that shares
more, so the matched words are always inside it. A chunk within the cap is kept whole.

Query words are character bigrams of the NFKC text (the unit that finds parts of Japanese
compounds with no dictionary), with particles and question words left out; matched ranges
from the lexical index, where the caller has them, count first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .chunking import split_sentences

TokenCounter = Callable[[Sequence[str]], list[int]]

# Kana-only function words: as bigrams they match nearly every sentence.
_FUNCTION_WORDS = re.compile(r"について|とは|ですか|ますか|でしょうか|教えて|ください|ですが|ました|です|ます|"
                             r"[のはがをにへとでもやかねよな]")
_WORD_CHARS = re.compile(r"[\w\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]+")


@dataclass(frozen=True, slots=True)
class Passage:
    """`text` is chunk_text[start:end]."""

    text: str
    start: int
    end: int
    tokens: int
    whole: bool  # the chunk fitted the cap as it is


def query_bigrams(query: str) -> frozenset[str]:
    """The question's matching units: lower-cased NFKC character bigrams of its content words
    (single characters stay single), particles and question words taken out."""
    text = _FUNCTION_WORDS.sub(" ", unicodedata.normalize("NFKC", query).lower())
    grams: set[str] = set()
    for word in _WORD_CHARS.findall(text):
        if len(word) == 1:
            grams.add(word)
        grams.update(word[i:i + 2] for i in range(len(word) - 1))
    return frozenset(grams)


def focus_passage(text: str, query: str | frozenset[str], *, max_tokens: int, count_tokens: TokenCounter,
                  matches: Sequence[tuple[int, int]] = ()) -> Passage:
    """The window of `text` that matters for `query`, at most `max_tokens` tokens.

    `matches`, character ranges in `text` that the lexical index matched, count first; the
    query's bigrams find the rest (and everything, when no ranges are given)."""
    whole = count_tokens([text])[0]
    if whole <= max_tokens:
        return Passage(text, 0, len(text), whole, whole=True)
    grams = query_bigrams(query) if isinstance(query, str) else query
    spans = split_sentences(text) or [(0, len(text))]
    spans = [piece for span in spans for piece in _cut(text, span, max_tokens, count_tokens)]
    costs = count_tokens([text[a:b] for a, b in spans])
    scores = [_score(text[a:b].lower(), grams) + 4 * _overlaps(a, b, matches) for a, b in spans]
    best = max(range(len(spans)), key=lambda i: (scores[i], -i))
    lo = hi = best
    used = costs[best]
    while True:
        left = lo - 1 if lo > 0 and used + costs[lo - 1] <= max_tokens else None
        right = hi + 1 if hi + 1 < len(spans) and used + costs[hi + 1] <= max_tokens else None
        if left is None and right is None:
            break
        # The richer neighbour first; on a tie, what follows (an answer usually comes after its topic).
        if right is not None and (left is None or scores[right] >= scores[left]):
            hi, used = right, used + costs[right]
        else:
            lo, used = left, used + costs[left]
    start, end = spans[lo][0], spans[hi][1]
    return Passage(text[start:end], start, end, used, whole=False)


def _score(sentence: str, grams: frozenset[str]) -> int:
    return sum(1 for g in grams if g in sentence)


def _overlaps(start: int, end: int, matches: Sequence[tuple[int, int]]) -> int:
    return sum(1 for a, b in matches if a < end and b > start)


def _cut(text: str, span: tuple[int, int], max_tokens: int, count_tokens: TokenCounter) -> list[tuple[int, int]]:
    """A sentence over the cap in pieces that fit (by characters, proportionally to its tokens)."""
    start, end = span
    tokens = count_tokens([text[start:end]])[0]
    if tokens <= max_tokens:
        return [span]
    step = max(1, (end - start) * max_tokens // (tokens + 1))
    pieces = []
    while start < end:
        stop = min(end, start + step)
        while stop > start + 1 and count_tokens([text[start:stop]])[0] > max_tokens:
            stop = start + max(1, (stop - start) * 3 // 4)
        pieces.append((start, stop))
        start = stop
    return pieces
