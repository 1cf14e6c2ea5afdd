"""The response cache: answers keyed by a hash of everything that shaped them.

A ``shelve.Shelf`` pickles the answers; underneath it sits a small
SQLite-backed mapping instead of shelve's default dbm file, because dbm has no
locking and corrupts when two mmcli processes write at once. SQLite also gives
the bookkeeping a cache needs: when each entry was made (expiry), when it was
last used (LRU eviction) and how big it is (the size cap).

Unpickling runs whatever the file says, which is safe only because the file
is private (0600 in a 0700 directory): it holds nothing the user did not write.

This module is on the cache-hit path, whose whole-process time is measured:
it imports only the standard library and opens in about a millisecond.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..digest import sha256_hex
from ..errors import secret_values
from . import db

if TYPE_CHECKING:
    import shelve

CACHE_FILE = "cache.sqlite3"
# Bumped when the meaning of a key or the shape of a stored answer changes, so
# an old entry is never read as a new one.
KEY_FORMAT = 1
_SCHEMA = (
    # size comes before value so reading it never walks the blob's overflow pages.
    """CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        last_used_at REAL NOT NULL,
        size INTEGER NOT NULL,
        value BLOB NOT NULL
    )""",
    # Covers both the LRU walk and SUM(size) without touching the table.
    "CREATE INDEX entries_lru ON entries(last_used_at, size)",
    "CREATE INDEX entries_created ON entries(created_at)",
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO counters (name, value) VALUES ('hits', 0), ('misses', 0)",
)


def cache_key(identity: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of a request's ``cache_identity()``.

    Canonical (sorted keys, no whitespace) so the same request always gives the
    same key; a value JSON cannot represent raises ``TypeError`` rather than
    being stringified into a key that might collide.
    """
    canonical = json.dumps(
        {"format": KEY_FORMAT, "identity": identity},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return sha256_hex(canonical.encode("utf-8"))


class SqliteMapping(MutableMapping[bytes, bytes]):
    """The dbm-like mapping under the Shelf: keys to pickled blobs in the ``entries`` table.

    ``shelve.Shelf`` encodes its ``str`` keys to bytes before handing them down,
    so keys arrive here as bytes (``str`` is accepted too) and are stored as text.
    Entries older than ``max_age_s`` are invisible, as if absent.
    """

    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], float], max_age_s: float | None):
        self._conn = conn
        self._clock = clock
        self.max_age_s = max_age_s

    def cutoff(self) -> float:
        """Entries created before this moment have expired."""
        if self.max_age_s is None:
            return float("-inf")
        return self._clock() - self.max_age_s

    def __getitem__(self, key: bytes | str) -> bytes:
        row = self._conn.execute(
            "SELECT value FROM entries WHERE key = ? AND created_at >= ?", (_text(key), self.cutoff())
        ).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def __setitem__(self, key: bytes | str, value: bytes) -> None:
        now = self._clock()
        with db.write(self._conn):
            self._conn.execute(
                "INSERT OR REPLACE INTO entries (key, created_at, last_used_at, size, value) VALUES (?, ?, ?, ?, ?)",
                (_text(key), now, now, len(value), sqlite3.Binary(value)),
            )

    def __delitem__(self, key: bytes | str) -> None:
        with db.write(self._conn):
            deleted = self._conn.execute("DELETE FROM entries WHERE key = ?", (_text(key),)).rowcount
        if not deleted:
            raise KeyError(key)

    def __iter__(self) -> Iterator[bytes]:
        rows = self._conn.execute("SELECT key FROM entries WHERE created_at >= ?", (self.cutoff(),))
        return iter([row[0].encode("utf-8") for row in rows])

    def __len__(self) -> int:
        return int(
            self._conn.execute("SELECT COUNT(*) FROM entries WHERE created_at >= ?", (self.cutoff(),)).fetchone()[0]
        )

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, (bytes, str)):
            return False
        row = self._conn.execute(
            "SELECT 1 FROM entries WHERE key = ? AND created_at >= ?", (_text(key), self.cutoff())
        ).fetchone()
        return row is not None


def _text(key: bytes | str) -> str:
    return key.decode("utf-8") if isinstance(key, bytes) else key


