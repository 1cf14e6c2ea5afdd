"""The local batch job store on its own: migrations, the submission lease,
counts and states, results in input order."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from mmcli.batch.store import MIGRATIONS, BatchStore, NewPart, NewRequest
from mmcli.providers.batching import DONE, RUNNING, SUBMITTING, RemoteStatus


def new_job(store: BatchStore, tmp_path: Path, sizes: tuple[int, ...] = (2, 1)) -> int:
    parts = [NewPart(n, size, 100, str(tmp_path / f"part-{n}.jsonl")) for n, size in enumerate(sizes, start=1)]
    requests, seq = [], 0
    for part in parts:
        for _ in range(part.requests):
            seq += 1
            requests.append(NewRequest(seq, part.part, f"id{seq}", None))
    return store.create_job(provider="openai", model="gpt-4o-mini", token="t0k3n", spool_dir=str(tmp_path),
                            parts=parts, requests=requests)


def test_a_new_file_gets_every_migration_and_reopens(tmp_path):
    with BatchStore(tmp_path) as store:
        job_id = new_job(store, tmp_path)
    version = sqlite3.connect(tmp_path / "batches.sqlite3").execute("PRAGMA user_version").fetchone()[0]
    assert version == len(MIGRATIONS)
    with BatchStore(tmp_path) as store:  # nothing to migrate the second time; the job is still there
        job = store.get(job_id)
    assert job is not None and job.total == 3 and job.state == SUBMITTING
    assert [p.requests for p in job.parts] == [2, 1]


def test_job_ids_are_small_integers_never_reused(tmp_path):
    with BatchStore(tmp_path) as store:
        assert [new_job(store, tmp_path) for _ in range(3)] == [1, 2, 3]


def test_the_lease_is_refused_to_a_second_process_while_the_holder_lives(tmp_path):
    with BatchStore(tmp_path) as store:
        job_id = new_job(store, tmp_path)  # created holding this process's lease
        probe = (
            "import sys; from pathlib import Path; from mmcli.batch.store import BatchStore; "
            f"print(BatchStore(Path({str(tmp_path)!r})).claim({job_id}))"
        )
        other = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        assert other.stdout.strip() == "False"
        store.release(job_id)
        other = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        assert other.stdout.strip() == "True"
        # That process has exited holding the lease: a dead holder's lease is taken over.
        assert store.claim(job_id) is True


def test_counts_states_and_results_in_input_order(tmp_path):
    with BatchStore(tmp_path) as store:
        job_id = new_job(store, tmp_path)
        job = store.get(job_id)
        assert job is not None
        first, second = job.parts
        store.created(first, RemoteStatus("b1", RUNNING, "in_progress", 1, 0))
        store.created(second, RemoteStatus("b2", RUNNING, "in_progress", 0, 0))
        job = store.get(job_id)
        assert job is not None and job.state == RUNNING and (job.succeeded, job.failed, job.pending) == (1, 0, 2)
        store.put_results(job_id, [(3, "succeeded", {"answer": "c"}), (1, "failed", {"answer": None})])
        store.put_results(job_id, [(2, "succeeded", {"answer": "b"})])
        for part in job.parts:
            store.update_remote(part, RemoteStatus(part.remote_id or "", DONE, "completed"))
        job = store.get(job_id)
        assert job is not None
        for part in job.parts:
            store.finish_part(part, "collected", DONE)
        job = store.get(job_id)
        assert job is not None and job.state == DONE and job.finished
        assert (job.succeeded, job.failed, job.pending) == (2, 1, 0)
        rows = list(store.results(job_id))
    assert [(r[0], r[2], r[3]["answer"]) for r in rows] == [
        ("id1", "failed", None), ("id2", "succeeded", "b"), ("id3", "succeeded", "c")]
