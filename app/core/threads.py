"""Conversations with the library: threads of turns, kept in SQLite in the data directory.

One `threads.db` holds a `threads` table (title, times) and a `turns` table (question, the
standalone question retrieval used, the retrieval settings, the numbered sources with their
chunk ids and offsets, answer, thinking, timings, models), as simonw/llm keeps its
`conversations` and `responses`. Every write is one transaction in WAL mode, and a turn is
written in two steps — question and sources before the model answers, the answer when it is
done — so a kill while answering loses at most the answer in progress. Turns and titles are
searched through an FTS5 index with the trigram tokenizer, which works for Japanese without
a word splitter.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from ..errors import IpponError
from ..locale import _
from .answer import Citation, source_label

TurnStatus = Literal["answering", "done", "cancelled", "failed"]
TITLE_CHARS = 80  # a thread's title comes from its first question; long ones are shortened with "…"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    search_question TEXT NOT NULL,
    retrieval TEXT NOT NULL,
    sources TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    thinking TEXT NOT NULL DEFAULT '',
    timings TEXT NOT NULL DEFAULT '{}',
    models TEXT NOT NULL DEFAULT '{}',
    notes TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL,
    UNIQUE (thread_id, position)
);
CREATE VIRTUAL TABLE IF NOT EXISTS turns_fts USING fts5(
    question, search_question, answer, content='turns', tokenize='trigram'
);
CREATE TRIGGER IF NOT EXISTS turns_ai AFTER INSERT ON turns BEGIN
    INSERT INTO turns_fts(rowid, question, search_question, answer)
    VALUES (new.rowid, new.question, new.search_question, new.answer);
END;
CREATE TRIGGER IF NOT EXISTS turns_ad AFTER DELETE ON turns BEGIN
    INSERT INTO turns_fts(turns_fts, rowid, question, search_question, answer)
    VALUES ('delete', old.rowid, old.question, old.search_question, old.answer);
END;
CREATE TRIGGER IF NOT EXISTS turns_au AFTER UPDATE ON turns BEGIN
    INSERT INTO turns_fts(turns_fts, rowid, question, search_question, answer)
    VALUES ('delete', old.rowid, old.question, old.search_question, old.answer);
    INSERT INTO turns_fts(rowid, question, search_question, answer)
    VALUES (new.rowid, new.question, new.search_question, new.answer);
END;
"""


class ThreadError(IpponError):
    """A thread that does not exist, or a store that cannot be read."""


class ThreadNotFoundError(ThreadError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class Turn:
    id: str
    thread_id: str
    position: int  # 1, 2, … in the order asked
    question: str  # as the user typed it
    search_question: str  # what retrieval searched for (the rewrite of a follow-up, else the question)
    retrieval: dict[str, Any]
    sources: list[Citation]
    answer: str
    thinking: str
    timings: dict[str, Any]
    models: dict[str, str]
    notes: list[str]  # what the user was told about this turn (a rewrite, dropped history, a fallback)
    status: TurnStatus  # "answering" when read back means the process died while answering
    created: float
    finished: float | None

    @property
    def rewritten(self) -> bool:
        return self.search_question != self.question

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "position": self.position, "question": self.question,
                "search_question": self.search_question, "rewritten": self.rewritten, "retrieval": self.retrieval,
                "sources": [c.as_dict() for c in self.sources], "answer": self.answer, "thinking": self.thinking,
                "timings": self.timings, "models": self.models, "notes": self.notes, "status": self.status,
                "created": self.created, "finished": self.finished}


@dataclass(frozen=True, slots=True)
class Thread:
    id: str
    title: str
    created: float
    updated: float
    turn_count: int
    turns: list[Turn] = field(default_factory=list)  # filled by ThreadStore.get

    def as_dict(self, *, with_turns: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "title": self.title, "created": self.created, "updated": self.updated,
                                "turns": self.turn_count}
        if with_turns:
            data["turns"] = [t.as_dict() for t in self.turns]
        return data


def title_from(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1] + "…"


def _new_id() -> str:
    # Sortable by creation time (milliseconds, hex), with random bits so two processes never collide.
    return f"{int(time.time() * 1000):011x}{secrets.token_hex(3)}"


