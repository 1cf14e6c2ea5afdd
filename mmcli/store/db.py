"""One careful way to open the SQLite files under the data dir.

Several mmcli processes may share a file at once (a REPL in one terminal, a
pipeline in another, ``compare`` in a third), so every store opens its file
here: private file modes, WAL, a busy timeout, ``BEGIN IMMEDIATE`` writes, and
retries for the few places where SQLite reports "database is locked" without
consulting the busy timeout. Nothing in this package lets that message reach
the user: it becomes a ``StoreError`` with a sentence.
"""

from __future__ import annotations

import errno
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..errors import MmcliError

# How long one statement waits for another process's lock (SQLite's own busy
# handler), and how long the setup retries run when SQLite skips that handler.
BUSY_TIMEOUT_S = 10.0
SETUP_DEADLINE_S = 10.0

T = TypeVar("T")


class StoreError(MmcliError):
    """A session or cache file could not be read or written.

    A separate class so the engine can treat a broken *cache* as a miss and go
    on, while a broken session store still stops the command.
    """


Migrations = tuple[tuple[str, ...], ...]


class Store:
    """What every SQLite-backed store shares: one connection (``_conn``), closed on
    ``close()`` or at the end of a ``with`` block."""

    _conn: sqlite3.Connection

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()


S = TypeVar("S", bound=Store)


class Connection(sqlite3.Connection):
    """A connection that knows whether it could only be opened for reading.

    ``unwritable`` is None for a normal connection; for one opened read-only
    because the data dir cannot be written (a full disk, a read-only mount), it
    is the error that says why, so every later write reports that reason rather
    than SQLite's "attempt to write a readonly database".
    """

    unwritable: StoreError | None = None


def connect(
    path: Path,
    schema: tuple[str, ...] = (),
    migrations: Migrations = (),
    *,
    read_only_fallback: bool = True,
    disposable: bool = False,
) -> Connection:
    """Open (creating if needed) the SQLite file at ``path``, ready for several processes.

    ``schema`` holds the statements that create the tables (version 1);
    ``migrations[n]`` the statements that take a file from version n + 1 to
    n + 2. A file written by an older mmcli is upgraded, in one write
    transaction, to the latest version; the file's ``user_version`` records it.

    When the file cannot be opened for writing because the disk is full or the
    data dir is read-only, it is opened read-only instead (``read_only_fallback``),
    so what was saved can still be read; writes then fail with the reason.

    ``disposable`` is for a file whose contents can be made again (the response
    cache): it is never synced to the disk, which spares each run the fsyncs
    of the checkpoint SQLite makes when the last connection closes. A crash of
    the machine (not of mmcli, whose writes are safe either way) may then
    damage it, which mmcli reports as for any damaged file.
    """
    steps = ((schema,) if schema else ()) + tuple(migrations)
    try:
        return _connect_writable(path, steps, disposable)
    except StoreError as exc:
        if not read_only_fallback or not is_unwritable(exc):
            raise
        conn = _connect_read_only(path, steps, exc)
        conn.unwritable = exc
        return conn


def _connect_writable(path: Path, steps: Migrations, disposable: bool = False) -> Connection:
    try:
        _create_private_file(path)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=Connection)
    except (OSError, sqlite3.Error) as exc:
        raise _as_store_error(path, exc) from exc
    try:
        _retry_while_locked(path, lambda: _setup(conn, steps, disposable))
    except BaseException:
        conn.close()
        raise
    return conn  # type: ignore[return-value]


def _connect_read_only(path: Path, steps: Migrations, reason: StoreError) -> Connection:
    """The file opened for reading only, or an empty in-memory copy of the schema when there is no file yet.

    A file at an older schema version is not read: it would have to be upgraded first.

    ``mode=ro`` first: it still sees transactions waiting in the -wal file, but
    needs the -shm file to exist or be creatable. Where even that fails (a full
    disk cannot create it), ``immutable=1`` reads the main file with no locks
    and no side files; nothing can write there anyway.
    """
    from urllib.parse import quote

    if os.path.exists(path):
        uri = "file:" + quote(os.path.abspath(path), safe="/")
        for flags in ("?mode=ro", "?mode=ro&immutable=1"):
            try:
                conn = sqlite3.connect(
                    uri + flags, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=Connection
                )
            except sqlite3.Error:
                continue
            try:
                # Reading the schema makes SQLite open the file (and the WAL index) now, not at the first query.
                tables = conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
                current = _user_version(conn)
                conn.execute("PRAGMA query_only=ON")
            except sqlite3.Error:
                conn.close()
                continue
            if tables and current >= len(steps):
                return conn  # type: ignore[return-value]
            conn.close()
            if tables:
                raise reason  # an older file that would need upgrading first: it cannot be read as it is
            break  # an empty file (the disk filled up as it was made): nothing saved in it
        else:
            raise reason
    conn = sqlite3.connect(":memory:", isolation_level=None, factory=Connection)
    for step in steps:
        for statement in step:
            conn.execute(statement)
    conn.execute("PRAGMA query_only=ON")
    return conn  # type: ignore[return-value]


