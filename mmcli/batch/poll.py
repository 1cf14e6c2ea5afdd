"""Following a job: finish its submission if a process died mid-way, ask the
provider how each provider job is doing, and copy the answers of every
provider job that has ended into the local store (once)."""

from __future__ import annotations

from ..errors import MmcliError
from ..providers.batching import (
    CANCELLED,
    DONE,
    EXPIRED,
    FAILED,
    SUBMITTING,
    TERMINAL,
    BatchWire,
    Outcome,
)
from .records import concluded
from .store import BatchStore, Job, Part
from .submit import advance, cancel_remote

_ROWS = 500


def refresh(store: BatchStore, job_id: int, wire: BatchWire) -> Job:
    job = _get(store, job_id)
    if any(p.state == SUBMITTING for p in job.parts):
        advance(store, job_id, wire)
        job = _get(store, job_id)
    for part in job.parts:
        if part.step == "created" and part.state not in TERMINAL:
            store.update_remote(part, wire.retrieve(part.remote_id or ""))
    job = _get(store, job_id)
    for part in job.parts:
        if part.step == "created" and part.state in TERMINAL:
            collect(store, wire, job, part)
    return _get(store, job_id)


def cancel(store: BatchStore, job_id: int, wire: BatchWire) -> Job:
    store.request_cancel(job_id)
    job = _get(store, job_id)
    for part in job.parts:
        if part.step == "created" and part.state not in TERMINAL:
            cancel_remote(store, wire, part)
    if any(p.state == SUBMITTING for p in job.parts):
        advance(store, job_id, wire)  # parts not sent yet are dropped (or cancelled, if a crashed create got through)
    return refresh(store, job_id, wire)


def collect(store: BatchStore, wire: BatchWire, job: Job, part: Part) -> None:
    """Store every answer of an ended provider job, and an error for each request it has no answer for."""
    seqs = store.seq_range(job.id, part.part)
    valid = set(seqs)
    rows: list[tuple[int, str, dict]] = []
    for outcome in wire.outcomes(part.remote_id or ""):
        seq = _seq_of(outcome.custom_id, seqs)
        if seq not in valid:
            continue  # not one of ours (a provider echoing something else): never guess
        rows.append((seq, *concluded(job.provider, job.model, outcome)))
        if len(rows) >= _ROWS:
            store.put_results(job.id, rows)
            rows = []
    if rows:
        store.put_results(job.id, rows)
    missing = store.missing_results(job.id, part.part)
    for start in range(0, len(missing), _ROWS):
        filler = [
            (seq, *concluded(job.provider, job.model, _unanswered(part, seq))) for seq in missing[start : start + _ROWS]
        ]
        store.put_results(job.id, filler)
    store.finish_part(part, "collected", part.state)
    if part.file_id:
        try:
            wire.delete_file(part.file_id)  # the input is no longer needed; the answers are here now
        except MmcliError:
            pass


def _seq_of(custom_id: str, seqs: list[int]) -> int | None:
    if custom_id.startswith("r") and custom_id[1:].isdigit():
        return int(custom_id[1:])
    if custom_id.startswith("#") and custom_id[1:].isdigit():  # by position, where the provider keeps order
        index = int(custom_id[1:])
        return seqs[index] if index < len(seqs) else None
    return None


def _unanswered(part: Part, seq: int) -> Outcome:
    custom_id = f"r{seq}"
    if part.state == EXPIRED:
        return Outcome(custom_id, EXPIRED, error="The request did not run before the batch's 24-hour window closed.")
    if part.state == CANCELLED:
        return Outcome(custom_id, CANCELLED, error="The request was cancelled before it ran.")
    if part.state == FAILED:
        return Outcome(custom_id, FAILED, error=part.error or "The provider's batch job failed.")
    assert part.state == DONE
    return Outcome(custom_id, FAILED, error="The provider's batch job ended without an answer for this request.")


def _get(store: BatchStore, job_id: int) -> Job:
    from ..errors import UsageError

    job = store.get(job_id)
    if job is None:
        raise UsageError(f"No batch job {job_id}; see mmcli batch list.")
    return job
