"""Conversations, kept in ``sessions.sqlite3`` under the data dir.

Each message's parts are stored as JSON: text inline, media as a reference
(kind, MIME type, SHA-256, the source the user gave). The bytes live once in
the ``media`` table under their hash, so a session that re-sends an earlier
image on every turn, or two sessions about the same photo, store it once.

Fragments (text context, `-f`) are kept the same way: their text, framed as it
was sent, is a ``text/plain`` row of ``media`` under its hash, and the message
refers to it as a part of kind "fragment".

``messages_fts`` indexes the text of every prompt and answer (not fragments or
media) for ``sessions search``; triggers keep it in step with ``messages``.

Every append is its own committed transaction: a crash or Ctrl-C loses at most
the answer that was still streaming.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..conversation import Message, Part
from ..errors import UsageError, redact
from . import db
from .db import StoreError

SESSIONS_FILE = "sessions.sqlite3"

_SCHEMA = (
    """CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        model TEXT NOT NULL,
        system TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    "CREATE INDEX sessions_updated ON sessions(updated_at)",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        model TEXT,
        incomplete INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        parts TEXT NOT NULL,
        UNIQUE (session_id, seq)
    )""",
    """CREATE TABLE media (
        sha256 TEXT PRIMARY KEY,
        mime_type TEXT NOT NULL,
        data BLOB NOT NULL
    )""",
)

# The searchable text of a message: its text parts joined (fragments and media are parts of other kinds).
_FTS_BODY = (
    "(SELECT COALESCE(group_concat(json_extract(value, '$.text'), ''), '') FROM json_each({parts})"
    " WHERE json_extract(value, '$.kind') = 'text')"
)

# Numbered upgrades after _SCHEMA (version 1); never edit one that has shipped, add the next.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 2: how each answer ended (DESIGN.md, "How an answer ends"); NULL for answers stored before.
    ("ALTER TABLE messages ADD COLUMN finish_reason TEXT",),
    # 3: full-text search over prompts and answers (`sessions search`): an FTS5 table keyed by
    # messages.id holding each message's typed text, kept in step by triggers; old messages indexed.
    (
        "CREATE VIRTUAL TABLE messages_fts USING fts5(body, tokenize = 'unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
        f" INSERT INTO messages_fts (rowid, body) VALUES (new.id, {_FTS_BODY.format(parts='new.parts')}); END",
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
        " DELETE FROM messages_fts WHERE rowid = old.id; END",
        f"CREATE TRIGGER messages_fts_update AFTER UPDATE OF parts ON messages BEGIN"
        f" DELETE FROM messages_fts WHERE rowid = old.id;"
        f" INSERT INTO messages_fts (rowid, body) VALUES (new.id, {_FTS_BODY.format(parts='new.parts')}); END",
        f"INSERT INTO messages_fts (rowid, body) SELECT id, {_FTS_BODY.format(parts='parts')} FROM messages",
    ),
    # 4: the options that shaped a session's answers (temperature, max tokens; later also
    # schema, role and video frames: JSON, so new keys need no migration), so `-c` and `-S`
    # carry them on as they carry the model and the system prompt.
    ("ALTER TABLE sessions ADD COLUMN options TEXT",),
)

# Automatic names: the date, then at most this many words of the first prompt.
_NAME_WORDS = 4
_NAME_WORD_CHARS = 40
# Words that make a name read as cut off mid-phrase when they end it.
_TRAILING_FILLER = {"a", "an", "the", "of", "in", "on", "to", "for", "and", "or", "with", "about", "is"}
# Longer names are refused when a session is created or renamed (a pasted
# paragraph, not a name), and error sentences quote at most the first part of one.
MAX_NAME_CHARS = 200
_SHOWN_NAME_CHARS = 60
# SQLite's default limit on ? placeholders in one statement is 999 before 3.32.
_SQL_VARIABLES = 500


@dataclass(frozen=True)
class SessionInfo:
    name: str
    model: str
    system: str | None
    turns: int  # user messages
    created_at: float
    updated_at: float
    # Every option that shaped the answers (request_options.RequestOptions.kept): temperature,
    # max_tokens, video_fps/video_max_frames carry on to later turns; schema and role are a record.
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_row(cls, row: tuple[Any, ...]) -> SessionInfo:
        *fields, options = row
        return cls(*fields, options=json.loads(options) if options else {})


class SearchHit(NamedTuple):  # records of rows: named tuples are cheaper to create than dataclasses
    """One message that matches a search: where it is, and its text around the match."""

    session: str
    seq: int
    role: str
    model: str | None
    created_at: float
    snippet: str  # the match between HIT_START and HIT_END
    rank: float  # bm25: lower is better


# Snippet markers: control characters no prompt contains, replaced by a style or removed when printed.
HIT_START, HIT_END = "\x02", "\x03"
_SNIPPET_TOKENS = 16


class StoredMessage(NamedTuple):
    """A message with what the store knows about it beyond the conversation itself."""

    message: Message
    model: str | None
    created_at: float


_INFO_SELECT = (
    "SELECT s.name, s.model, s.system,"
    " (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id AND m.role = 'user'),"
    " s.created_at, s.updated_at, s.options FROM sessions s"
)


class SessionStore(db.Store):
    """Named conversations with their messages and media.

    One connection per instance; open one store per thread (sqlite3 connections
    refuse to be shared across threads).

    On a full disk or a read-only data dir the file is opened for reading only
    (``db.connect``), so saved sessions can still be listed, shown and exported;
    writes then fail with a ``StoreError`` that says why.
    """

    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.time):
        self.path = Path(data_dir) / SESSIONS_FILE
        self._clock = clock
        self._conn = db.connect(self.path, _SCHEMA, _MIGRATIONS)

    # -- reading ---------------------------------------------------------------

    @db.guarded
    def get(self, name: str) -> SessionInfo | None:
        row = self._conn.execute(f"{_INFO_SELECT} WHERE s.name = ?", (name,)).fetchone()
        return SessionInfo.of_row(row) if row else None

    def require(self, name: str) -> SessionInfo:
        """The named session; a UsageError listing close matches when there is none."""
        info = self.get(name)
        if info is None:
            raise UsageError(_unknown_session_sentence(name, self.close_matches(name)))
        return info

    @db.guarded
    def most_recent(self) -> SessionInfo | None:
        """The most recently *used* session (what ``-c`` continues), not the newest one."""
        row = self._conn.execute(f"{_INFO_SELECT} ORDER BY s.updated_at DESC, s.id DESC LIMIT 1").fetchone()
        return SessionInfo.of_row(row) if row else None

    @db.guarded
    def messages(self, name: str) -> list[Message]:
        """The conversation so far, media bytes restored into their parts."""
        return [record.message for record in self.records(name)]

    @db.guarded
    def records(self, name: str) -> list[StoredMessage]:
        """Like ``messages()``, with the model and time of each message (for ``sessions show``)."""
        with db.read(self._conn):
            session_id = self._require(name)
            rows = self._conn.execute(
                "SELECT role, model, incomplete, finish_reason, created_at, parts FROM messages"
                " WHERE session_id = ? ORDER BY seq",
                (session_id,),
            ).fetchall()
            decoded = [(row, json.loads(row[5])) for row in rows]
            media = self._load_media(p["sha256"] for _, parts in decoded for p in parts if p["kind"] != "text")
        return [
            StoredMessage(
                message=Message(
                    role=role,
                    parts=[_part_from_json(p, media) for p in parts],
                    incomplete=bool(incomplete),
                    finish_reason=finish_reason,
                ),
                model=model,
                created_at=created_at,
            )
            for (role, model, incomplete, finish_reason, created_at, _), parts in decoded
        ]

    def _load_media(self, hashes: Iterable[str]) -> dict[str, bytes]:
        wanted = sorted(set(hashes))
        found: dict[str, bytes] = {}
        for start in range(0, len(wanted), _SQL_VARIABLES):
            chunk = wanted[start : start + _SQL_VARIABLES]
            marks = ",".join("?" * len(chunk))
            for sha, data in self._conn.execute(f"SELECT sha256, data FROM media WHERE sha256 IN ({marks})", chunk):
                found[sha] = bytes(data)
        return found

    @db.guarded
    def close_matches(self, name: str) -> list[str]:
        """Session names that look like ``name``, best first, for "did you mean" hints."""
        names = [row[0] for row in self._conn.execute("SELECT name FROM sessions")]
        return _close_matches(name, names)

    # -- writing ---------------------------------------------------------------

    @db.guarded
    def create(
        self,
        name: str | None,
        model: str,
        system: str | None = None,
        first_prompt: str = "",
        options: dict[str, Any] | None = None,
    ) -> SessionInfo:
        """A new, empty session. Without a name, one is made from the date and the first prompt."""
        now = self._clock()
        with db.write(self._conn):
            if name is None:
                name = self._unused_name(auto_name_base(first_prompt, now))
            else:
                name = valid_name(name)
                if self._id_of(name) is not None:
                    raise UsageError(f"A session named '{shown_name(name)}' already exists; pick another name.")
            self._conn.execute(
                "INSERT INTO sessions (name, model, system, created_at, updated_at, options) VALUES (?, ?, ?, ?, ?, ?)",
                (name, model, system, now, now, json.dumps(options) if options else None),
            )
        return SessionInfo(name, model, system, 0, now, now, dict(options or {}))

    @db.guarded
    def get_or_create(
        self, name: str, model: str, system: str | None = None, options: dict[str, Any] | None = None
    ) -> tuple[SessionInfo, bool]:
        """The named session, created when missing (``-S NAME``); True when it was created.

        One transaction, so two processes starting the same new session agree on it.
        """
        name = name.strip()  # create() strips too: look up the name it would create
        with db.write(self._conn):
            existing = self.get(name)
            if existing is not None:
                return existing, False
            return self.create(name, model, system, options=options), True

    def _unused_name(self, base: str) -> str:
        taken = {
            row[0]
            for row in self._conn.execute("SELECT name FROM sessions WHERE substr(name, 1, ?) = ?", (len(base), base))
        }
        if base not in taken:
            return base
        suffix = 2
        while f"{base}-{suffix}" in taken:
            suffix += 1
        return f"{base}-{suffix}"

    @db.guarded
    def append(self, name: str, message: Message, model: str) -> int:
        """Add a message (media first, then the message) and mark the session as used, in one commit.

        Returns the message's number in the session, for ``update``.
        """
        now = self._clock()
        media_rows = _media_rows(message)
        parts_json = json.dumps([_part_to_json(p) for p in message.parts], ensure_ascii=False)
        with db.write(self._conn):
            session_id = self._require(name)
            self._conn.executemany("INSERT OR IGNORE INTO media (sha256, mime_type, data) VALUES (?, ?, ?)", media_rows)
            (seq,) = self._conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE session_id = ?", (session_id,)
            ).fetchone()
            self._conn.execute(
                "INSERT INTO messages (session_id, seq, role, model, incomplete, finish_reason, created_at, parts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, seq, message.role, model, int(message.incomplete), message.finish_reason, now, parts_json),
            )
            self._touch(session_id, now)
        return int(seq)

    @db.guarded
    def update(self, name: str, seq: int, message: Message, model: str) -> None:
        """Replace message ``seq`` of the session: an answer stored as it grew, now further on or ended."""
        parts_json = json.dumps([_part_to_json(p) for p in message.parts], ensure_ascii=False)
        with db.write(self._conn):
            session_id = self._require(name)
            self._conn.executemany("INSERT OR IGNORE INTO media (sha256, mime_type, data) VALUES (?, ?, ?)",
                                   _media_rows(message))
            self._conn.execute(
                "UPDATE messages SET model = ?, incomplete = ?, finish_reason = ?, parts = ?"
                " WHERE session_id = ? AND seq = ?",
                (model, int(message.incomplete), message.finish_reason, parts_json, session_id, seq),
            )
            self._touch(session_id, self._clock())

    @db.guarded
    def drop_last_exchange(self, name: str) -> bool:
        """Remove the last user message and every answer after it (``/undo``). False when there is none."""
        with db.write(self._conn):
            session_id = self._require(name)
            row = self._conn.execute(
                "SELECT MAX(seq) FROM messages WHERE session_id = ? AND role = 'user'", (session_id,)
            ).fetchone()
            if row[0] is None:
                return False
            self._delete_messages(session_id, from_seq=row[0])
        return True

    @db.guarded
    def drop_last_answer(self, name: str) -> bool:
        """Remove the answers after the last user message (``/retry``). False when there are none."""
        with db.write(self._conn):
            session_id = self._require(name)
            row = self._conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE session_id = ? AND role = 'user'",
                (session_id,),
            ).fetchone()
            after_user = row[0] + 1
            has_answer = self._conn.execute(
                "SELECT 1 FROM messages WHERE session_id = ? AND seq >= ? LIMIT 1", (session_id, after_user)
            ).fetchone()
            if has_answer is None:
                return False
            self._delete_messages(session_id, from_seq=after_user)
        return True

    def _delete_messages(self, session_id: int, *, from_seq: int) -> None:
        orphan_candidates = self._media_of(
            "SELECT parts FROM messages WHERE session_id = ? AND seq >= ?", (session_id, from_seq)
        )
        self._conn.execute("DELETE FROM messages WHERE session_id = ? AND seq >= ?", (session_id, from_seq))
        self._delete_unreferenced_media(orphan_candidates)
        self._touch(session_id, self._clock())

    @db.guarded
    def set_model(self, name: str, model: str) -> None:
        self._update_session(name, "model", model)

    @db.guarded
    def set_system(self, name: str, system: str | None) -> None:
        self._update_session(name, "system", system)

    @db.guarded
    def set_options(self, name: str, options: dict[str, Any]) -> None:
        self._update_session(name, "options", json.dumps(options) if options else None)

    def _update_session(self, name: str, column: str, value: str | None) -> None:
        # column comes from the callers above, never from the user.
        with db.write(self._conn):
            session_id = self._require(name)
            self._conn.execute(
                f"UPDATE sessions SET {column} = ?, updated_at = ? WHERE id = ?",
                (value, self._clock(), session_id),
            )

    @db.guarded
    def rename(self, old: str, new: str) -> None:
        new = valid_name(new)
        with db.write(self._conn):
            session_id = self._require(old)
            if new == old:
                return
            if self._id_of(new) is not None:
                raise UsageError(f"A session named '{shown_name(new)}' already exists; pick another name.")
            # Renaming is not using: updated_at stays, so -c keeps pointing where it did.
            self._conn.execute("UPDATE sessions SET name = ? WHERE id = ?", (new, session_id))

    @db.guarded
    def delete(self, name: str) -> None:
        """Delete a session, its messages, and the media no other message refers to."""
        with db.write(self._conn):
            session_id = self._require(name)
            candidates = self._media_of("SELECT parts FROM messages WHERE session_id = ?", (session_id,))
            self._conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            self._conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            self._delete_unreferenced_media(candidates)

    # -- helpers ---------------------------------------------------------------

    def _id_of(self, name: str) -> int | None:
        row = self._conn.execute("SELECT id FROM sessions WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else None

    def _require(self, name: str) -> int:
        session_id = self._id_of(name)
        if session_id is None:
            raise UsageError(_unknown_session_sentence(name, self.close_matches(name)))
        return session_id

    def _touch(self, session_id: int, now: float) -> None:
        self._conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))

    def _media_of(self, query: str, params: tuple[object, ...]) -> set[str]:
        hashes: set[str] = set()
        for (parts,) in self._conn.execute(query, params):
            hashes.update(p["sha256"] for p in json.loads(parts) if p["kind"] != "text")
        return hashes

    def _delete_unreferenced_media(self, hashes: set[str]) -> None:
        """Drop media rows that no remaining message mentions.

        Runs inside the caller's write transaction, so a concurrent append that
        re-uses one of these images either commits first (and is seen here) or
        commits after and re-inserts the bytes itself.
        """
        for sha in hashes:
            # A hash is 64 hex digits: a text match in the parts JSON cannot be a
            # near miss, and a false hit only keeps a row that could have gone.
            still_used = self._conn.execute(
                "SELECT 1 FROM messages WHERE instr(parts, ?) > 0 LIMIT 1", (sha,)
            ).fetchone()
            if still_used is None:
                self._conn.execute("DELETE FROM media WHERE sha256 = ?", (sha,))

    @db.guarded
    def search(self, query: str, *, limit: int = 20) -> list[SearchHit]:
        """Prompts and answers matching ``query``, best first (FTS5's bm25).

        ``query`` is tried as FTS5 syntax first (`"exact phrase"`, `gil OR mutex`, `pyth*`);
        text that is not valid syntax (`c++`, `don't`) is searched as its plain words.
        """
        sql = (
            "SELECT s.name, m.seq, m.role, m.model, m.created_at,"
            f" snippet(messages_fts, 0, '{HIT_START}', '{HIT_END}', '…', {_SNIPPET_TOKENS}), bm25(messages_fts)"
            " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid JOIN sessions s ON s.id = m.session_id"
            " WHERE messages_fts MATCH ? ORDER BY bm25(messages_fts), m.created_at DESC LIMIT ?"
        )
        try:
            rows = self._conn.execute(sql, (query, limit)).fetchall()
        except sqlite3.OperationalError as exc:
            if "fts5" not in str(exc) and "syntax" not in str(exc) and "no such column" not in str(exc):
                raise
            words = _plain_words(query)
            if not words:
                return []
            rows = self._conn.execute(sql, (words, limit)).fetchall()
        return [SearchHit(*row) for row in rows]

    @db.guarded
    def list(  # defined last: the name shadows the builtin in the class body
        self, *, models: Iterable[str] = (), since: float | None = None
    ) -> list[SessionInfo]:
        """Every session, most recently used first; only those that used one of ``models``
        (as the session's model or any answer's) and were used at or after ``since``, when given."""
        where: list[str] = []
        params: list[object] = []
        wanted = sorted(set(models))
        if wanted:
            marks = ",".join("?" * len(wanted))
            where.append(
                f"(s.model IN ({marks}) OR EXISTS (SELECT 1 FROM messages m WHERE m.session_id = s.id"
                f" AND m.model IN ({marks})))"
            )
            params += wanted * 2
        if since is not None:
            where.append("s.updated_at >= ?")
            params.append(since)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._conn.execute(f"{_INFO_SELECT}{clause} ORDER BY s.updated_at DESC, s.id DESC", params).fetchall()
        return [SessionInfo.of_row(row) for row in rows]


def _plain_words(query: str) -> str:
    """Each word of ``query`` as a quoted FTS5 string, all required: `c++ don't` -> `"c" "don" "t"`."""
    return " ".join(f'"{word}"' for word in re.findall(r"[^\W_]+", query))


def _media_rows(message: Message) -> list[tuple[str, str, object]]:
    rows: list[tuple[str, str, object]] = []
    for part in message.parts:
        if part.is_fragment:
            rows.append((_fragment_hash(part), FRAGMENT_MIME, sqlite3.Binary(redact(part.text).encode())))
        elif part.is_media:
            rows.append((part.sha256, part.mime_type, sqlite3.Binary(part.data)))
    return rows


FRAGMENT_MIME = "text/plain"


def _fragment_hash(part: Part) -> str:
    # The hash of what is stored, which is the text with any API key in it redacted.
    from ..digest import sha256_hex

    return sha256_hex(redact(part.text).encode())


def _part_to_json(part: Part) -> dict[str, str]:
    if part.is_fragment:
        return {"kind": "fragment", "mime_type": FRAGMENT_MIME, "sha256": _fragment_hash(part), "source": part.source}
    if part.kind == "text":
        # An API key pasted into a prompt, or echoed in an answer, never reaches the disk.
        return {"kind": "text", "text": redact(part.text)}
    return {"kind": part.kind, "mime_type": part.mime_type, "sha256": part.sha256, "source": part.source}


def _part_from_json(item: dict[str, str], media: dict[str, bytes]) -> Part:
    if item["kind"] == "text":
        return Part.of_text(item["text"])
    data = media.get(item["sha256"])
    if item["kind"] == "fragment" and data is not None:
        return Part(kind="text", text=data.decode("utf-8", errors="replace"), source=item.get("source") or "fragment")
    if data is None:
        raise StoreError(
            f"The session file is missing the {item['kind']} '{item.get('source') or item['sha256'][:12]}'; "
            "delete that session or remove the message with /undo."
        )
    return Part(kind=item["kind"], data=data, mime_type=item["mime_type"], source=item.get("source", ""))  # type: ignore[arg-type]


def auto_name_base(first_prompt: str, now: float) -> str:
    """``2026-11-25-explain-pythons-gil``: the local date, then the first words of the prompt."""
    date = time.strftime("%Y-%m-%d", time.localtime(now))
    words = _slug_words(first_prompt)
    return f"{date}-{'-'.join(words)}" if words else f"{date}-chat"


def _slug_words(text: str) -> list[str]:
    plain = "".join(_unaccented(ch) for ch in unicodedata.normalize("NFC", text.lower()))
    # "python's" reads better as "pythons" than as "python-s".
    plain = re.sub(r"['\u2019`]", "", plain)
    words: list[str] = []
    length = 0
    for word in re.findall(r"[^\W_]+", plain):
        if len(words) == _NAME_WORDS or length + len(word) > _NAME_WORD_CHARS:
            break
        words.append(word)
        length += len(word) + 1
    while words and words[-1] in _TRAILING_FILLER:
        words.pop()
    if not words and plain.strip():
        # One unbroken run of text (a language written without spaces): keep its start.
        words = [w[:_NAME_WORD_CHARS] for w in re.findall(r"[^\W_]+", plain)[:1]]
    return words


def _unaccented(ch: str) -> str:
    """é -> e, for easy typing; letters of other scripts stay whole (で must not lose its mark)."""
    decomposed = unicodedata.normalize("NFKD", ch)
    if decomposed[0].isascii() and all(unicodedata.combining(mark) for mark in decomposed[1:]):
        return decomposed[0]
    return ch


def valid_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise UsageError(f"{shown_name(repr(name))} cannot be a session name; use letters, digits and dashes.")
    if len(cleaned) > MAX_NAME_CHARS:
        raise UsageError(
            f"A session name can have at most {MAX_NAME_CHARS} characters; "
            f"'{shown_name(cleaned)}' has {len(cleaned)}."
        )
    if not all(ch.isalnum() or ch == "-" for ch in cleaned):
        raise UsageError(
            f"{shown_name(repr(cleaned))} cannot be a session name; "
            "use letters, digits and dashes (such as japan-2027)."
        )
    return cleaned


def shown_name(name: str) -> str:
    """A name as error sentences quote it: a pasted paragraph is cut, not echoed whole."""
    if len(name) <= _SHOWN_NAME_CHARS:
        return name
    return f"{name[: _SHOWN_NAME_CHARS - 1]}…"


def _close_matches(name: str, names: list[str]) -> list[str]:
    """Up to three names that resemble ``name``, best first.

    Plain ``difflib.get_close_matches`` misses an abbreviation of a long name
    ("trp" for "trip-planning") and a few words of an automatic name
    ("explain-gil" for "2026-11-25-explain-pythons-gil"), so each candidate also
    scores by its beginning and by how well each typed word matches one of its words.
    """
    import difflib  # only needed on the error path

    query = name.lower().strip()
    query_words = _words(query)

    def similarity(a: str, b: str) -> float:
        # Compare with b's start as well, so a typed abbreviation is not diluted by the rest.
        return max(
            difflib.SequenceMatcher(None, a, b).ratio(),
            difflib.SequenceMatcher(None, a, b[: len(a) + 1]).ratio(),
        )

    def score(candidate: str) -> float:
        lowered = candidate.lower()
        words = [w for w in _words(lowered) if not w.isdigit()] or [lowered]
        by_words = sum(max(similarity(q, w) for w in words) for q in query_words) / max(len(query_words), 1)
        return max(similarity(query, lowered), by_words)

    scored = sorted(((score(c), c) for c in names), key=lambda pair: (-pair[0], pair[1]))
    return [candidate for value, candidate in scored if value >= 0.7][:3]


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[-_\s]+", text) if w]


def _unknown_session_sentence(name: str, matches: list[str]) -> str:
    if matches:
        return f"No session named '{shown_name(name)}'. Did you mean: {', '.join(map(shown_name, matches))}?"
    return f"No session named '{shown_name(name)}'. Run 'mmcli sessions list' to see your sessions."