def is_unwritable(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the data dir cannot be written (full, read-only, no permission, I/O errors)."""
    if isinstance(exc, StoreError):
        return is_unwritable(exc.__cause__)
    if isinstance(exc, OSError):
        return exc.errno in _UNWRITABLE_ERRNOS
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "")  # Python 3.11+
        if name:
            return name.startswith(_UNWRITABLE_SQLITE)
        text = str(exc).lower()
        return any(sign in text for sign in _UNWRITABLE_TEXT)
    return False


_UNWRITABLE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, getattr(errno, "EDQUOT", 0)}
_UNWRITABLE_SQLITE = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")
_UNWRITABLE_TEXT = ("disk i/o error", "disk is full", "readonly database", "unable to open database")
# Less free space than this, and a failed write is put down to a full disk:
# SQLite needs room for a page, a WAL frame and a 32 KB shared-memory index.
_NEARLY_FULL_BYTES = 1024 * 1024


def _unwritable_sentence(path: Path, exc: BaseException) -> str:
    """Why ``path`` could not be written, in words a user can act on."""
    cause = exc.__cause__ if isinstance(exc, StoreError) and exc.__cause__ is not None else exc
    folder = _existing_folder(path)
    full = isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", 0))
    full = full or getattr(cause, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in str(cause).lower()
    try:
        space = os.statvfs(folder)
    except OSError:
        space = None
    if space is not None and space.f_flag & os.ST_RDONLY:
        return (
            f"Cannot write {path}: {folder} is on a read-only file system; "
            "remount it or point MMCLI_DATA_DIR elsewhere."
        )
    if full or space is not None and space.f_bavail * space.f_frsize < _NEARLY_FULL_BYTES:
        return f"Cannot write {path}: the disk is full; free some space and try again."
    if not os.access(folder, os.W_OK) or isinstance(cause, PermissionError):
        return f"Cannot write {path}: permission denied; make {folder} writable or point MMCLI_DATA_DIR elsewhere."
    return f"Cannot write {path}: {cause}; check the disk holding {folder}."


def _existing_folder(path: Path) -> Path:
    folder = Path(os.path.abspath(path)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _create_private_file(path: Path) -> None:
    """Create the directory (0700) and an empty file (0600) before SQLite touches them.

    SQLite would create the file with the process umask (often world-readable);
    creating it first fixes the mode, and SQLite gives the -wal and -shm files
    the same mode as the database file.
    """
    from ..private_dirs import make_private_dirs

    make_private_dirs(path.parent)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)  # the umask filtered the mode above (0400 under umask 277)
    finally:
        os.close(fd)


def _setup(conn: sqlite3.Connection, steps: Migrations, disposable: bool = False) -> None:
    # Switching to WAL needs an exclusive lock and does not wait on the busy
    # handler, so only ask when the file is not in WAL yet (once per file).
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        # Only takes effect on a file without tables, i.e. a new one; it must come
        # before WAL is set, and it lets release_free_space() shrink the file.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
    # In WAL, NORMAL loses no committed transaction when a process dies; only a
    # power cut can roll back the last few, and it skips an fsync per commit.
    conn.execute("PRAGMA synchronous=OFF" if disposable else "PRAGMA synchronous=NORMAL")
    if hasattr(conn, "setconfig"):  # Python 3.12+
        # Closing the last connection would otherwise checkpoint the WAL into the file, with
        # its fsyncs, on every run; commits checkpoint it anyway once it grows (1,000 pages).
        conn.setconfig(sqlite3.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, True)
    conn.execute("PRAGMA foreign_keys=ON")
    if _user_version(conn) < len(steps):
        with write(conn):
            # Another process may have upgraded the file while we waited for the lock.
            for version in range(_user_version(conn), len(steps)):
                for statement in steps[version]:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={len(steps)}")


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _retry_while_locked(where: Path | sqlite3.Connection, action: Callable[[], T]) -> T:
    """Run ``action``, retrying with a short jittered backoff while the file is locked."""
    deadline = time.monotonic() + SETUP_DEADLINE_S
    delay = 0.005
    while True:
        try:
            return action()
        except (sqlite3.Error, StoreError) as exc:
            if not _is_lock_error(exc) or time.monotonic() + delay > deadline:
                raise _as_store_error(where, exc) from exc
        # Jitter keeps processes that collided once from colliding again in lockstep
        # (from the clock rather than `random`, whose import the cache-hit path would pay).
        time.sleep(delay * (0.5 + (time.perf_counter_ns() % 1000) / 1000))
        delay = min(delay * 2, 0.2)


def _is_lock_error(exc: BaseException) -> bool:
    if isinstance(exc, StoreError):
        return isinstance(exc.__cause__, sqlite3.Error) and _is_lock_error(exc.__cause__)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _as_store_error(source: Path | sqlite3.Connection | None, exc: BaseException) -> StoreError:
    if isinstance(exc, StoreError):
        return exc
    if isinstance(source, Connection) and source.unwritable is not None:
        # A read-only fallback connection: the reason is why it is read-only, not SQLite's complaint.
        error = StoreError(source.unwritable.message)
        error.__cause__ = source.unwritable.__cause__
        return error
    path = _path_of(source) if isinstance(source, sqlite3.Connection) else source
    if path is not None and is_unwritable(exc):
        return StoreError(_unwritable_sentence(path, exc))
    where = f"{path}" if path else "an mmcli data file"
    if _is_lock_error(exc):
        return StoreError(
            f"{where} stayed busy for more than {BUSY_TIMEOUT_S:.0f} seconds because another mmcli "
            "process is writing to it; try again in a moment."
        )
    if isinstance(exc, sqlite3.DatabaseError) and any(
        sign in str(exc).lower() for sign in ("malformed", "not a database", "disk image")
    ):
        return StoreError(f"{where} is damaged ({exc}); move it aside and mmcli will start a new one.")
    return StoreError(f"Cannot use {where}: {exc}.")


def _path_of(conn: sqlite3.Connection) -> Path | None:
    try:
        row = conn.execute("PRAGMA database_list").fetchone()
    except sqlite3.Error:
        return None
    return Path(row[2]) if row and row[2] else None


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception.

    IMMEDIATE takes the write lock up front, where the busy timeout applies; a
    deferred transaction that upgrades later can fail at once with "locked".
    Nested use joins the outer transaction, so a method can group helpers that
    each write.
    """
    if conn.in_transaction:
        yield conn
        return
    _retry_while_locked(conn, lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise _as_store_error(conn, exc) from exc


@contextmanager
def read(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction, so several SELECTs see one consistent snapshot."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def release_free_space(conn: sqlite3.Connection) -> None:
    """Give pages freed by large deletions back to the file system (after ``cache clear``)."""
    # executescript steps the pragma to completion; execute() would free one page only.
    _retry_while_locked(conn, lambda: conn.executescript("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);"))


F = TypeVar("F", bound=Callable[..., Any])


def guarded(method: F) -> F:
    """Turn SQLite errors escaping a store method into one-sentence ``StoreError``s.

    The store object must have a ``path`` attribute naming its file.
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _as_store_error(getattr(self, "path", None), exc) from exc

    return wrapper  # type: ignore[return-value]
