"""What batch commands print: the status document, the `list` table, and
the results file (JSON lines in input order, written atomically)."""

from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from ..providers.batching import SUCCEEDED
from .records import with_request
from .store import BatchStore, Job


def iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def status_json(job: Job) -> dict[str, Any]:
    return {
        "job": job.id,
        "provider": job.provider,
        "model": job.model,
        "state": job.state,
        "counts": {"total": job.total, "succeeded": job.succeeded, "failed": job.failed, "pending": job.pending},
        "created_at": iso(job.created_at),
        "provider_jobs": [
            {
                "id": part.remote_id,
                "state": part.state,
                "provider_state": part.provider_state,
                "requests": part.requests,
                "succeeded": part.succeeded,
                "failed": part.failed,
                "file": part.file_id,
                "error": part.error,
            }
            for part in job.parts
        ],
    }


def summary(job: Job) -> str:
    """One sentence on where the job stands."""
    counts = f"{job.succeeded} of {job.total} requests succeeded"
    if job.failed:
        counts += f", {job.failed} failed"
    if job.pending:
        counts += f", {job.pending} pending"
    return f"Job {job.id} ({job.provider}:{job.model}) is {job.state}: {counts}."


LIST_COLUMNS = ("job", "state", "model", "requests", "succeeded", "failed", "created")


def list_rows(jobs: list[Job]) -> list[tuple[str, ...]]:
    return [
        (
            str(j.id),
            j.state,
            f"{j.provider}:{j.model}",
            str(j.total),
            str(j.succeeded),
            str(j.failed),
            iso(j.created_at),
        )
        for j in jobs
    ]


def print_list(jobs: list[Job]) -> None:
    from .. import terminal

    rows = list_rows(jobs)
    if terminal.current().stdout_isatty:
        from rich.table import Table

        from ..render import terminal_console

        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in LIST_COLUMNS:
            table.add_column(
                column,
                no_wrap=True,
                justify="right" if column in ("job", "requests", "succeeded", "failed") else "left",
            )
        for row in rows:
            table.add_row(*row)
        terminal_console().print(table)
        return
    # In a pipe: one record per line, tab-separated, nothing cut or padded (DESIGN.md).
    for row in rows:
        sys.stdout.write("\t".join(row) + "\n")
    sys.stdout.flush()


def write_results(store: BatchStore, job: Job, stream: IO[str]) -> int:
    """Every request's line in input order; returns how many did not succeed."""
    unsuccessful = 0
    for request_id, paths, status, document in store.results(job.id):
        if document is None:  # cannot happen for an ended job; say so rather than skip the line
            document = {"answer": None, "error": "No result was stored for this request."}
        if status != SUCCEEDED:
            unsuccessful += 1
        stream.write(json.dumps(with_request(request_id, paths, document), ensure_ascii=False) + "\n")
    stream.flush()
    return unsuccessful


def write_results_file(store: BatchStore, job: Job, target: Path) -> int:
    """Write the results to ``target`` atomically (a private temporary file renamed over it)."""
    from ..errors import UsageError

    target = target.expanduser()
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)  # mode 0600
    except OSError as exc:
        raise UsageError(f"Cannot write {target}: {exc.strerror or exc}; check the directory.") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            unsuccessful = write_results(store, job, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return unsuccessful
