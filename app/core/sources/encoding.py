"""Bytes -> text for the text formats (txt, md, html, csv), with Japanese encodings in mind.

Statistical detectors guess poorly on a few lines of Japanese (a short Shift_JIS note can
"look like" Latin-1 or Big5), so the order is: byte order marks, ISO-2022-JP by its escape
sequences, strict UTF-8, and only then charset-normalizer, restricted to the encodings
Japanese files actually come in. A wrong guess would garble the text silently; undecodable
bytes are replaced and reported instead, so the rest of the file still gets indexed.

Strict UTF-8 first is safe for real Japanese text: a kana in Shift_JIS or EUC-JP is never
valid UTF-8. Only a few kanji with no kana can pass by chance (EUC-JP "表" is UTF-8 "ɽ").
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from ...locale import _

_BOMS = [  # (mark, codec for the rest, name reported); longest first: UTF-32 LE's mark starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
]
# ESC $ @, ESC $ B (JIS X 0208), ESC $ ( Q/O/D (JIS X 0213/0212), ESC ( I (half-width kana).
_ISO2022_ESCAPES = re.compile(rb"\x1b\$[@B]|\x1b\$\([QOD]|\x1b\(I")
_ISO2022_CODECS = ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2004", "iso2022_jp_2")
_LEGACY_CODECS = ("cp932", "euc_jp")  # cp932 is Windows' Shift_JIS, a superset of it
_DETECTOR_CODECS = ["cp932", "euc_jp", "iso2022_jp", "utf_8"]
_SAMPLE = 64 * 1024
# Bytes that never occur in text: C0 controls other than tab, newlines, form feed and ESC.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27)) + b"\x7f"
_MAX_CONTROL_RATIO = 0.1


class NotTextError(ValueError):
    """The bytes are binary data, not text in any encoding."""


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    encoding: str  # a Python codec name: "utf-8", "utf-8-sig", "cp932", "euc_jp", "iso2022_jp", ...
    warnings: list[str] = field(default_factory=list)


def decode_text(data: bytes, *, declared: str | None = None) -> DecodedText:
    """Decode `data`; `declared` (e.g. an HTML meta charset) is tried when the bytes are not UTF-8.

    Raises NotTextError for binary data.
    """
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            return _decode_lenient(data[len(bom):], codec, report=name)
    _reject_binary(data)
    if _ISO2022_ESCAPES.search(data) and data.isascii():
        for name in _ISO2022_CODECS:
            text = _strict(data, name)
            if text is not None:
                return DecodedText(text, name)
    text = _strict(data, "utf-8")
    if text is not None:
        return DecodedText(text, "utf-8")
    name = _usable_declared(declared)
    if name is not None and (text := _strict(data, name)) is not None:
        return DecodedText(text, name)
    return _decode_legacy(data)


def _usable_declared(declared: str | None) -> str | None:
    """The codec for a declared charset, as browsers read it; None when unknown or unusable."""
    try:
        name = codecs.lookup(declared).name if declared else None
    except LookupError:
        return None
    if name in ("shift_jis", "shift_jis_2004", "shift_jisx0213"):
        return "cp932"  # what "Shift_JIS" means in practice (Windows' extensions included)
    if name is not None and name.startswith(("utf-16", "utf-32")):
        return None  # without a byte order mark this declaration is wrong; browsers ignore it too
    return name


def _decode_legacy(data: bytes) -> DecodedText:
    clean = {name: text for name in _LEGACY_CODECS if (text := _strict(data, name)) is not None}
    if len(clean) == 1:
        name, text = clean.popitem()
        return DecodedText(text, name)
    guess = _detector_guess(data)
    if clean:  # both decode without error: let the detector judge which reads as language
        name = guess if guess in clean else "cp932"
        return DecodedText(clean[name], name)
    # Neither decodes cleanly: take the detector's pick, or the codec with the fewest bad bytes.
    name = guess if guess in _LEGACY_CODECS or guess == "utf-8" else min(
        ("utf-8", *_LEGACY_CODECS), key=lambda n: _bad_bytes(data, n))
    return _decode_lenient(data, name, report=name)


def _detector_guess(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_DETECTOR_CODECS).best()
    return codecs.lookup(best.encoding).name if best else None


def _reject_binary(data: bytes) -> None:
    sample = data[:_SAMPLE]
    if b"\x00" in sample:
        raise NotTextError(_("it holds NUL bytes"))
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    if controls > _MAX_CONTROL_RATIO * len(sample):
        raise NotTextError(_("it is full of control characters"))


def _strict(data: bytes, name: str) -> str | None:
    try:
        return data.decode(name)
    except (UnicodeDecodeError, LookupError):
        return None


def _bad_bytes(data: bytes, name: str) -> int:
    return data.decode(name, "replace").count("\ufffd")


def _decode_lenient(data: bytes, name: str, *, report: str) -> DecodedText:
    text = _strict(data, name)
    if text is not None:
        return DecodedText(text, report)
    text = data.decode(name, "replace")
    bad = text.count("\ufffd")
    return DecodedText(text, report, [f"{bad} undecodable byte sequence(s) in {report} text were replaced by \ufffd"])
