"""CSV and TSV: rows as tab-separated lines, a section per 50 rows headed by the header row.

Every section's heading is the header row, so each chunk carries the column names and a
row stays searchable by them ("価格 1200" finds the row even in the thousandth line). The
delimiter follows the suffix for .tsv; for .csv it is sniffed among , ; tab and |, since
Japanese Excel exports and European ones do not always use commas.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ...locale import _
from .base import ParsedDocument, Section
from .reading import decode_file_text

ROWS_PER_SECTION = 50
_SNIFF_CHARS = 64 * 1024


def parse(path: Path, data: bytes) -> ParsedDocument:
    decoded = decode_file_text(path, data)
    fmt = "tsv" if path.suffix.lower() == ".tsv" else "csv"
    warnings = list(decoded.warnings)
    dialect = _dialect(decoded.text, fmt)
    try:
        rows = [row for row in csv.reader(io.StringIO(decoded.text, newline=""), dialect) if any(c.strip() for c in row)]
    except csv.Error as exc:
        # Unbalanced quotes or a giant field: the lines are still worth indexing as they are.
        warnings.append(_("could not be read as {format} ({reason}); indexed line by line").format(
            format=fmt.upper(), reason=exc))
        rows = [line.split(dialect.delimiter) for line in decoded.text.split("\n") if line.strip()]
    lines = ["\t".join(" ".join(cell.split("\n")).strip() for cell in row) for row in rows]
    sections = []
    if lines:
        heading = " | ".join(cell.strip() for cell in rows[0]) or None
        for start in range(1, max(len(lines), 2), ROWS_PER_SECTION):
            body = lines[start:start + ROWS_PER_SECTION]
            text = "\n".join(([lines[0]] if start == 1 else []) + body)
            sections.append(Section(text, heading=heading, kind="table"))
    return ParsedDocument(path, fmt, sections, encoding=decoded.encoding, warnings=warnings)


def _dialect(text: str, fmt: str) -> type[csv.Dialect] | csv.Dialect:
    if fmt == "tsv":
        return csv.excel_tab
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[:sample.rindex("\n")]  # whole lines only: a cut line misleads the sniffer
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel
