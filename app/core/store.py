"""The library's database: the only module that imports lancedb (lance_reader.py reads through its native core).

Two tables in one embedded LanceDB database under the data directory:

- `sources`: one row per file (path in NFC, content hash, size, mtime, status, error, parser
  version, chunk count, image facts and thumbnail);
- `chunks`: one row per chunk (original text, NFKC search text, page/slide/heading, character
  offsets) and, once phase 2 has run, its vector. The vector column carries the embedder's id
  and dimension in its field metadata; `vector_hash` is the text hash the vector was computed
  from, so a chunk whose text changed is re-embedded and the rest keep their vectors.

Crash safety comes from LanceDB's atomic commits and the order of writes: a batch of files
first replaces its chunks in one merge (upsert on chunk id, deleting the batch's other
chunks), then records its sources in a second. A kill between the two leaves whole files
and makes the next run redo the batch, with the same chunk ids: no duplicates.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IpponError
from ..locale import _
from .analysis import ANALYSIS_VERSION, analyzer
from . import lexical_rank
from .lance_reader import LanceReader, can_run_here, open_reader

FLAT_SEARCH_LIMIT = 20_000  # vectors; above this an IVF_HNSW_SQ index is built

# The analysed terms of each chunk (app/core/analysis.py), full-text indexed as they are. The field's
# metadata names the analysis that made them; a library from older code fills a column of the other
# name first and renames it when whole, so a search never sees half an index (`upgrade_index`).
TERMS = "search_terms"
_TERMS_FILLING = "search_terms_filling"
_TERMS_BATCH = 2000

# Left out of the full-text index and of queries: particles and auxiliaries would otherwise make
# every Japanese question match every chunk ("の"), and drown the words that matter in BM25.
STOP_WORDS = (
    "の", "は", "が", "を", "に", "へ", "と", "で", "も", "や", "か", "ね", "よ", "な", "から", "まで", "より",
    "です", "ます", "でした", "ました", "ません", "ある", "いる", "する", "した", "して", "され", "れる", "られる",
    "この", "その", "あの", "どの", "これ", "それ", "あれ", "こと", "もの", "ため", "よう", "など", "について",
    "何", "なに", "どう", "どこ", "いつ", "だれ", "誰", "ですか", "ますか", "でしょうか",
    "a", "an", "the", "is", "are", "was", "were", "be", "of", "to", "in", "on", "at", "by", "for", "with",
    "and", "or", "it", "this", "that", "what", "how", "which", "who", "when", "where", "do", "does", "did",
)


class StoreError(IpponError):
    """The library database cannot be used as asked."""


class EmbedderMismatchError(StoreError):
    """The stored vectors come from another embedder (or dimension)."""


def normalize_path(path: Path | str) -> str:
    """One spelling per file: absolute, NFC (macOS hands out NFD names)."""
    return unicodedata.normalize("NFC", str(Path(path).expanduser().absolute()))


def search_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def source_id_for(path: str) -> str:
    return hashlib.blake2b(path.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


@dataclass(slots=True)
class SourceRecord:
    source_id: str
    path: str
    format: str
    size: int
    mtime_ns: int
    content_hash: str
    status: str  # "indexed" | "failed" (could not be read) | "skipped" (a link not followed); `error` says why
    error: str | None = None
    warnings: str | None = None
    parser_version: int = 0
    chunker: str = ""
    chunks: int = 0
    title: str | None = None
    indexed_at: datetime | None = None
    image_width: int | None = None
    image_height: int | None = None
    taken_at: datetime | None = None
    thumbnail: bytes | None = None


@dataclass(slots=True)
class ChunkRecord:
    chunk_id: str
    source_id: str
    ordinal: int
    path: str
    format: str
    text: str
    search_text: str
    text_hash: str
    page: int | None
    slide: int | None
    heading: str | None
    kind: str
    char_start: int
    char_end: int
    mtime_ns: int


@dataclass(slots=True)
class FileUpdate:
    """What one file becomes: its source row, and its chunks (empty for a failed file)."""

    source: SourceRecord
    chunks: list[ChunkRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: str
    source_id: str
    path: str
    text: str
    page: int | None
    slide: int | None
    heading: str | None
    char_start: int
    char_end: int
    score: float


# What a Hit is read from: every search selects only these, never the vectors or the search text.
_HIT_COLUMNS = [f.name for f in fields(Hit) if f.name != "score"]


def _schema(record_type: type, pa: Any) -> Any:
    types = {"str": pa.string(), "str | None": pa.string(), "int": pa.int64(), "int | None": pa.int64(),
             "datetime | None": pa.timestamp("us", tz="UTC"), "bytes | None": pa.binary()}
    columns = [pa.field(f.name, types[str(f.type)]) for f in fields(record_type)]
    if record_type is ChunkRecord:
        columns.append(_terms_field(TERMS, pa))
    return pa.schema(columns)


def _terms_field(name: str, pa: Any) -> Any:
    return pa.field(name, pa.string(), nullable=True, metadata={"analysis": ANALYSIS_VERSION})


class LibraryStore:
    """The library database. One writer at a time (the ingest holds a lock); readers any time."""

    def __init__(self, data_dir: Path) -> None:
        try:
            import pyarrow as pa
        except ImportError as exc:
            raise StoreError(_("the library needs lancedb: please install it (pip install lancedb)")) from exc
        self._pa = pa
        self.path = Path(data_dir) / "library"
        self.path.mkdir(parents=True, exist_ok=True)
        self._db: Any = None
        self._connecting = threading.Lock()  # the window's threads may open the tables at once
        # Reads that do not need lancedb's Python layer go through its native core: a short command
        # then never pays the package's import (lance_reader.py says why and how it stays honest).
        self._reader = open_reader(self.path)
        self._reader_checked = False

    def _connect(self) -> None:
        try:
            import lancedb
        except ImportError as exc:
            raise StoreError(_("the library needs lancedb: please install it (pip install lancedb)")) from exc
        with self._connecting:
            if self._db is not None:
                return
            # Check for newer versions on every read: the GUI searches while another process ingests.
            db = lancedb.connect(str(self.path), read_consistency_interval=timedelta(0))
            self._tables = {"sources": self._table(db, "sources", SourceRecord),
                            "chunks": self._table(db, "chunks", ChunkRecord)}
            self._db = db

    @property
    def _sources(self) -> Any:
        if self._db is None:
            self._connect()
        return self._tables["sources"]

    @property
    def _chunks(self) -> Any:
        if self._db is None:
            self._connect()
        return self._tables["chunks"]

    def _table(self, db: Any, name: str, record_type: type) -> Any:
        try:
            return db.open_table(name)
        except ValueError:  # lancedb's "table not found"
            return db.create_table(name, schema=_schema(record_type, self._pa), exist_ok=True)

    def _native(self) -> LanceReader | None:
        """The native reader when it can serve this call (not inside a running event loop)."""
        if self._reader is None or not can_run_here():
            return None
        if not self._reader_checked:
            self._reader_checked = True
            if not self._reader.usable():
                self._reader = None
        return self._reader

    # --- sources ------------------------------------------------------------------------

    def sources(self, *, with_thumbnails: bool = False) -> list[SourceRecord]:
        columns = [f.name for f in fields(SourceRecord) if with_thumbnails or f.name != "thumbnail"]
        reader = self._native()
        if reader is not None:
            rows = reader.scan("sources", columns, timestamps=[f.name for f in fields(SourceRecord)
                                                                if str(f.type) == "datetime | None"])
        else:
            rows = self._sources.search().select(columns).limit(None).to_arrow().to_pylist()
        return sorted((SourceRecord(**row) for row in rows), key=lambda s: s.path)

    def source(self, source_id: str) -> SourceRecord | None:
        rows = self._sources.search().where(f"source_id = '{_quote(source_id)}'").limit(1).to_arrow().to_pylist()
        return SourceRecord(**rows[0]) if rows else None

    def write_files(self, updates: Sequence[FileUpdate]) -> None:
        """Replace the chunks of these files, then record them; each step is one atomic commit."""
        if not updates:
            return
        pa = self._pa
        ids = ", ".join(f"'{_quote(u.source.source_id)}'" for u in updates)
        chunk_rows = [_row(c) for u in updates for c in u.chunks]
        if chunk_rows:
            table = pa.Table.from_pylist(chunk_rows, schema=_schema(ChunkRecord, pa))
            (self._chunks.merge_insert("chunk_id").when_matched_update_all().when_not_matched_insert_all()
             .when_not_matched_by_source_delete(f"source_id IN ({ids})").execute(table))
        else:
            self._chunks.delete(f"source_id IN ({ids})")
        sources = pa.Table.from_pylist([_row(u.source) for u in updates], schema=_schema(SourceRecord, pa))
        self._sources.merge_insert("source_id").when_matched_update_all().when_not_matched_insert_all().execute(sources)

    def remove_sources(self, source_ids: Iterable[str]) -> int:
        """Forget these files. Their source rows go first: a kill before their chunks follow
        leaves chunks of no file, which `repair` deletes. (The other order left files recorded
        as indexed with no chunks, which a later add took for unchanged: lost for good.)"""
        ids = list(source_ids)
        for start in range(0, len(ids), 500):
            quoted = ", ".join(f"'{_quote(i)}'" for i in ids[start:start + 500])
            self._sources.delete(f"source_id IN ({quoted})")
            self._chunks.delete(f"source_id IN ({quoted})")
        return len(ids)

    def chunk_counts(self) -> dict[str, int]:
        """source id -> how many chunks the table really holds for it."""
        import pyarrow.compute as pc

        column = self._chunks.search().select(["source_id"]).limit(None).to_arrow()["source_id"]
        return {row["values"]: row["counts"] for row in pc.value_counts(column).to_pylist()}

    def repair(self) -> int:
        """Delete the chunks of files no longer recorded (left by a writer killed while removing
        files). Every writer runs this first; returns how many files' chunks went."""
        known = set(self._sources.search().select(["source_id"]).limit(None).to_arrow()["source_id"].to_pylist())
        orphans = [source_id for source_id in self.chunk_counts() if source_id not in known]
        for start in range(0, len(orphans), 500):
            quoted = ", ".join(f"'{_quote(i)}'" for i in orphans[start:start + 500])
            self._chunks.delete(f"source_id IN ({quoted})")
        return len(orphans)

    # --- vectors ------------------------------------------------------------------------

    def embedder(self) -> tuple[str, int] | None:
        """(embedder id, dimension) of the stored vectors, or None before any."""
        reader = self._native()
        if reader is not None and not reader.exists("chunks"):
            return None
        schema = reader.schema("chunks") if reader is not None else self._chunks.schema
        if "vector" not in schema.names:
            return None
        meta = schema.field("vector").metadata or {}
        return meta.get(b"embedder", b"").decode(), int(meta.get(b"dim", b"0"))

    def use_embedder(self, embedder_id: str, dim: int, *, replace: bool = False) -> None:
        """Prepare the vector column for this embedder; refuse another one unless `replace`, which drops
        every stored vector (the same name may now be another file: a re-conversion)."""
        current = self.embedder()
        if current == (embedder_id, dim) and not replace:
            return
        if current is not None and not replace:
            raise EmbedderMismatchError(
                _("the library's vectors come from {old} ({old_dim} dimensions), not {new} ({new_dim}); run `ippon "
                  "reindex --vectors` to compute them again with the new embedder").format(
                    old=current[0], old_dim=current[1], new=embedder_id, new_dim=dim))
        pa = self._pa
        if current is not None:
            self._chunks.drop_columns(["vector", "vector_hash"])
        meta = {"embedder": embedder_id, "dim": str(dim)}
        self._chunks.add_columns([pa.field("vector", pa.list_(pa.float32(), dim), nullable=True, metadata=meta),
                                  pa.field("vector_hash", pa.string(), nullable=True)])

    def pending_vectors(self, limit: int | None = None) -> list[tuple[str, str, str]]:
        """(chunk id, search text, text hash) of chunks with no vector, or one from older text."""
        if self.embedder() is None:
            return []
        query = (self._chunks.search().where("vector_hash IS NULL OR vector_hash != text_hash")
                 .select(["chunk_id", "search_text", "text_hash"]).limit(limit))
        return [(r["chunk_id"], r["search_text"], r["text_hash"]) for r in query.to_arrow().to_pylist()]

    def count_pending_vectors(self) -> int:
        if self.embedder() is None:
            return self._chunks.count_rows()
        return self._chunks.count_rows("vector_hash IS NULL OR vector_hash != text_hash")

    def write_vectors(self, chunk_ids: Sequence[str], hashes: Sequence[str], vectors: np.ndarray) -> None:
        pa = self._pa
        dim = vectors.shape[1]
        table = pa.table({"chunk_id": pa.array(list(chunk_ids), pa.string()),
                          "vector": pa.FixedSizeListArray.from_arrays(
                              pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel()), dim),
                          "vector_hash": pa.array(list(hashes), pa.string())})
        # Only rows that still exist are updated: a file removed meanwhile keeps no stray vector.
        self._chunks.merge_insert("chunk_id").when_matched_update_all().execute(table)

    # --- indexes and search -------------------------------------------------------------

    def optimize(self) -> None:
        """Build the indexes that are missing and fold new rows into them; drop old versions."""
        names = {i.name for i in self._chunks.list_indices()}
        if f"{TERMS}_idx" not in names and self._terms_version() == ANALYSIS_VERSION and self._chunks.count_rows():
            self._index_terms()
        if self.embedder() is not None and "vector_idx" not in names:
            with_vectors = self._chunks.count_rows("vector IS NOT NULL")
            if with_vectors > FLAT_SEARCH_LIMIT:
                self._chunks.create_index(metric="cosine", vector_column_name="vector", index_type="IVF_HNSW_SQ",
                                          name="vector_idx")
        for table in (self._chunks, self._sources):
            table.optimize(cleanup_older_than=timedelta(minutes=5))

    def count_chunks(self) -> int:
        reader = self._native()
        return reader.count_rows("chunks") if reader is not None else self._chunks.count_rows()

    def search_lexical(self, query: str, *, limit: int = 20, where: str | None = None) -> list[Hit]:
        """The chunks that best match the query's words, compound parts and spelling variants (BM25, then the
        best few reordered by how well they hold the question's words: lexical_rank.py)."""
        text = search_text(query).strip()
        if not text or not self.count_chunks():
            return []
        if self._terms_version() is None:
            # A library from before the analysed terms, not upgraded yet (another process holds the lock):
            # its ICU index still answers.
            rows = self._full_text("search_text", text, limit=limit, where=where)
        else:
            analysis = analyzer().query_terms(text)
            if not analysis.terms:
                return []  # only particles and question words: nothing decides a ranking
            rows = self._full_text(TERMS, analysis.terms, limit=max(limit, lexical_rank.RESCORE_DEPTH),
                                   where=where, extra=[TERMS])
            rows = lexical_rank.drop_character_matches(rows, analysis.words, analysis.grams, terms_key=TERMS)
            rows = lexical_rank.rescore(rows, analysis.words, terms_key=TERMS)[:limit]
        return [_hit(r, r["_score"]) for r in rows]

    # --- the analysed terms: version and upgrade --------------------------------------------

    def _terms_version(self, name: str = TERMS) -> str | None:
        reader = self._native()
        if reader is not None and not reader.exists("chunks"):
            return ANALYSIS_VERSION  # a new library: its table is made with the current terms
        schema = reader.schema("chunks") if reader is not None else self._chunks.schema
        if name not in schema.names:
            return None
        return (schema.field(name).metadata or {}).get(b"analysis", b"").decode()

    def index_outdated(self) -> bool:
        """True when the keyword index comes from an older analysis (or none): `upgrade_index` rebuilds it."""
        return self._terms_version() != ANALYSIS_VERSION and self.count_chunks() > 0

    def upgrade_index(self, *, progress: Callable[[int, int], None] | None = None,
                      cancel: threading.Event | None = None) -> int:
        """Analyse every chunk's text again into the current terms and index them; returns the chunks done.

        Resumable: a cancelled or killed run leaves a half-filled column under another name, which the
        next run continues. Searches keep using the old index until the new one is whole. The caller holds
        the library's write lock.
        """
        if not self.index_outdated():
            return 0
        table, pa = self._chunks, self._pa
        if self._terms_version(_TERMS_FILLING) not in (None, ANALYSIS_VERSION):
            table.drop_columns([_TERMS_FILLING])  # left by a run of other code: start over
        if _TERMS_FILLING not in table.schema.names:
            table.add_columns([_terms_field(_TERMS_FILLING, pa)])
        total, done = table.count_rows(), table.count_rows(f"{_TERMS_FILLING} IS NOT NULL")
        analyse = analyzer().analyse
        while True:
            if cancel is not None and cancel.is_set():
                return done
            rows = (table.search().where(f"{_TERMS_FILLING} IS NULL").select(["chunk_id", "search_text"])
                    .limit(_TERMS_BATCH).to_arrow())
            if not rows.num_rows:
                break
            terms = [analyse(text).terms for text in rows["search_text"].to_pylist()]
            batch = pa.table({"chunk_id": rows["chunk_id"], _TERMS_FILLING: pa.array(terms, pa.string())})
            table.merge_insert("chunk_id").when_matched_update_all().execute(batch)
            done += rows.num_rows
            if progress is not None:
                progress(done, total)
        names = {i.name for i in table.list_indices()}
        if TERMS in table.schema.names:
            if f"{TERMS}_idx" in names:
                table.drop_index(f"{TERMS}_idx")
            table.drop_columns([TERMS])
        table.alter_columns({"path": _TERMS_FILLING, "rename": TERMS})
        self._index_terms()
        if "search_text_idx" in names:
            table.drop_index("search_text_idx")  # the ICU index of older libraries: nothing reads it now
        table.optimize(cleanup_older_than=timedelta(minutes=5))
        return done

    def _index_terms(self) -> None:
        from lancedb.index import FTS

        # The terms are final (analysis.py): split on spaces only, no stemming, no stop words of lance's.
        self._chunks.create_index(TERMS, config=FTS(base_tokenizer="whitespace", lower_case=True, stem=False,
                                                    remove_stop_words=False, ascii_folding=True,
                                                    max_token_length=64), replace=True)

    def _full_text(self, column: str, text: str, *, limit: int, where: str | None,
                   extra: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Rows (the Hit columns, `extra` ones and `_score`) of the best `limit` matches of `text` in `column`'s
        index."""
        columns = [*_HIT_COLUMNS, *extra]
        reader = self._native()
        if reader is not None:
            return reader.full_text("chunks", column=column, text=text, columns=columns, limit=limit,
                                    where=where).to_pylist()
        q = self._chunks.search(text, query_type="fts", fts_columns=column)
        if where:
            q = q.where(where, prefilter=True)
        return q.select([*columns, "_score"]).limit(limit).to_arrow().to_pylist()

    def search_vector(self, vector: np.ndarray, *, limit: int = 20, where: str | None = None) -> list[Hit]:
        if self.embedder() is None:
            return []
        q = self._chunks.search(np.asarray(vector, dtype=np.float32), vector_column_name="vector").metric("cosine")
        if where:  # rows without a vector are never returned: no filter is needed for them
            q = q.where(where, prefilter=True)
        rows = q.select([*_HIT_COLUMNS, "_distance"]).limit(limit).to_arrow().to_pylist()
        return [_hit(r, 1.0 - r["_distance"]) for r in rows]

    def all_chunks(self, *, with_vectors: bool = False) -> tuple[list[Hit], list[str], np.ndarray | None]:
        """Every chunk as a Hit, its search text, and (when asked and present) its stored vector."""
        names = [*_HIT_COLUMNS, "search_text"]
        vectors = with_vectors and self.embedder() is not None
        query = self._chunks.search()
        if vectors:
            query = query.where("vector IS NOT NULL")
        rows = query.select(names + (["vector"] if vectors else [])).limit(None).to_arrow()
        hits = [_hit(r, 0.0) for r in rows.select(names).to_pylist()]
        matrix = np.asarray(rows["vector"].to_pylist(), dtype=np.float32) if vectors and len(hits) else None
        return hits, rows["search_text"].to_pylist(), matrix

    def chunks_of(self, source_id: str) -> list[ChunkRecord]:
        names = [f.name for f in fields(ChunkRecord)]
        rows = (self._chunks.search().where(f"source_id = '{_quote(source_id)}'").select(names).limit(None)
                .to_arrow().to_pylist())
        return sorted((ChunkRecord(**r) for r in rows), key=lambda c: c.ordinal)

    def iter_chunk_ids(self) -> Iterator[str]:
        yield from self._chunks.search().select(["chunk_id"]).limit(None).to_arrow()["chunk_id"].to_pylist()


def _hit(row: dict[str, Any], score: float) -> Hit:
    return Hit(**{name: row[name] for name in _HIT_COLUMNS}, score=float(score))


def _row(record: Any) -> dict[str, Any]:
    row = {f.name: getattr(record, f.name) for f in fields(record)}
    if isinstance(record, ChunkRecord):  # every write of a chunk carries its analysed terms
        row[TERMS] = analyzer().analyse(record.search_text).terms
    for key, value in row.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            row[key] = value.replace(tzinfo=timezone.utc)
    return row


def _quote(value: str) -> str:
    return value.replace("'", "''")