class ThreadStore:
    """The threads of one data directory. Safe to open from several processes (SQLite WAL)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "threads.db"
        # One connection, used by the window's thread and the worker answering: one statement or
        # transaction at a time, or a rename during an answer would start a transaction inside another.
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ThreadError(_("{path}: cannot open the conversations: {reason}").format(path=self.path, reason=exc)
                              ) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: all of it is on disk, or none of it."""
        with self._lock, self._translated_errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise ThreadError(_("{path}: cannot save the conversation: {reason}").format(path=self.path, reason=exc)
                              ) from exc

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise ThreadError(_("{path}: cannot open the conversations: {reason}").format(
                    path=self.path, reason=exc)) from exc

    # --- threads --------------------------------------------------------------------------------

    def create(self, title: str) -> Thread:
        now = time.time()
        thread = Thread(_new_id(), title_from(title) or _("New conversation"), now, now, 0)
        with self._write() as db:
            db.execute("INSERT INTO threads (id, title, created, updated) VALUES (?, ?, ?, ?)",
                       (thread.id, thread.title, now, now))
        return thread

    def list(self, *, search: str | None = None, limit: int | None = None) -> list[Thread]:
        """Newest first (by the last change); `search` keeps threads whose title or turns contain the text."""
        sql = ("SELECT t.id, t.title, t.created, t.updated, (SELECT COUNT(*) FROM turns u WHERE u.thread_id = t.id) "
               "FROM threads t")
        params: list[Any] = []
        if search and search.strip():
            sql += f" WHERE t.title LIKE ? ESCAPE '\\' OR t.id IN ({self._matching_turns_sql(search, params)})"
            params.insert(0, "%" + _like_escape(search.strip()) + "%")
        sql += " ORDER BY t.updated DESC, t.id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._reading() as db:
            return [Thread(*row) for row in db.execute(sql, params)]

    @staticmethod
    def _matching_turns_sql(search: str, params: list[Any]) -> str:
        words = search.split()
        if all(len(w) >= 3 for w in words):
            # The trigram index matches any substring of three characters or more.
            params.append(" ".join('"' + w.replace('"', '""') + '"' for w in words))
            return "SELECT u.thread_id FROM turns u JOIN turns_fts f ON f.rowid = u.rowid WHERE turns_fts MATCH ?"
        clauses = []
        for word in words:  # shorter words (二文字 such as 富士) are beneath the index: scan instead
            clauses.append("(question LIKE ? ESCAPE '\\' OR search_question LIKE ? ESCAPE '\\' "
                           "OR answer LIKE ? ESCAPE '\\')")
            params.extend(["%" + _like_escape(word) + "%"] * 3)
        return "SELECT thread_id FROM turns WHERE " + " AND ".join(clauses)

    def last(self) -> Thread | None:
        found = self.list(limit=1)
        return found[0] if found else None

    def get(self, thread_id: str) -> Thread:
        """The thread with its turns in order; `thread_id` may be a unique prefix of the id."""
        with self._reading() as db:
            rows = db.execute("SELECT id, title, created, updated FROM threads WHERE id = ? OR id LIKE ? ESCAPE '\\' "
                              "ORDER BY id = ? DESC", (thread_id, _like_escape(thread_id) + "%", thread_id)).fetchall()
        if not rows or (len(rows) > 1 and rows[0][0] != thread_id):
            raise ThreadNotFoundError(_("no conversation {id} (`ippon threads list` shows them)").format(id=thread_id)
                                      if not rows else
                                      _("{id} names several conversations; give more of the id").format(id=thread_id))
        with self._reading() as db:
            turns = [_turn(row) for row in db.execute(
                f"SELECT {_TURN_COLUMNS} FROM turns WHERE thread_id = ? ORDER BY position", (rows[0][0],))]
        return Thread(*rows[0], len(turns), turns)

    def rename(self, thread_id: str, title: str) -> Thread:
        thread = self.get(thread_id)
        title = title_from(title)
        if not title:
            raise ThreadError(_("a conversation needs a title"))
        with self._write() as db:
            db.execute("UPDATE threads SET title = ?, updated = ? WHERE id = ?", (title, time.time(), thread.id))
        return self.get(thread.id)

    def delete(self, thread_id: str) -> Thread:
        thread = self.get(thread_id)
        with self._write() as db:
            db.execute("DELETE FROM turns WHERE thread_id = ?", (thread.id,))
            db.execute("DELETE FROM threads WHERE id = ?", (thread.id,))
        return thread

    # --- turns: written in two steps --------------------------------------------------------------

    def begin_turn(self, thread_id: str, *, question: str, search_question: str, retrieval: dict[str, Any],
                   sources: Sequence[Citation], models: dict[str, str], notes: Sequence[str] = ()) -> Turn:
        """The question and its sources, on disk before the model starts answering."""
        now = time.time()
        turn_id = _new_id()
        with self._write() as db:
            (position,) = db.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM turns WHERE thread_id = ?",
                                     (thread_id,)).fetchone()
            db.execute("INSERT INTO turns (id, thread_id, position, question, search_question, retrieval, sources, "
                       "models, notes, status, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'answering', ?)",
                       (turn_id, thread_id, position, question, search_question, _json(retrieval),
                        _json([c.as_dict() for c in sources]), _json(models), _json(list(notes)), now))
            db.execute("UPDATE threads SET updated = ? WHERE id = ?", (now, thread_id))
        return self.turn(turn_id)

    def finish_turn(self, turn_id: str, *, answer: str, thinking: str, timings: dict[str, Any],
                    status: TurnStatus = "done", notes: Sequence[str] | None = None) -> Turn:
        now = time.time()
        with self._write() as db:
            db.execute("UPDATE turns SET answer = ?, thinking = ?, timings = ?, status = ?, finished = ?"
                       + (", notes = ?" if notes is not None else "") + " WHERE id = ?",
                       (answer, thinking, _json(timings), status, now)
                       + ((_json(list(notes)),) if notes is not None else ()) + (turn_id,))
            db.execute("UPDATE threads SET updated = ? WHERE id = (SELECT thread_id FROM turns WHERE id = ?)",
                       (now, turn_id))
        return self.turn(turn_id)

    def delete_turn(self, turn_id: str) -> None:
        """Forget one turn (regenerating an answer replaces the last turn)."""
        with self._write() as db:
            db.execute("DELETE FROM turns WHERE id = ?", (turn_id,))

    def turn(self, turn_id: str) -> Turn:
        with self._reading() as db:
            row = db.execute(f"SELECT {_TURN_COLUMNS} FROM turns WHERE id = ?", (turn_id,)).fetchone()
        if row is None:
            raise ThreadNotFoundError(_("no turn {id}").format(id=turn_id))
        return _turn(row)


