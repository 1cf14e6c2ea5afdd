"""Fake Anthropic Message Batches API, as anthropic 2.x speaks it.

``POST /v1/messages/batches`` (the requests in the body), ``GET .../{id}``,
``GET /v1/messages/batches``, ``POST .../{id}/cancel`` and the results at
``results_url`` (JSONL, reverse input order). processing_status goes
in_progress → ended, or canceling → ended; counts other than ``processing``
stay 0 until the batch has ended, as the real API's do.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .anthropic import FakeAnthropic
from .batch_jobs import CANCELLED, EXPIRED, BatchJobs, FakeBatchJob
from .exchange import Exchange
from .recording import RecordedRequest
from .server import Handler

_BATCH = re.compile(r"^/v1/messages/batches/(?P<id>[^/]+)(?P<tail>/cancel|/results)?$")
# The real API rejects the whole batch for one custom_id outside this pattern.
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
STAMP = "2026-01-01T00:00:00Z"


def _prompt(params: dict[str, Any]) -> str:
    content = params["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if block.get("type") == "text")


class FakeAnthropicBatch(FakeAnthropic):
    def __init__(self) -> None:
        super().__init__()
        self.batches = BatchJobs(_prompt)

    def route(self, request: RecordedRequest) -> Handler | None:
        if request.path == "/v1/messages/batches":
            return {"POST": self._create, "GET": self._list}.get(request.method)
        match = _BATCH.match(request.path)
        if match:
            tail = match["tail"]
            if request.method == "GET" and tail is None:
                return lambda req, ex: self._retrieve(match["id"], ex)
            if request.method == "POST" and tail == "/cancel":
                return lambda req, ex: self._cancel(match["id"], ex)
            if request.method == "GET" and tail == "/results":
                return lambda req, ex: self._results(match["id"], ex)
        return super().route(request)

    def _create(self, request: RecordedRequest, exchange: Exchange) -> None:
        if self.batches.plan.hang_create:
            exchange.hang()
        requests = (request.json or {}).get("requests") or []
        seen: set[str] = set()
        for item in requests:
            custom_id = str(item.get("custom_id"))
            if not CUSTOM_ID.match(custom_id) or custom_id in seen:
                self.send_error(exchange, 400, f"requests: custom_id {custom_id!r} is invalid or not unique.")
                return
            if "stream" in item.get("params", {}):
                self.send_error(exchange, 400, "requests.params: stream is not allowed in a batch.")
                return
            seen.add(custom_id)
        model = requests[0]["params"]["model"] if requests else ""
        job = self.batches.new("msgbatch_", model, [(item["custom_id"], item["params"]) for item in requests])
        exchange.send_json(200, self._batch_json(job))

    def _retrieve(self, batch_id: str, exchange: Exchange) -> None:
        job = self.batches.poll(batch_id)
        if job is None:
            self.send_error(exchange, 404, f"No message batch {batch_id}.")
            return
        exchange.send_json(200, self._batch_json(job))

    def _cancel(self, batch_id: str, exchange: Exchange) -> None:
        job = self.batches.cancel(batch_id)
        if job is None:
            self.send_error(exchange, 404, f"No message batch {batch_id}.")
            return
        exchange.send_json(200, self._batch_json(job))

    def _list(self, request: RecordedRequest, exchange: Exchange) -> None:
        with self.batches.lock:
            jobs = sorted(self.batches.jobs.values(), key=lambda j: j.created_number, reverse=True)
        data = [self._batch_json(job) for job in jobs]
        exchange.send_json(200, {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
                                 "last_id": data[-1]["id"] if data else None})

    def _batch_json(self, job: FakeBatchJob) -> dict[str, Any]:
        answered, errored, _ = self.batches.counts(job)
        ended = job.ended
        canceled = sum(1 for _, kind, _ in job.outcomes if kind == CANCELLED)
        expired = sum(1 for _, kind, _ in job.outcomes if kind == EXPIRED)
        return {
            "id": job.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else ("canceling" if job.status == "cancelling" else "in_progress"),
            "request_counts": {
                "processing": 0 if ended else len(job.requests),
                "succeeded": answered if ended else 0,
                "errored": errored if ended else 0,
                "canceled": canceled if ended else 0,
                "expired": expired if ended else 0,
            },
            "ended_at": STAMP if ended else None,
            "created_at": STAMP,
            "expires_at": "2026-01-02T00:00:00Z",
            "cancel_initiated_at": STAMP if job.status in ("cancelling", CANCELLED) else None,
            "archived_at": None,
            "results_url": f"{self.root}/v1/messages/batches/{job.id}/results" if ended else None,
        }

    def _results(self, batch_id: str, exchange: Exchange) -> None:
        job = self.batches.jobs.get(batch_id)
        if job is None or not job.ended:
            self.send_error(exchange, 404, "No results for this batch yet.")
            return
        params = dict(job.requests)
        lines = []
        for custom_id, kind, reply in reversed(job.outcomes):
            if kind == "answered":
                assert reply is not None
                model = params[custom_id]["model"]
                content = [{"type": "text", "text": reply.answer(self.default_text), "citations": None}]
                message = self._message(reply, model, content, reply.finish_reason or "end_turn", self._usage(reply))
                result: dict[str, Any] = {"type": "succeeded", "message": message}
            elif kind == "errored":
                assert reply is not None
                result = {"type": "errored", "error": self.error_body(reply.status, reply.error_message or "Bad.",
                                                                      reply.error_type)}
            elif kind == CANCELLED:
                result = {"type": "canceled"}
            else:
                result = {"type": "expired"}
            lines.append(json.dumps({"custom_id": custom_id, "result": result}))
        exchange.send(200, ("\n".join(lines) + "\n").encode("utf-8"), "application/binary")

