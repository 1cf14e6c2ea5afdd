"""Submitting a batch: check and spool every request, record the job, then send
each provider job step by step.

Every request is built (its images loaded and prepared for the provider) and
written to a spool file on disk before anything is sent, so a bad line stops
the batch with nothing uploaded, and memory holds one request at a time. The
spool is split into parts no bigger than one provider job; each part's
upload and create are recorded before and after they happen (see ``store``),
so ``advance`` can be run again by any process after a crash.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from ..conversation import ModelRef
from ..errors import MmcliError, ProviderError, UsageError
from ..providers.batching import CANCELLED, FAILED, BatchWire, Outcome, RemoteStatus
from . import settings
from .records import concluded
from .requests import Item
from .store import BatchStore, Job, NewPart, NewRequest, Part

SPOOL_ROOT = "batches"
# Spool directories no job refers to (a submit that died while checking its input) are removed after this.
STALE_SPOOL_S = 86400.0


def submit(
    items: Iterable[Item], *, ref: ModelRef, wire: BatchWire, store: BatchStore, data_dir: Path, empty: str
) -> int:
    """Check and spool ``items``, record the job, and return its id (nothing is sent yet)."""
    token = secrets.token_hex(4)
    root = data_dir / SPOOL_ROOT
    _private_dir(root)
    _remove_stale_spools(root, store)
    spool_dir = root / f"spool-{int(time.time())}-{token}"
    _private_dir(spool_dir)
    try:
        parts, requests = _spool(items, ref, wire, spool_dir)
        if not requests:
            raise UsageError(empty)
        return store.create_job(
            provider=ref.provider,
            model=ref.name,
            token=token,
            spool_dir=str(spool_dir),
            parts=parts,
            requests=requests,
        )
    except BaseException:
        shutil.rmtree(spool_dir, ignore_errors=True)
        raise


def _spool(
    items: Iterable[Item], ref: ModelRef, wire: BatchWire, spool_dir: Path
) -> tuple[list[NewPart], list[NewRequest]]:
    from ..providers import registry

    limit = settings.max_requests(wire.max_requests)
    parts: list[NewPart] = []
    requests: list[NewRequest] = []
    stream = None
    count = size = 0
    try:
        for item in items:
            seq = len(requests) + 1
            try:
                request = item.build()
                registry.check_accepts(ref, request.media_kinds())
                line = wire.line(f"r{seq}", request)
            except MmcliError as exc:
                if isinstance(exc, UsageError) and item.label:
                    raise UsageError(f"{item.label}: {exc.message}") from None
                raise
            data = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
            if len(data) > wire.max_bytes:
                where = f"{item.label}: the" if item.label else f"The request for {item.request_id}:"
                size_mb = len(data) / 1_048_576
                raise UsageError(
                    f"{where} request is {size_mb:.0f} MB, more than one {wire.provider} batch job takes; "
                    "attach fewer or smaller images."
                )
            if stream is None or count >= limit or size + len(data) > wire.max_bytes:
                if stream is not None:
                    stream.close()
                    parts[-1] = NewPart(parts[-1].part, count, size, parts[-1].spool_file)
                path = spool_dir / f"part-{len(parts) + 1}.jsonl"
                stream = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
                parts.append(NewPart(len(parts) + 1, 0, 0, str(path)))
                count = size = 0
            stream.write(data)
            count += 1
            size += len(data)
            requests.append(NewRequest(seq, len(parts), item.request_id, item.paths))
    finally:
        if stream is not None:
            stream.close()
    if parts:
        parts[-1] = NewPart(parts[-1].part, count, size, parts[-1].spool_file)
    return parts, requests


# --- sending ------------------------------------------------------------------------------------


def display_name(job: Job, part: Part) -> str:
    """The name a provider job and its file carry: how a crashed create is recognised later."""
    return f"mmcli-{job.id}-{part.part}-{job.token}"


def advance(store: BatchStore, job_id: int, wire: BatchWire) -> None:
    """Send every part not yet created, unless another live process is doing it now.

    A provider that refuses a part (a malformed request, an unknown model) fails
    that part with its sentence; a network, server or key problem leaves it
    where it was, for the next ``advance`` to resume, and is raised.
    """
    if not store.claim(job_id):
        return
    try:
        job = store.get(job_id)
        assert job is not None
        for part in job.parts:
            if part.step in ("created", "collected", "abandoned"):
                continue
            job = store.get(job_id) or job  # a `cancel` from another process shows up between parts
            if job.cancel_requested:
                _cancel_unsent(store, wire, job, part)
            else:
                _send(store, wire, job, part)
    finally:
        store.release(job_id)
    job = store.get(job_id)
    if job is not None and all(p.step in ("created", "collected", "abandoned") for p in job.parts):
        shutil.rmtree(job.spool_dir, ignore_errors=True)


def _send(store: BatchStore, wire: BatchWire, job: Job, part: Part) -> None:
    name = display_name(job, part)
    spool = Path(part.spool_file)
    if part.step == "creating":
        # The last create may have reached the provider before its process died.
        found = wire.find_created(part.file_id, name)
        if found is not None:
            store.created(part, found)
            spool.unlink(missing_ok=True)
            return
    file_id = part.file_id
    needs_file = file_id is None and wire.needs_upload(part.bytes)
    if (needs_file or file_id is None) and not spool.exists():
        abandon(
            store, wire, job, part, FAILED, "Its spooled requests were lost before they were sent; submit them again."
        )
        return
    try:
        if needs_file:
            store.step(part, "uploading")
            file_id = wire.upload(spool, name)
            store.step(part, "uploaded", file_id=file_id)
        store.step(part, "creating")
        status = wire.create(job.model, spool, file_id, name)
    except ProviderError as exc:
        if exc.retryable_elsewhere:  # network, server, rate limit, key: worth resuming
            raise
        abandon(store, wire, job, part, FAILED, exc.message, file_id=file_id)
        return
    store.created(part, status)
    spool.unlink(missing_ok=True)
    latest = store.get(job.id)
    if latest is not None and latest.cancel_requested:  # `cancel` ran in another process during the create
        cancel_remote(store, wire, next(p for p in latest.parts if p.part == part.part))


def _cancel_unsent(store: BatchStore, wire: BatchWire, job: Job, part: Part) -> None:
    if part.step == "creating":
        found = wire.find_created(part.file_id, display_name(job, part))
        if found is not None:
            store.created(part, found)
            store.update_remote(part, wire.cancel(found.id))
            return
    abandon(store, wire, job, part, CANCELLED, "The job was cancelled before this part was submitted.")


def abandon(
    store: BatchStore, wire: BatchWire, job: Job, part: Part, state: str, error: str, *, file_id: str | None = None
) -> None:
    """Close a part that will never run: every request gets its error, the upload and spool go."""
    status = CANCELLED if state == CANCELLED else FAILED
    seqs = store.missing_results(job.id, part.part)
    for start in range(0, len(seqs), 500):
        rows = [
            (seq, *concluded(job.provider, job.model, Outcome(f"r{seq}", status, error=error)))
            for seq in seqs[start : start + 500]
        ]
        store.put_results(job.id, rows)
    store.finish_part(part, "abandoned", state, error)
    uploaded = file_id or part.file_id
    if uploaded:
        try:
            wire.delete_file(uploaded)
        except MmcliError:
            pass  # an orphaned input file expires on its own
    Path(part.spool_file).unlink(missing_ok=True)


def cancel_remote(store: BatchStore, wire: BatchWire, part: Part) -> RemoteStatus:
    status = wire.cancel(part.remote_id or "")
    store.update_remote(part, status)
    return status


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _remove_stale_spools(root: Path, store: BatchStore) -> None:
    known = store.spool_dirs()
    cutoff = time.time() - STALE_SPOOL_S
    for entry in root.glob("spool-*"):
        try:
            if str(entry) not in known and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue
