"""Japanese text analysis for keyword search: the same steps for a chunk and for a query.

NFKC, then Sudachi (core dictionary, split mode A, so 耐熱性能 is 耐熱 + 性能) with each word
replaced by its normalized form (問合せ -> 問い合わせ, サーバ -> サーバー), then the katakana
long-vowel rule Sudachi's dictionary leaves out (メモリー -> メモリ, コンピューター -> コンピュータ),
then particles, auxiliaries, pronouns and question words are dropped. Four term lists come out:

- `words`: the normalized words, which rank whole words;
- `grams`: character bigrams of each run of kept words (the normalized words written together,
  so a compound's bigrams cross its word boundaries), which find any part of a compound the
  dictionary does not split (裁判 in 裁判所) and survive segmentation differences;
- `readings`: marked bigrams of how the kanji words are read, once each, which a query typed in
  hiragana alone (ざいたくきんむ for 在宅勤務) searches;
- `kanji`: each kanji of the kept words on its own (CJK search's unigrams beside its bigrams), so a
  question's 使用料 still meets a text's 無料: a word written differently but sharing a meaningful
  character ranks the right chunk within the first few, where bigrams alone miss it.

All go into one space-separated column that LanceDB indexes with its `whitespace` tokenizer,
so what the index holds is exactly what this module produced, and one BM25 query ranks by
them all. Measured on ../shared/ja-retrieval-dev (scripts/bench/search_quality.py), one index
of words and bigrams together beat each alone and beat reciprocal rank fusion of the two; the kanji
unigrams took natural questions' recall@5 from 0.987 to 1.000 and left compound parts as they were.

Sudachi's dictionary takes a moment to load (about 0.1 s), so the analyser is made on first use
and kept for the process.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from ..errors import IpponError
from ..locale import _

# Bumped whenever a change here changes the terms: stored libraries then rebuild their index.
ANALYSIS_VERSION = "ja-sudachi-a-7"

MAX_QUERY_CHARS = 1000
# Sudachi rejects inputs over 49149 bytes; pieces stay well under it (3 bytes per kana/kanji).
_PIECE_CHARS = 12_000
# Kuromoji's katakana stemmer drops a trailing ー from words of this length or more (JIS Z 8301 style),
# so メモリー and メモリ meet while ビール (3) and ビル stay apart.
_LONG_VOWEL_MIN = 4
# Parts of speech that never decide a ranking (particles, auxiliaries, symbols, pronouns, adnominals
# such as この/どの, interjections).
_DROPPED_POS = {"助詞", "助動詞", "補助記号", "空白", "記号", "代名詞", "連体詞", "感動詞"}
# Question words and request forms, by normalized form (Sudachi writes する as 為る and so on).
_DROPPED_WORDS = {
    "何", "なに", "なん", "どう", "どうして", "なぜ", "何故", "いつ", "何時", "どこ", "何処", "誰", "だれ", "いくつ", "幾つ",
    "いくら", "幾ら", "どれ", "どちら", "どっち", "どんな", "如何", "いかが", "教える", "下さる", "くださる", "願う",
    "為る", "する", "有る", "ある", "居る", "いる", "成る", "なる", "出来る", "できる", "と言う", "言う", "云う",
    "物", "もの", "事", "こと", "為", "ため", "様", "よう", "等", "など", "について", "とは",
    "a", "an", "the", "is", "are", "was", "were", "be", "of", "to", "in", "on", "at", "by", "for", "with",
    "and", "or", "it", "this", "that", "what", "how", "which", "who", "when", "where", "do", "does", "did",
}
# Verbs that with a preceding に form a compound particle (について, に関して, によって, において, にとって):
# as such they say nothing about the topic.
_PARTICLE_VERBS = {"つく", "関する", "対する", "よる", "おく", "とる", "取る", "際する"}
# Marks a bigram of a reading, so ザイ read from 在 is not the katakana ザイ of a written word. No term of
# the text can hold it: NFKC turns this character (the ligature ゟ) into より.
READING = "\u309f"
_KANJI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_HIRAGANA_QUERY = re.compile(r"[\u3041-\u3096\u30fc\s]+")
_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}
_KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc]+")
_WORD_CHARS = re.compile(r"\w")
_ASCII_WORD = re.compile(r"[\x21-\x7e]+")
_SPACE = re.compile(r"\s+")
_FALLBACK_WORD = re.compile(r"\w+")


class AnalysisError(IpponError):
    """Japanese analysis cannot run (the dictionary is missing or broken)."""


class Token(NamedTuple):
    """One kept word: its normalized form, and where it stands in the analysed text."""

    term: str
    start: int  # character offsets in the NFKC text
    end: int
    joined: bool  # written right after the previous kept word (no dropped word or space between)
    reading: str = ""  # in katakana, for a word written with kanji (empty otherwise)


@dataclass(frozen=True, slots=True)
class Analysis:
    words: list[str]
    grams: list[str]
    readings: list[str] = field(default_factory=list)  # READING-marked bigrams of how kanji are read
    kanji: list[str] = field(default_factory=list)  # each kanji of the words, alone

    @property
    def terms(self) -> str:
        """What the index column holds (and what a query searches): all the terms, space-separated, the
        words first and in their order (lexical_rank.py reads which words stand side by side)."""
        return " ".join(self.words + self.grams + self.readings + self.kanji)


class JapaneseAnalyzer:
    """Sudachi in split mode A, loaded once; `tokens`, `analyse` and `match_ranges` are thread-safe."""

    def __init__(self) -> None:
        try:
            from sudachipy import Dictionary, SplitMode
        except ImportError as exc:
            raise AnalysisError(_("Japanese search needs sudachipy and sudachidict_core: please install them "
                                  "(pip install sudachipy sudachidict_core)")) from exc
        try:
            self._dictionary = Dictionary(dict="core")
        except Exception as exc:  # noqa: BLE001 - sudachipy raises plain exceptions for a missing dictionary
            raise AnalysisError(_("the Sudachi dictionary cannot be loaded ({reason}); please reinstall "
                                  "sudachidict_core").format(reason=exc)) from exc
        self._mode = SplitMode.A
        self._local = threading.local()  # a Sudachi tokenizer is not shareable between threads
        self._pos_kinds: dict[int, str] = {}  # part-of-speech id -> what it means here (see _pos_kind)

    def _tokenizer(self) -> Any:
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            tokenizer = self._local.tokenizer = self._dictionary.tokenizer(mode=self._mode)
        return tokenizer

    def _pos_kind(self, morpheme: Any) -> str:
        """"drop", "verb", "counter", "numeral" or "word", cached by part-of-speech id (a few hundred)."""
        pos_id = morpheme.part_of_speech_id()
        kind = self._pos_kinds.get(pos_id)
        if kind is None:
            pos = morpheme.part_of_speech()
            if pos[0] in _DROPPED_POS or pos[1] == "非自立可能":
                kind = "drop"
            elif pos[0] == "動詞":
                kind = "verb"
            elif pos[0] == "接尾辞" or pos[2].startswith("助数詞"):
                kind = "counter"
            elif pos[1] == "数詞":
                kind = "numeral"
            else:
                kind = "word"
            self._pos_kinds[pos_id] = kind
        return kind

    def _term(self, morpheme: Any, surface: str, before: str) -> str | None:
        """The word's search term, or None for a word that must not decide a ranking (`before`: the surface
        of the word before it)."""
        kind = self._pos_kind(morpheme)
        if kind == "drop":
            return None
        written = kind == "numeral" or surface.isascii()
        # Sudachi writes 二 as 2 only where it stands alone (二酸化 keeps 二酸), and an English word as
        # katakana (backup -> バックアップ): the written form is what both sides agree on.
        form = surface.lower() if written else morpheme.normalized_form()
        if form in _DROPPED_WORDS or form.startswith("何"):
            return None
        if kind == "verb":  # only verbs need their dictionary form (て-forms and the like of する, ある …)
            lemma = morpheme.dictionary_form()
            if lemma in _DROPPED_WORDS or (before == "に" and (lemma in _PARTICLE_VERBS or form in _PARTICLE_VERBS)):
                return None
        if kind == "counter" and before in ("何", "なん", "幾"):
            return None  # the counter of a question (何人, 何年, 第何条) asks; it does not name a topic
        return _clean_term(form)

    def tokens(self, text: str) -> list[Token]:
        """The kept words of `text` (already NFKC), with their offsets."""
        tokenizer = self._tokenizer()
        kept: list[Token] = []
        last_end = -1
        for offset, piece in _pieces(text):
            previous = ""
            try:
                morphemes = tokenizer.tokenize(piece)
            except Exception:  # noqa: BLE001 - text Sudachi refuses must still be searchable, never fail an ingest
                kept += [Token(m.group().lower(), offset + m.start(), offset + m.end(), False)
                         for m in _FALLBACK_WORD.finditer(piece)]
                continue
            for morpheme in morphemes:
                surface = morpheme.surface()
                term = self._term(morpheme, surface, previous)
                previous = surface
                if term is None:
                    continue
                start, end = offset + morpheme.begin(), offset + morpheme.end()
                reading = morpheme.reading_form() if _KANJI.search(surface) else ""
                kept.append(Token(term, start, end, start == last_end, reading))
                last_end = end
        return kept

    def analyse(self, text: str) -> Analysis:
        tokens = self.tokens(normalize(text))
        # Each reading bigram once per chunk: they only serve kana queries, and repeats would double the index.
        words = [t.term for t in tokens]
        return Analysis(words, list(_bigrams(tokens)), list(dict.fromkeys(_reading_grams(tokens))), _kanji(words))

    def query_terms(self, query: str) -> Analysis:
        """A query's terms: the same analysis, each term once (a repeated word does not weigh more).
        A query written in hiragana alone (ざいたくきんむ) also searches how the text's kanji are read.
        Only the query's first characters count: a pasted page must not become a huge query."""
        query = normalize(query[:MAX_QUERY_CHARS])
        tokens = self.tokens(query)
        analysis = Analysis([t.term for t in tokens], list(_bigrams(tokens)))
        readings: list[str] = []
        if _HIRAGANA_QUERY.fullmatch(query.strip()):
            # The kept words as typed (particles and question words are dropped as ever), read as katakana.
            readings = list(_reading_grams([t._replace(reading=query[t.start:t.end].translate(_TO_KATAKANA))
                                            for t in tokens]))
        words = list(dict.fromkeys(analysis.words))
        return Analysis(words, list(dict.fromkeys(analysis.grams)), list(dict.fromkeys(readings)),
                        list(dict.fromkeys(_kanji(words))))

    def match_ranges(self, query: str, text: str) -> list[tuple[int, int]]:
        """Character ranges of `text` (already NFKC) where the query's words or their variants stand, merged.

        A word of the text matches when its term equals a query word; a query word found inside a longer
        word of the text (耐熱 in a 耐熱性 the dictionary keeps whole) marks that part of it.
        """
        wanted = set(self.query_terms(query).words)
        if not wanted:
            return []
        ranges = []
        for token in self.tokens(text):
            if token.term in wanted:
                ranges.append((token.start, token.end))
                continue
            surface = text[token.start:token.end]
            for word in wanted:
                at = surface.find(word) if len(word) >= 2 else -1
                if at >= 0:
                    ranges.append((token.start + at, token.start + at + len(word)))
        return _merge(ranges)


