"""The part of a chunk that matters for a question: a window of whole sentences around the
words it shares with the question, within a token cap.

The reranker's cost grows with every token it reads, and so does the LLM's time to its first
token; most of a 400-token chunk says nothing about the question. The window is built from
sentences (never cut inside one unless a single sentence is over the cap), starts at the
sentence holding the most of the question's words and grows towards the neighbour holding
more, so the matched words are inside it. A chunk within the cap is kept whole.

The question's words are found as the keyword index finds them (snippets.match_ranges: the
same analysis, so parts of compounds and spelling variants count, particles do not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .chunking import TokenCounter, split_sentences
from .snippets import match_ranges

@dataclass(frozen=True, slots=True)
class Passage:
    """`text` is chunk_text[start:end]."""

    text: str
    start: int
    end: int
    tokens: int
    whole: bool  # the chunk fitted the cap as it is


def focus_passage(text: str, query: str, *, max_tokens: int, count_tokens: TokenCounter,
                  matches: Sequence[tuple[int, int]] | None = None) -> Passage:
    """The window of `text` that matters for `query`, at most `max_tokens` tokens. `matches`: where the
    query's words stand in `text`, when the caller has them already (else they are found here)."""
    whole = count_tokens([text])[0]
    if whole <= max_tokens:
        return Passage(text, 0, len(text), whole, whole=True)
    if matches is None:
        matches = match_ranges(query, text)
    spans = split_sentences(text) or [(0, len(text))]
    spans = [piece for span in spans for piece in _cut(text, span, max_tokens, count_tokens)]
    costs = count_tokens([text[a:b] for a, b in spans])
    scores = [_overlaps(a, b, matches) for a, b in spans]
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
