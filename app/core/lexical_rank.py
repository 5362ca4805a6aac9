"""Keyword search's second stage: BM25's best chunks reordered by how well they fit the question.

BM25 rewards a chunk for repeating one of the question's words (often the topic every chunk of a
document shares) about as much as for holding another of them, and knows nothing of word order. So
the best RESCORE_DEPTH chunks get, in BM25's units (shares of the best score), a bonus for holding
every word the question names (COVERAGE_WEIGHT) and for holding its neighbouring words side by side
(PAIRS_WEIGHT), read from the analysed terms each chunk stores (app/core/analysis.py): no second
pass over the text, a few set look-ups per chunk.

Measured on ../shared/ja-retrieval-dev (scripts/bench/search_quality.py): the same figures for any
coverage weight up to 0.7 and any pair weight from 0.3 to 0.7; coverage above 0.7 starts to cost
compound-part queries.
"""

from __future__ import annotations

from typing import Any

RESCORE_DEPTH = 30
COVERAGE_WEIGHT = 0.5
PAIRS_WEIGHT = 0.5


def rescore(rows: list[dict[str, Any]], words: list[str], *, terms_key: str) -> list[dict[str, Any]]:
    """`rows` (each with `_score` and its stored terms under `terms_key`) best first after the bonuses; a
    query of one word keeps BM25's order (nothing to cover or pair)."""
    if not rows or len(words) < 2:
        return rows
    best = max(r["_score"] for r in rows)
    for r in rows:
        terms = r[terms_key] or ""
        r["_score"] += best * (COVERAGE_WEIGHT * word_coverage(words, terms)
                               + PAIRS_WEIGHT * word_pairs_share(words, terms))
    return sorted(rows, key=lambda r: -r["_score"])


def word_coverage(words: list[str], terms: str) -> float:
    """The share of the query's words a chunk holds (its stored `terms`): whole, or as all of the word's
    bigrams (a word the dictionary kept inside a longer one there, 裁判 in 裁判所). Unweighted on purpose: each
    word the question names counts the same, whatever BM25 makes of how often the chunk repeats it."""
    if not words:
        return 0.0
    held = set(terms.split())
    found = sum(1 for word in words
                if word in held or (len(word) > 1 and all(word[i:i + 2] in held for i in range(len(word) - 1))))
    return found / len(words)


def word_pairs_share(words: list[str], terms: str) -> float:
    """The share of the query's neighbouring words (particles aside) that stand side by side in a chunk's
    stored `terms` too (the words come first there, in their order): a question that quotes its answer's
    wording (作品の演奏が頻繁に行われる) finds that passage before the chunks holding the same words apart."""
    pairs = list(zip(words, words[1:]))
    if not pairs:
        return 0.0
    tokens = terms.split()
    held = set(zip(tokens, tokens[1:]))
    return sum(1 for pair in pairs if pair in held) / len(pairs)


def drop_character_matches(rows: list[dict[str, Any]], words: list[str], grams: list[str], *,
                           terms_key: str) -> list[dict[str, Any]]:
    """`rows` without the chunks that share only single characters with the question, when others share
    more: 語 in a chunk is no match for 語句 when some chunk holds 語句 (or 存在). The single kanji stay as a
    last resort (a question whose words occur nowhere still finds the chunk sharing a character: 使用料 →
    無料), and "nothing found" can then mean that nothing shares a word or two characters side by side."""
    units = {w for w in words if len(w) > 1} | set(grams)
    if not units:
        return rows
    holding = [r for r in rows if not units.isdisjoint((r[terms_key] or "").split())]
    return holding or rows