def normalize(text: str) -> str:
    """The text every index and query starts from (the stored search text is this form too)."""
    return unicodedata.normalize("NFKC", text)


_analyzer: JapaneseAnalyzer | None = None
_analyzer_lock = threading.Lock()


def analyzer() -> JapaneseAnalyzer:
    """The process's analyser, made on first use (the dictionary load is the cost worth paying once)."""
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                _analyzer = JapaneseAnalyzer()
    return _analyzer


@lru_cache(maxsize=1 << 16)
def _clean_term(form: str) -> str | None:
    term = _SPACE.sub("", form).lower()
    if not term or not _WORD_CHARS.search(term):
        return None
    return unify_long_vowel(term)


def unify_long_vowel(word: str) -> str:
    """メモリー -> メモリ: a katakana word's trailing long-vowel mark, when the word is long enough."""
    if len(word) >= _LONG_VOWEL_MIN and word.endswith("ー") and _KATAKANA.fullmatch(word):
        return word.rstrip("ー")
    return word


def _bigrams(tokens: list[Token]) -> Iterator[str]:
    """Bigrams of each run of joined words; Latin words and numbers stand as they are."""
    run = ""
    for token in tokens:
        if _ASCII_WORD.fullmatch(token.term):
            yield from _run_grams(run)
            run = ""
            yield token.term
            continue
        if not token.joined:
            yield from _run_grams(run)
            run = ""
        run += token.term
    yield from _run_grams(run)


def _kanji(words: list[str]) -> list[str]:
    return [char for word in words for char in word if _KANJI.match(char)]


def _reading_grams(tokens: list[Token]) -> Iterator[str]:
    """READING-marked bigrams of the readings of each run of joined words that has a kanji word in it."""
    run, has_kanji = "", False
    for token in tokens:
        if not token.joined:
            if has_kanji:
                yield from (READING + gram for gram in _run_grams(run))
            run, has_kanji = "", False
        run += token.reading or token.term
        has_kanji = has_kanji or bool(token.reading)
    if has_kanji:
        yield from (READING + gram for gram in _run_grams(run))


def _run_grams(run: str) -> Iterator[str]:
    if len(run) == 1:
        yield run
    for i in range(len(run) - 1):
        yield run[i:i + 2]


def _pieces(text: str) -> Iterator[tuple[int, str]]:
    """`text` in pieces Sudachi accepts, cut after a line break (or anywhere, for one huge line)."""
    start = 0
    while len(text) - start > _PIECE_CHARS:
        cut = text.rfind("\n", start, start + _PIECE_CHARS)
        end = cut + 1 if cut > start else start + _PIECE_CHARS
        yield start, text[start:end]
        start = end
    if start < len(text):
        yield start, text[start:]


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
