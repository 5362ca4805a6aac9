"""Read-only queries on the library's tables through lancedb's native core, without its Python layer.

Importing the `lancedb` package takes 1.1 s on an idle pair of cores and several seconds on busy
ones (its namespace client's pydantic models; pandas, through pyarrow.dataset), while the native
extension that does the work loads in about 20 ms. A short command that only reads (`ippon
sources`, `ippon search`) would spend most of its life on that import, so the store reads through
the extension directly and imports the package only for what this module does not do: every
write, the indexes, vector search.

The extension's interface is not lancedb's public API. `open_reader` returns None when it does not
look as this module expects, and `usable` is False when its connect takes other arguments (found
on first use); the store then reads through the public API as before;
tests/core/test_lance_reader.py checks that both give the same rows and that the lancedb installed
gets the fast path. Nothing here writes, so the store's crash guarantees are untouched.
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

_NATIVE = "lancedb._lancedb"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _native_module() -> Any:
    """lancedb's extension module, loaded on its own when the package is not imported yet."""
    if _NATIVE in sys.modules:
        return sys.modules[_NATIVE]
    spec = importlib.util.find_spec("lancedb")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = [p for suffix in importlib.machinery.EXTENSION_SUFFIXES for p in folder.glob(f"_lancedb{suffix}")]
    if not found:
        return None
    loader = importlib.machinery.ExtensionFileLoader(_NATIVE, str(found[0]))
    module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(_NATIVE, found[0],
                                                                                     loader=loader))
    loader.exec_module(module)
    # The package, if imported later in this process, takes this same module (an extension loads once).
    sys.modules[_NATIVE] = module
    return module


class LanceReader:
    """Reads the tables of one LanceDB folder; always the newest committed version of each."""

    def __init__(self, native: Any, folder: Path) -> None:
        self._native = native
        self.folder = folder
        self._connection: Any = None

    def _run(self, work: Any) -> Any:
        return asyncio.run(work)

    async def _connect(self) -> Any:
        if self._connection is None:
            # read_consistency_interval 0: every read sees what other processes committed.
            self._connection = await self._native.connect(str(self.folder), None, None, None, None, 0.0,
                                                          None, None, None)
        return self._connection

    async def _table(self, name: str) -> Any:
        return await (await self._connect()).open_table(name)

    def usable(self) -> bool:
        """Whether the native core takes the calls this module makes (connects once to find out)."""
        try:
            self._run(self._connect())
        except (TypeError, AttributeError):  # another lancedb's interface: its public API reads instead
            return False
        return True

    def exists(self, name: str) -> bool:
        return (self.folder / f"{name}.lance" / "_versions").is_dir()

    def scan(self, name: str, columns: Sequence[str], *, timestamps: Sequence[str] = (),
             where: str | None = None) -> list[dict[str, Any]]:
        """The columns of every row ([] when the table does not exist yet). `timestamps` name the columns
        holding microsecond UTC timestamps: they come back as aware datetimes."""
        if not self.exists(name):
            return []

        async def work() -> Any:
            query = (await self._table(name)).query()
            if where:
                query.where(where)
            # Read as integers: pyarrow turns timestamps into datetimes through pandas, a 0.2-0.4 s import.
            query.select([(c, f"CAST({c} AS BIGINT)" if c in timestamps else c) for c in columns])
            return await _collect(await query.execute(None, None))

        rows = self._run(work()).to_pylist()
        for row in rows:
            for column in timestamps:
                if column in row and row[column] is not None:
                    row[column] = _EPOCH + timedelta(microseconds=row[column])
        return rows

    def full_text(self, name: str, *, column: str, text: str, columns: Sequence[str], limit: int,
                  where: str | None = None) -> Any:
        """The best `limit` rows for `text` in `column`'s full-text index, with `_score` (pyarrow Table)."""

        async def work() -> Any:
            query = (await self._table(name)).query().nearest_to_text({"query": text, "columns": [column]})
            if where:
                query.where(where)  # a prefilter, as the public API's where(..., prefilter=True)
            query.select_columns([*columns, "_score"])
            query.limit(limit)
            return await _collect(await query.execute(None, None))

        return self._run(work())

    def count_rows(self, name: str) -> int:
        if not self.exists(name):
            return 0

        async def work() -> int:
            return await (await self._table(name)).count_rows(None)

        return self._run(work())

    def schema(self, name: str) -> Any:
        async def work() -> Any:
            return await (await self._table(name)).schema()

        return self._run(work())


async def _collect(stream: Any) -> Any:
    import pyarrow as pa

    batches = [batch async for batch in stream]
    return pa.Table.from_batches(batches, schema=stream.schema)


_EXPECTED = ("connect",)
_EXPECTED_QUERY = ("where", "select", "select_columns", "limit", "nearest_to_text", "execute")


def open_reader(folder: Path) -> LanceReader | None:
    """A reader for this folder, or None when lancedb's native core is not the one this module knows
    (then the store reads through lancedb's public API)."""
    try:
        native = _native_module()
    except ImportError:
        return None
    if native is None or not all(hasattr(native, n) for n in _EXPECTED):
        return None
    query = getattr(native, "Query", None)
    if query is None or not all(hasattr(query, n) for n in _EXPECTED_QUERY):
        return None
    return LanceReader(native, Path(folder))


def can_run_here() -> bool:
    """asyncio.run cannot nest: inside a running event loop (the HTTP server) the public API reads."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return True
    return False