_TURN_COLUMNS = ("id, thread_id, position, question, search_question, retrieval, sources, answer, thinking, timings, "
                 "models, notes, status, created, finished")


def _turn(row: Sequence[Any]) -> Turn:
    (turn_id, thread_id, position, question, search_question, retrieval, sources, answer, thinking, timings, models,
     notes, status, created, finished) = row
    return Turn(turn_id, thread_id, position, question, search_question, json.loads(retrieval),
                [_citation(c) for c in json.loads(sources)], answer, thinking, json.loads(timings), json.loads(models),
                json.loads(notes), status, created, finished)


def _citation(data: dict[str, Any]) -> Citation:
    known = {k: v for k, v in data.items() if k in Citation.__slots__}
    return Citation(**known)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- Markdown export ---------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")


def _escape_markdown(text: str) -> str:
    """Document and user text shown as itself, never as links, images or headings."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def source_link(citation: Citation, *, base: Path | None = None) -> str:
    """The source's path for a Markdown link: relative to `base` (the export's folder) when given, so the
    export and the library can move together; `#page=N` for PDFs, the fragment PDF viewers open at.
    (A file: URL would be safer to read but Markdown renderers refuse the scheme.)"""
    path = Path(citation.path)
    if base is not None:
        try:
            path = Path(os.path.relpath(path, base))
        except ValueError:  # another drive on Windows: keep it absolute
            pass
    link = quote(path.as_posix(), safe="/:")
    return f"{link}#page={citation.page}" if citation.page else link


def export_markdown(thread: Thread, *, base: Path | None = None) -> str:
    """The thread as Markdown: each turn's question, answer and its numbered sources as file links
    (relative to `base`, the folder the export is written to, when given)."""
    lines = [f"# {_escape_markdown(thread.title)}", ""]
    for turn in thread.turns:
        lines += [f"## {turn.position}. {_escape_markdown(turn.question)}", ""]
        if turn.rewritten:
            lines += ["*" + _("Searched for: {question}").format(question=_escape_markdown(turn.search_question))
                      + "*", ""]
        answer = turn.answer.strip() if turn.status == "done" else ""
        if turn.status != "done":
            answer = (turn.answer.strip() + "\n\n" if turn.answer.strip() else "") + "*" + _(
                "(the answer was interrupted)") + "*"
        lines += [answer or "*" + _("(no answer)") + "*", ""]
        if turn.sources:
            lines += ["**" + _("Sources") + "**", ""]
            for c in turn.sources:
                label = _escape_markdown(source_label(c.path, c.page, c.slide))
                lines.append(f"{c.n}. [{label}]({source_link(c, base=base)})")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
