"""The state machine every fake batch API shares: jobs that run for a few
polls (or until the test releases them), then end done, expired or failed,
answering each request through a script the test controls.

Each provider's fake (``openai_batch``, ``anthropic_batch``, ``gemini_batch``)
adds its own routes and wire shapes around it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .reply import Reply

_ids = itertools.count(1)

DONE, EXPIRED, FAILED, CANCELLED = "done", "expired", "failed", "cancelled"


def default_answer(prompt: str) -> Reply:
    return Reply(text=f"Answer to: {prompt}")


@dataclass
class BatchPlan:
    """How the fake's batch jobs behave; a test changes it before or while mmcli runs."""

    polls_before_end: int = 1  # retrieves that still report a new job running
    end: str = DONE  # how a job ends: DONE, EXPIRED or FAILED
    hold: bool = False  # keep every job running until release()
    expire_after: int = 0  # with end=EXPIRED: how many requests were answered before the window closed
    failure_message: str = "The input file has an invalid line."
    hang_create: bool = False  # the create call never answers (a test kills mmcli meanwhile)
    refuse_create: str | None = None  # the create call is refused (400) with this message
    answer: Callable[[str], Reply] = default_answer  # the prompt → what the model answers


@dataclass
class FakeBatchJob:
    id: str
    model: str
    requests: list[tuple[str, Any]]  # (custom id, the request as received)
    meta: dict[str, Any] = field(default_factory=dict)
    status: str = "running"  # running, cancelling, or one of the ends
    polls: int = 0
    outcomes: list[tuple[str, str, Reply | None]] = field(default_factory=list)  # (custom id, kind, reply)
    created_number: int = 0

    @property
    def ended(self) -> bool:
        return self.status in (DONE, EXPIRED, FAILED, CANCELLED)


class BatchJobs:
    """The jobs of one fake server."""

    def __init__(self, prompt_of: Callable[[Any], str]) -> None:
        self.plan = BatchPlan()
        self.jobs: dict[str, FakeBatchJob] = {}
        self.lock = threading.Lock()
        self._prompt_of = prompt_of
        self.created = 0

    def new(self, prefix: str, model: str, requests: list[tuple[str, Any]], **meta: Any) -> FakeBatchJob:
        with self.lock:
            self.created += 1
            job = FakeBatchJob(f"{prefix}{next(_ids):05d}", model, requests, dict(meta), created_number=self.created)
            self.jobs[job.id] = job
            return job

    def poll(self, job_id: str) -> FakeBatchJob | None:
        """A retrieve: the job moves on one step (unless held)."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None or job.ended:
                return job
            if job.status == "cancelling":
                self._finish(job, CANCELLED)
            elif not self.plan.hold:
                job.polls += 1
                if job.polls > self.plan.polls_before_end:
                    self._finish(job, self.plan.end)
            return job

    def cancel(self, job_id: str) -> FakeBatchJob | None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None and not job.ended:
                job.status = "cancelling"
            return job

    def release(self) -> None:
        """Let held jobs end at their next poll."""
        with self.lock:
            self.plan.hold = False
            self.plan.polls_before_end = 0

    def _finish(self, job: FakeBatchJob, end: str) -> None:
        job.status = end
        if end == FAILED:
            return
        for index, (custom_id, request) in enumerate(job.requests):
            if end == CANCELLED:
                job.outcomes.append((custom_id, CANCELLED, None))
            elif end == EXPIRED and index >= self.plan.expire_after:
                job.outcomes.append((custom_id, EXPIRED, None))
            else:
                reply = self.plan.answer(self._prompt_of(request))
                job.outcomes.append((custom_id, "answered" if reply.status == 200 else "errored", reply))

    def counts(self, job: FakeBatchJob) -> tuple[int, int, int]:
        """(answered, errored, not run) so far."""
        answered = sum(1 for _, kind, _ in job.outcomes if kind == "answered")
        errored = sum(1 for _, kind, _ in job.outcomes if kind == "errored")
        return answered, errored, len(job.requests) - answered - errored