class ResponseCache:
    """Answers by cache key, with expiry, an LRU size cap and hit/miss counters.

    The counters live in the file, so ``mmcli cache stats`` reports every
    process's lookups, not only its own. One connection per instance: open one
    cache per thread.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        ttl_days: float | None = 30,
        max_mb: float = 200,
        clock: Callable[[], float] = time.time,
    ):
        self.path = Path(data_dir) / CACHE_FILE
        self.max_bytes = int(max_mb * 1024 * 1024)
        self._clock = clock
        self._conn = db.connect(self.path, _SCHEMA, disposable=True)  # answers can be asked for again
        max_age_s = None if ttl_days is None else ttl_days * 86400
        self._mapping = SqliteMapping(self._conn, clock, max_age_s)

    def prepare_to_store(self) -> None:
        """Import what storing an answer needs (shelve, pickle: a few ms) now, while a provider
        call is under way in the worker, rather than after the answer is in."""
        self._shelf  # noqa: B018 - made and kept on first use

    @functools.cached_property
    def _shelf(self) -> shelve.Shelf:
        """Made on the first hit or store: a miss needs neither shelve nor pickle (a few ms to import)."""
        import shelve

        # Protocol 4 is read by every supported Python, so a shared data dir works across versions.
        return shelve.Shelf(self._mapping, protocol=4, writeback=False)

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @db.guarded
    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer, or None when absent or expired. Counts a hit or a miss."""
        try:
            answer = self._shelf[key] if key in self._mapping else None
        except KeyError:
            answer = None
        except sqlite3.Error:
            raise
        except Exception:
            # Unpickling failed (a blob from an incompatible version): a miss, and drop it.
            self._forget(key)
            answer = None
        if not isinstance(answer, dict):
            answer = None
        try:
            self._record_lookup(key, hit=answer is not None)
        except db.StoreError:
            # Only bookkeeping was lost (a counter, an LRU time); the answer is still good.
            pass
        return answer

    def _record_lookup(self, key: str, *, hit: bool) -> None:
        with db.write(self._conn):
            if hit:
                self._conn.execute("UPDATE entries SET last_used_at = ? WHERE key = ?", (self._clock(), key))
            self._conn.execute("UPDATE counters SET value = value + 1 WHERE name = ?", ("hits" if hit else "misses",))

    def _forget(self, key: str) -> None:
        with db.write(self._conn):
            self._conn.execute("DELETE FROM entries WHERE key = ?", (key,))

    def put(self, key: str, answer: dict[str, Any]) -> bool:
        """Store an answer, then trim expired and least-recently-used entries to fit ``max_mb``.

        Returns False, storing nothing, when the answer contains the value of an
        API-key environment variable: keys must never reach the disk, whatever
        the caller passed. Also False when the disk is full or read-only: the
        cache only saves time, and the session store already says what is wrong.
        """
        if _contains_secret(answer):
            return False
        try:
            self._put(key, answer)
        except db.StoreError as exc:
            if db.is_unwritable(exc) or self._conn.unwritable is not None:
                return False
            raise
        return True

    @db.guarded
    def _put(self, key: str, answer: dict[str, Any]) -> None:
        with db.write(self._conn):
            self._shelf[key] = answer
            self._purge_expired()
            self._evict_to_fit()

    def _purge_expired(self) -> None:
        # Cheap thanks to the created_at index; done on every put, which already
        # follows a slow provider call, so reads never pay for it.
        self._conn.execute("DELETE FROM entries WHERE created_at < ?", (self._mapping.cutoff(),))

    def _evict_to_fit(self) -> None:
        total = self._conn.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
        excess = total - self.max_bytes
        if excess <= 0:
            return
        victims: list[tuple[str]] = []
        for key, size in self._conn.execute("SELECT key, size FROM entries ORDER BY last_used_at, key"):
            if excess <= 0:
                break
            victims.append((key,))
            excess -= size
        self._conn.executemany("DELETE FROM entries WHERE key = ?", victims)

    @db.guarded
    def stats(self) -> dict[str, Any]:
        """What ``mmcli cache stats`` shows. Expired entries not yet purged are not counted."""
        with db.read(self._conn):
            entries, size, oldest = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(created_at) FROM entries WHERE created_at >= ?",
                (self._mapping.cutoff(),),
            ).fetchone()
            counters = dict(self._conn.execute("SELECT name, value FROM counters").fetchall())
        return {
            "path": str(self.path),
            "entries": int(entries),
            "size_bytes": int(size),
            "file_bytes": _file_bytes(self.path),
            "hits": int(counters.get("hits", 0)),
            "misses": int(counters.get("misses", 0)),
            "oldest_created_at": oldest,
            "max_bytes": self.max_bytes,
        }

    @db.guarded
    def clear(self, older_than_s: float | None = None) -> int:
        """Remove every entry, or those created more than ``older_than_s`` seconds ago.

        The hit/miss counters are kept: they describe past use, not the contents.
        """
        with db.write(self._conn):
            if older_than_s is None:
                removed = self._conn.execute("DELETE FROM entries").rowcount
            else:
                cutoff = self._clock() - older_than_s
                removed = self._conn.execute("DELETE FROM entries WHERE created_at < ?", (cutoff,)).rowcount
        if removed:
            db.release_free_space(self._conn)
        return int(removed)

    def close(self) -> None:
        if "_shelf" in self.__dict__:
            self._shelf.close()
        self._conn.close()


def _contains_secret(value: object) -> bool:
    secrets = secret_values()  # the one rule of what counts as a secret (errors.could_be_secret)
    return bool(secrets) and any(secret in text for text in _strings_in(value) for secret in secrets)


def _strings_in(value: object) -> Iterator[str]:
    """Every string inside a JSON-like value, dictionary keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings_in(key)
            yield from _strings_in(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings_in(item)
    elif value is not None and not isinstance(value, (int, float, bool)):
        yield str(value)


def _file_bytes(path: Path) -> int:
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += os.stat(f"{path}{suffix}").st_size
        except OSError:
            pass
    return total
