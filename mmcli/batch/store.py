"""Local batch jobs, kept in ``batches.sqlite3`` under the data dir.

A local job is what the user sees (a small integer); under it sit one or more
provider jobs ("parts"), each a slice of the requests small enough for one
provider job. Every step of a part's submission is written before it starts
and after it ends (``pending`` → ``uploading`` → ``uploaded`` → ``creating`` →
``created`` → ``collected``), so a process that dies anywhere leaves a record
the next process can resume from or clean up. Results are copied here when a
provider job ends, so they survive the provider's retention window and come
out in input order whatever order the provider returned them in.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..providers.batching import CANCELLED, DONE, EXPIRED, FAILED, RUNNING, SUBMITTING, TERMINAL, RemoteStatus
from ..store import db

BATCHES_FILE = "batches.sqlite3"

# Numbered migrations (db.connect applies them): the first creates the tables; never edit one
# that has shipped, add the next.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            token TEXT NOT NULL,
            spool_dir TEXT NOT NULL,
            created_at REAL NOT NULL,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            lease_pid INTEGER,
            lease_at REAL
        )""",
        """CREATE TABLE parts (
            job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            part INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            spool_file TEXT NOT NULL,
            step TEXT NOT NULL,
            state TEXT NOT NULL,
            provider_state TEXT,
            file_id TEXT,
            remote_id TEXT,
            succeeded INTEGER,
            failed INTEGER,
            error TEXT,
            updated_at REAL NOT NULL,
            PRIMARY KEY (job_id, part)
        )""",
        """CREATE TABLE requests (
            job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            part INTEGER NOT NULL,
            request_id TEXT NOT NULL,
            paths TEXT,
            PRIMARY KEY (job_id, seq)
        )""",
        """CREATE TABLE results (
            job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            status TEXT NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (job_id, seq)
        )""",
    ),
)

# A submitting process renews its lease at every step; one silent this long (a live process
# stuck on one upload) is presumed lost. A dead process's lease is taken over at once.
LEASE_S = 3600.0
_CHUNK = 500  # rows per INSERT batch


@dataclass(frozen=True)
class Part:
    job_id: int
    part: int
    requests: int
    bytes: int
    spool_file: str
    step: str
    state: str
    provider_state: str | None
    file_id: str | None
    remote_id: str | None
    succeeded: int | None
    failed: int | None
    error: str | None

    @property
    def collected(self) -> bool:
        return self.step in ("collected", "abandoned")


@dataclass(frozen=True)
class Job:
    id: int
    provider: str
    model: str
    token: str
    spool_dir: str
    created_at: float
    cancel_requested: bool
    parts: tuple[Part, ...]

    @property
    def total(self) -> int:
        return sum(p.requests for p in self.parts)

    @property
    def succeeded(self) -> int:
        return sum(p.succeeded or 0 for p in self.parts)

    @property
    def failed(self) -> int:
        return sum(p.failed or 0 for p in self.parts)

    @property
    def pending(self) -> int:
        return max(0, self.total - self.succeeded - self.failed)

    @property
    def state(self) -> str:
        states = [p.state for p in self.parts]
        if SUBMITTING in states:
            return SUBMITTING
        if RUNNING in states or not all(p.collected for p in self.parts):
            return RUNNING
        if self.cancel_requested:
            return CANCELLED
        for state in (DONE, EXPIRED, CANCELLED):
            if state in states:
                return state
        return FAILED

    @property
    def finished(self) -> bool:
        return all(p.collected for p in self.parts)


@dataclass(frozen=True)
class NewRequest:
    seq: int
    part: int
    request_id: str
    paths: list[str] | None


@dataclass(frozen=True)
class NewPart:
    part: int
    requests: int
    bytes: int
    spool_file: str


