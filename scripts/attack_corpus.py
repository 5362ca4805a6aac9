#!/usr/bin/env python3
"""Write every file-shaped attack of issue 12 into a folder, to add to a library and watch what happens.

    .venv/bin/python scripts/attack_corpus.py --out /tmp/attacks [--small]

Each attack is one entry below, a function that writes its files under the output folder and
says what it wrote. `--small` makes test sizes (seconds to build, the same shape of attack);
without it the sizes are those of the issue (a 5 GB document inside a 5 MB .docx, 1.5 MB of
unbroken Japanese, 3 million Word paragraphs...). The tests import this module and call the
attacks they need.

Zip bombs are written without ever holding or compressing their contents: deflate with a full
flush after each block forgets everything before it, so one compressed block repeated N times
is a valid stream for the block repeated N times.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_P = "http://schemas.openxmlformats.org/presentationml/2006/main"


@dataclass(frozen=True, slots=True)
class Sizes:
    bomb_bytes: int  # uncompressed size of the bomb's one XML part
    unbroken_chars: int  # Japanese without punctuation or line breaks
    base64_bytes: int  # one line of base64
    amp_bytes: int  # an HTML file made of "&amp;"
    unclosed_tags_bytes: int  # an HTML file made of "</" with no ">" after them
    paragraphs: int  # paragraphs of the huge Word document
    table_cells: int  # cells in the one row of a Word table


# The sizes, or larger where the took less than a minute before the fixes.
FULL = Sizes(bomb_bytes=5 * 2**30, unbroken_chars=1_500_000, base64_bytes=4 * 2**20, amp_bytes=25 * 2**20,
             unclosed_tags_bytes=2 * 2**20, paragraphs=3_000_000, table_cells=200_000)
# Each still took a minute or more before the fixes, and takes seconds after.
SMALL = Sizes(bomb_bytes=5 * 2**30, unbroken_chars=500_000, base64_bytes=2 * 2**20, amp_bytes=12 * 2**20,
              unclosed_tags_bytes=600_000, paragraphs=300_000, table_cells=60_000)


# --- zip bombs ---------------------------------------------------------------------------------

class _RepeatingDeflate:
    """Stands in for a zip member's compressor: each distinct block is deflated once, then its bytes repeat."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        self._seen: dict[int, bytes] = {}

    def compress(self, data: bytes) -> bytes:
        key = id(data)
        if key not in self._seen:
            self._seen[key] = self._deflate.compress(data) + self._deflate.flush(zlib.Z_FULL_FLUSH)
        return self._seen[key]

    def flush(self) -> bytes:
        return self._deflate.flush(zlib.Z_FINISH)


def _write_repeated_member(archive: zipfile.ZipFile, name: str, head: bytes, block: bytes, count: int,
                           tail: bytes) -> None:
    """A deflated member holding head + block * count + tail, written in the time it takes to checksum it."""
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as member:
        # zipfile's writer keeps the size and CRC itself and hands the bytes to its compressor;
        # swapping that one object is what makes a 5 GB member cost seconds instead of minutes.
        member._compressor = _RepeatingDeflate()
        member.write(head)
        for _ in range(count):
            member.write(block)
        member.write(tail)