class BatchStore(db.Store):
    """The batch jobs of one data dir; one connection per instance (and per thread)."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / BATCHES_FILE
        self._conn = db.connect(self.path, MIGRATIONS[0], MIGRATIONS[1:])

    # -- creating ----------------------------------------------------------------------------------

    @db.guarded
    def create_job(
        self,
        *,
        provider: str,
        model: str,
        token: str,
        spool_dir: str,
        parts: list[NewPart],
        requests: Iterable[NewRequest],
    ) -> int:
        """Record a validated, spooled job and its parts in one transaction: all of it or none."""
        now = time.time()
        with db.write(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO jobs (provider, model, token, spool_dir, created_at, lease_pid, lease_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (provider, model, token, spool_dir, now, os.getpid(), now),
            )
            job_id = int(cursor.lastrowid or 0)
            self._conn.executemany(
                "INSERT INTO parts (job_id, part, requests, bytes, spool_file, step, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                [(job_id, p.part, p.requests, p.bytes, p.spool_file, SUBMITTING, now) for p in parts],
            )
            rows = (
                (job_id, r.seq, r.part, r.request_id, json.dumps(r.paths) if r.paths is not None else None)
                for r in requests
            )
            self._conn.executemany(
                "INSERT INTO requests (job_id, seq, part, request_id, paths) VALUES (?, ?, ?, ?, ?)", rows
            )
        return job_id

    # -- reading -----------------------------------------------------------------------------------

    @db.guarded
    def get(self, job_id: int) -> Job | None:
        with db.read(self._conn):
            row = self._conn.execute(
                "SELECT id, provider, model, token, spool_dir, created_at, cancel_requested FROM jobs WHERE id = ?",
                (job_id,),
            ).fetchone()
            if row is None:
                return None
            parts = self._parts(job_id)
        return Job(*row[:6], cancel_requested=bool(row[6]), parts=parts)

    def _parts(self, job_id: int) -> tuple[Part, ...]:
        rows = self._conn.execute(
            "SELECT job_id, part, requests, bytes, spool_file, step, state, provider_state, file_id, remote_id,"
            " succeeded, failed, error FROM parts WHERE job_id = ? ORDER BY part",
            (job_id,),
        ).fetchall()
        return tuple(Part(*row) for row in rows)

    @db.guarded
    def jobs(self) -> list[Job]:
        ids = [row[0] for row in self._conn.execute("SELECT id FROM jobs ORDER BY id").fetchall()]
        return [job for job in (self.get(i) for i in ids) if job is not None]

    @db.guarded
    def spool_dirs(self) -> set[str]:
        return {row[0] for row in self._conn.execute("SELECT spool_dir FROM jobs").fetchall()}

    @db.guarded
    def seq_range(self, job_id: int, part: int) -> list[int]:
        rows = self._conn.execute(
            "SELECT seq FROM requests WHERE job_id = ? AND part = ? ORDER BY seq", (job_id, part)
        ).fetchall()
        return [row[0] for row in rows]

    @db.guarded
    def requests_of(self, job_id: int, seqs: list[int]) -> dict[int, tuple[str, list[str] | None]]:
        found: dict[int, tuple[str, list[str] | None]] = {}
        for start in range(0, len(seqs), _CHUNK):
            chunk = seqs[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for seq, request_id, paths in self._conn.execute(
                f"SELECT seq, request_id, paths FROM requests WHERE job_id = ? AND seq IN ({marks})", (job_id, *chunk)
            ):
                found[seq] = (request_id, json.loads(paths) if paths else None)
        return found

    def results(self, job_id: int) -> Iterator[tuple[str, list[str] | None, str | None, dict[str, Any] | None]]:
        """(id, paths, status, record) of every request in input order, read in pages so a
        large job never sits in memory whole."""
        last = 0
        while True:
            rows = self._results_page(job_id, last)
            if not rows:
                return
            for seq, request_id, paths, status, record in rows:
                last = seq
                yield request_id, json.loads(paths) if paths else None, status, json.loads(record) if record else None

    @db.guarded
    def _results_page(self, job_id: int, after: int) -> list[tuple[Any, ...]]:
        return self._conn.execute(
            "SELECT r.seq, r.request_id, r.paths, x.status, x.record FROM requests r"
            " LEFT JOIN results x ON x.job_id = r.job_id AND x.seq = r.seq"
            " WHERE r.job_id = ? AND r.seq > ? ORDER BY r.seq LIMIT ?",
            (job_id, after, _CHUNK),
        ).fetchall()

    # -- submission steps --------------------------------------------------------------------------

    @db.guarded
    def claim(self, job_id: int) -> bool:
        """Take the job's submission lease unless a live process holds it."""
        now = time.time()
        with db.write(self._conn):
            row = self._conn.execute("SELECT lease_pid, lease_at FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return False
            pid, at = row
            if pid is not None and pid != os.getpid() and at is not None and now - at < LEASE_S and _alive(pid):
                return False
            self._conn.execute("UPDATE jobs SET lease_pid = ?, lease_at = ? WHERE id = ?", (os.getpid(), now, job_id))
        return True

    @db.guarded
    def release(self, job_id: int) -> None:
        with db.write(self._conn):
            self._conn.execute(
                "UPDATE jobs SET lease_pid = NULL, lease_at = NULL WHERE id = ? AND lease_pid = ?",
                (job_id, os.getpid()),
            )

    @db.guarded
    def step(self, part: Part, step: str, **fields: Any) -> None:
        """Record a part's next step (and what it produced), renewing the lease."""
        now = time.time()
        columns = ", ".join(f"{name} = ?" for name in fields)
        with db.write(self._conn):
            self._conn.execute(
                f"UPDATE parts SET step = ?, updated_at = ?{', ' + columns if columns else ''}"
                " WHERE job_id = ? AND part = ?",
                (step, now, *fields.values(), part.job_id, part.part),
            )
            self._conn.execute(
                "UPDATE jobs SET lease_at = ? WHERE id = ? AND lease_pid = ?", (now, part.job_id, os.getpid())
            )

    def created(self, part: Part, status: RemoteStatus) -> None:
        self.step(part, "created", remote_id=status.id, **_status_fields(status))

    @db.guarded
    def update_remote(self, part: Part, status: RemoteStatus) -> None:
        with db.write(self._conn):
            fields = _status_fields(status)
            columns = ", ".join(f"{name} = ?" for name in fields)
            self._conn.execute(
                f"UPDATE parts SET {columns}, updated_at = ? WHERE job_id = ? AND part = ? AND step = 'created'",
                (*fields.values(), time.time(), part.job_id, part.part),
            )

    @db.guarded
    def request_cancel(self, job_id: int) -> None:
        with db.write(self._conn):
            self._conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))

    # -- results -----------------------------------------------------------------------------------

    @db.guarded
    def put_results(self, job_id: int, rows: list[tuple[int, str, dict[str, Any]]]) -> None:
        """Store (seq, status, record) rows; writing the same row twice is harmless (a re-collection)."""
        with db.write(self._conn):
            self._conn.executemany(
                "INSERT OR REPLACE INTO results (job_id, seq, status, record) VALUES (?, ?, ?, ?)",
                [(job_id, seq, status, json.dumps(record, ensure_ascii=False)) for seq, status, record in rows],
            )

    @db.guarded
    def missing_results(self, job_id: int, part: int) -> list[int]:
        rows = self._conn.execute(
            "SELECT r.seq FROM requests r LEFT JOIN results x ON x.job_id = r.job_id AND x.seq = r.seq"
            " WHERE r.job_id = ? AND r.part = ? AND x.seq IS NULL ORDER BY r.seq",
            (job_id, part),
        ).fetchall()
        return [row[0] for row in rows]

    @db.guarded
    def finish_part(self, part: Part, step: str, state: str, error: str | None = None) -> None:
        """Close a part whose every request has a result row: counts from those rows."""
        with db.write(self._conn):
            succeeded, total = self._conn.execute(
                "SELECT COALESCE(SUM(x.status = 'succeeded'), 0), COUNT(*) FROM requests r"
                " JOIN results x ON x.job_id = r.job_id AND x.seq = r.seq WHERE r.job_id = ? AND r.part = ?",
                (part.job_id, part.part),
            ).fetchone()
            self._conn.execute(
                "UPDATE parts SET step = ?, state = ?, succeeded = ?, failed = ?, error = COALESCE(?, error),"
                " updated_at = ? WHERE job_id = ? AND part = ?",
                (step, state, succeeded, total - succeeded, error, time.time(), part.job_id, part.part),
            )


def _status_fields(status: RemoteStatus) -> dict[str, Any]:
    return {
        "state": status.state,
        "provider_state": status.provider_state,
        "succeeded": status.succeeded,
        "failed": status.failed,
        "error": status.error,
    }


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would terminate it there: rely on the lease's age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def is_terminal(state: str) -> bool:
    return state in TERMINAL