def _office_with_part(template: bytes, part: str, head: bytes, block: bytes, count: int, tail: bytes,
                      out: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(template)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest:
        for info in source.infolist():
            if info.filename != part:
                dest.writestr(info, source.read(info))
        _write_repeated_member(dest, part, head, block, count, tail)


def _docx_template() -> bytes:
    import docx

    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("template")
    document.save(buffer)
    return buffer.getvalue()


def _pptx_template() -> bytes:
    from pptx import Presentation

    buffer = io.BytesIO()
    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = "template"
    presentation.save(buffer)
    return buffer.getvalue()


_DOCX_HEAD = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{_W}"><w:body>'.encode()
_DOCX_TAIL = b"</w:body></w:document>"


def _paragraphs_block(open_tags: bytes, close_tags: bytes) -> bytes:
    """About 1 MB of paragraphs of 1,000 letters (XML parsers refuse one text node of many megabytes)."""
    paragraph = open_tags + b"a" * 1000 + close_tags
    return paragraph * (2**20 // len(paragraph))


def write_docx_bomb(out: Path, size: int) -> Path:
    block = _paragraphs_block(b"<w:p><w:r><w:t>", b"</w:t></w:r></w:p>")
    _office_with_part(_docx_template(), "word/document.xml", _DOCX_HEAD, block, max(1, size // len(block)),
                      _DOCX_TAIL, out)
    return out


def write_pptx_bomb(out: Path, size: int) -> Path:
    block = _paragraphs_block(b"<a:p><a:r><a:t>", b"</a:t></a:r></a:p>")
    head = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sld xmlns:a="{_A}" xmlns:p="{_P}">'
            f'<p:cSld><p:spTree><p:sp><p:nvSpPr><p:cNvPr id="2" name="t"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>'
            f'<p:spPr/><p:txBody><a:bodyPr/>').encode()
    tail = b"</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
    _office_with_part(_pptx_template(), "ppt/slides/slide1.xml", head, block, max(1, size // len(block)), tail,
                      out)
    return out


def write_many_paragraphs_docx(out: Path, paragraphs: int) -> Path:
    per_block = 10_000
    block = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * per_block
    _office_with_part(_docx_template(), "word/document.xml", _DOCX_HEAD, block, max(1, paragraphs // per_block),
                      _DOCX_TAIL, out)
    return out


def write_wide_table_docx(out: Path, cells: int) -> Path:
    head = _DOCX_HEAD + b"<w:tbl><w:tblGrid>" + b"<w:gridCol/>" * cells + b"</w:tblGrid><w:tr>"
    cell = b"<w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc>"
    _office_with_part(_docx_template(), "word/document.xml", head, cell, cells, b"</w:tr></w:tbl>" + _DOCX_TAIL, out)
    return out


# --- the attacks -------------------------------------------------------------------------------

def _fifo(folder: Path, sizes: Sizes) -> list[str]:
    if not hasattr(os, "mkfifo"):
        return []
    os.mkfifo(folder / "fifo.txt")
    return ["fifo.txt: a FIFO (opening it waits for a writer that never comes)"]


def _dev_zero(folder: Path, sizes: Sizes) -> list[str]:
    if not os.path.exists("/dev/zero"):
        return []
    os.symlink("/dev/zero", folder / "zero.txt")
    return ["zero.txt -> /dev/zero (reading it never ends)"]


def _bombs(folder: Path, sizes: Sizes) -> list[str]:
    docx_path = write_docx_bomb(folder / "bomb.docx", sizes.bomb_bytes)
    pptx_path = write_pptx_bomb(folder / "bomb.pptx", sizes.bomb_bytes)
    gb = sizes.bomb_bytes / 2**30
    return [f"bomb.docx: {docx_path.stat().st_size / 2**20:.1f} MB holding a {gb:g} GB document.xml",
            f"bomb.pptx: {pptx_path.stat().st_size / 2**20:.1f} MB holding a {gb:g} GB slide"]


def _names(folder: Path, sizes: Sizes) -> list[str]:
    brackets = folder / "a["
    brackets.mkdir()
    (brackets / "]b.txt").write_text("角括弧の名前のファイル。", encoding="utf-8")
    (folder / "[bold red]markup.txt").write_text("マークアップの名前。", encoding="utf-8")
    (folder / "esc\x1b[31mred\x1b[0m.txt").write_text("制御文字の名前。", encoding="utf-8")
    (folder / "bell\x07tab\tcr\r.txt").write_text("制御文字の名前。", encoding="utf-8")
    return ["a[/]b.txt: brackets across a folder and a file name (rich markup)",
            "[bold red]markup.txt: rich markup in a file name",
            "esc\\x1b[31mred\\x1b[0m.txt, bell\\x07tab\\tcr\\r.txt: terminal control characters in names"]


def _long_lines(folder: Path, sizes: Sizes) -> list[str]:
    import base64

    kana = "あいうえおかきくけこさしすせそたちつてとなにぬねの日本語文書検索"
    text = (kana * (sizes.unbroken_chars // len(kana) + 1))[:sizes.unbroken_chars]
    (folder / "unbroken-japanese.txt").write_text(text, encoding="utf-8")
    raw = bytes(range(256)) * (sizes.base64_bytes * 3 // 4 // 256 + 1)
    (folder / "one-line-base64.txt").write_bytes(base64.b64encode(raw)[:sizes.base64_bytes])
    (folder / "amp.html").write_bytes(b"<html><body><p>" + b"&amp;" * (sizes.amp_bytes // 5) + b"</p></body></html>")
    (folder / "unclosed-tags.html").write_bytes(b"<html><body><p>" + b"</" * (sizes.unclosed_tags_bytes // 2))
    (folder / "combining-marks.txt").write_text("a" + "\u0301" * sizes.unbroken_chars, encoding="utf-8")
    return [f"unbroken-japanese.txt: {len(text):,} characters without punctuation or line breaks",
            f"one-line-base64.txt: {sizes.base64_bytes:,} bytes of base64 on one line",
            f"amp.html: {sizes.amp_bytes / 2**20:g} MB of &amp;",
            f"unclosed-tags.html: {sizes.unclosed_tags_bytes:,} bytes of </ never closed (html.parser rescans for >)",
            f"combining-marks.txt: one letter and {sizes.unbroken_chars:,} combining accents (one endless grapheme)"]


def _many_paragraphs(folder: Path, sizes: Sizes) -> list[str]:
    path = write_many_paragraphs_docx(folder / "paragraphs.docx", sizes.paragraphs)
    return [f"paragraphs.docx: {sizes.paragraphs:,} paragraphs in a {path.stat().st_size / 2**10:.0f} KB file"]


def _wide_table(folder: Path, sizes: Sizes) -> list[str]:
    path = write_wide_table_docx(folder / "wide-table.docx", sizes.table_cells)
    return [f"wide-table.docx: a table row of {sizes.table_cells:,} cells in a {path.stat().st_size / 2**10:.0f} KB file"]


def _external_links(folder: Path, sizes: Sizes) -> list[str]:
    wrote = []
    if os.path.exists("/etc/passwd"):
        os.symlink("/etc/passwd", folder / "p.txt")
        wrote.append("p.txt -> /etc/passwd (a file outside the folder)")
    if os.path.isdir("/etc"):
        os.symlink("/etc", folder / "etc")
        wrote.append("etc -> /etc (a folder outside the folder)")
    return wrote


# --- model files (issue 12, items 9 and 10, and the tracebacks list) ---------------------------

# A Qwen3 config and a byte-level BPE tokenizer small enough to write by hand: enough for a folder
# to pass the checks that come before the attack.
_TINY_CONFIG = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 8,
                "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
                "head_dim": 4, "vocab_size": 4}
_TINY_TOKENIZER = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
                   "pre_tokenizer": None, "post_processor": None, "decoder": None,
                   "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                             "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                             "vocab": {"a": 0, "b": 1, "c": 2, "d": 3}, "merges": []}}

# Chat templates that try to exhaust memory or time, or break the renderer.
HOSTILE_TEMPLATES = {
    "repeat": "{{ 'A' * 4000000000 }}",
    "center": "{{ 'a' | center(4000000000) }}",
    "ljust": "{{ 'a'.ljust(4000000000) }}",
    "format-width": "{{ '{:4000000000}'.format('a') }}",
    "percent-width": "{{ '%4000000000s' % 'a' }}",
    "nested-range": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "huge-range": "{% for i in range(10**12) %}{% endfor %}",
    "doubling": "{% set ns = namespace(x='ab') %}{% for i in range(64) %}{% set ns.x = ns.x ~ ns.x %}"
                "{% endfor %}{{ ns.x }}",
    "macro-recursion": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "macro-doubling": "{% macro f(x) %}{{ f(x ~ x) }}{% endmacro %}{{ f('ab') }}",
    "include": "{% include 'secret.txt' %}",
    "syntax-error": "{% for %}",
    "deep-nesting": "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
    "replace-amplifier": "{{ ('a' * 1000).replace('', 'b' * 8000000) }}",
    "join-amplifier": "{{ range(100000) | map('string') | join('x' * 8000000) }}",
    "indent-amplifier": "{{ ('\n' * 100000) | indent(8000000) }}",
    "printed-nesting": "{% set a = [0] * 2000000 %}{% set b = [a, a, a, a, a, a, a, a] %}{{ b }}",
    "concatenated-nesting": "{% set a = [0] * 2000000 %}{{ [a, a, a, a, a, a, a, a] ~ '' }}",
}


def _gguf_bytes(n_tensors: int, kvs: list[bytes]) -> bytes:
    import struct

    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(kvs)) + b"".join(kvs)


def _gguf_key(key: str, vtype: int, value: bytes) -> bytes:
    import struct

    raw = key.encode()
    return struct.pack("<Q", len(raw)) + raw + struct.pack("<I", vtype) + value


def write_nested_gguf(out: Path, depth: int = 100_000) -> Path:
    """Metadata arrays of arrays `depth` deep: a recursive reader ends in RecursionError."""
    import struct

    nested = struct.pack("<IQ", 9, 1) * depth + struct.pack("<IQ", 4, 0)  # array(array(...(uint32[0])))
    out.write_bytes(_gguf_bytes(0, [_gguf_key("general.architecture", 8, struct.pack("<Q", 5) + b"qwen3"),
                                    _gguf_key("general.nested", 9, nested)]))
    return out


def write_gguf_claiming_tensors(out: Path, count: int = 2**62) -> Path:
    """A GGUF of under 100 bytes that claims `count` tensors."""
    import struct

    out.write_bytes(_gguf_bytes(count, [_gguf_key("general.architecture", 8, struct.pack("<Q", 5) + b"qwen3")]))
    return out


def write_truncated_gguf(out: Path) -> Path:
    """A Qwen3 chat GGUF whose one tensor is cut in half: its header reads fine."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(out, "qwen3")
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_context_length(64)
    writer.add_tensor("token_embd.weight", np.ones((256, 64), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with open(out, "r+b") as fh:
        fh.truncate(out.stat().st_size - 32 * 1024)
    return out


def write_tiny_checkpoint(folder: Path) -> Path:
    """config.json and tokenizer.json only: a folder that passes the checks before the weights."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(_TINY_CONFIG), encoding="utf-8")
    (folder / "tokenizer.json").write_text(json.dumps(_TINY_TOKENIZER), encoding="utf-8")
    return folder


def write_nested_safetensors(folder: Path, depth: int = 100_000) -> Path:
    """A checkpoint whose safetensors header is JSON nested `depth` deep."""
    header = b'{"a":' + b"[" * depth + b"]" * depth + b"}"
    write_tiny_checkpoint(folder)
    (folder / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    return folder


def write_escaping_weight_map(folder: Path, shard: str = "../../outside.safetensors") -> Path:
    """A checkpoint whose shard index sends a tensor to a file outside the folder."""
    import json

    write_tiny_checkpoint(folder)
    index = {"metadata": {}, "weight_map": {"model.embed_tokens.weight": shard}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index), encoding="utf-8")
    return folder


def write_linked_model_folder(folder: Path, *, target: Path | None = None) -> dict[str, Path]:
    """Model folders holding a link out of the folder (to `target`, default /etc/passwd), a link
    loop, and a link to a parent folder; one folder each, by attack name."""
    made = {}
    for name in ("link-out", "link-loop", "link-up"):
        made[name] = write_tiny_checkpoint(folder / name)
    os.symlink(target or Path("/etc/passwd"), made["link-out"] / "secret.txt")
    os.symlink("loop.json", made["link-loop"] / "loop.json")
    os.symlink("..", made["link-up"] / "up")
    return made


def _models(folder: Path, sizes: Sizes) -> list[str]:
    root = folder / "models"
    root.mkdir()
    write_nested_gguf(root / "nested-metadata.gguf")
    write_gguf_claiming_tensors(root / "absurd-tensor-count.gguf")
    write_truncated_gguf(root / "truncated.gguf")
    write_nested_safetensors(root / "nested-safetensors")
    write_escaping_weight_map(root / "weight-map-escape")
    write_linked_model_folder(root)
    templates = root / "chat-templates"
    templates.mkdir()
    for name, source in HOSTILE_TEMPLATES.items():
        (templates / f"{name}.jinja").write_text(source, encoding="utf-8")
    return ["models/nested-metadata.gguf: metadata arrays nested 100,000 deep",
            "models/absurd-tensor-count.gguf: claims 2**62 tensors in under 100 bytes",
            "models/truncated.gguf: a Qwen3 GGUF cut inside its tensor data",
            "models/nested-safetensors/: a safetensors header nested 100,000 deep",
            "models/weight-map-escape/: weight_map names ../../outside.safetensors",
            "models/link-out/secret.txt -> /etc/passwd, models/link-loop/loop.json -> itself, models/link-up/up -> ..",
            f"models/chat-templates/: {len(HOSTILE_TEMPLATES)} hostile chat templates "
            f"({', '.join(HOSTILE_TEMPLATES)})"]


ATTACKS: dict[str, Callable[[Path, Sizes], list[str]]] = {
    "fifo": _fifo,
    "dev-zero": _dev_zero,
    "zip-bombs": _bombs,
    "names": _names,
    "long-lines": _long_lines,
    "many-paragraphs": _many_paragraphs,
    "wide-table": _wide_table,
    "external-links": _external_links,
    "models": _models,
}


def write_corpus(out: Path, *, small: bool = False, only: list[str] | None = None) -> list[str]:
    """Write the attacks (all, or those named in `only`) under `out`; one line per file written."""
    out.mkdir(parents=True, exist_ok=True)
    sizes = SMALL if small else FULL
    lines = []
    for name, attack in ATTACKS.items():
        if only is None or name in only:
            lines += attack(out, sizes)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the folder to write into (created)")
    parser.add_argument("--small", action="store_true", help="test sizes: quick to build and to add")
    parser.add_argument("--only", nargs="+", choices=sorted(ATTACKS), help="just these attacks")
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty")
    for line in write_corpus(args.out, small=args.small, only=args.only):
        print(line.encode("unicode_escape").decode("ascii") if not line.isprintable() else line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
