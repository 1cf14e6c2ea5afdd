"""Fake Gemini batch mode (Developer API), as google-genai 3.x speaks it.

- ``POST /{v}/models/{m}:batchGenerateContent`` with inline requests
  (``batch.inputConfig.requests.requests[]``, media as URL-safe base64) or a
  file (``batch.inputConfig.fileName``, uploaded through the fake file API).
- ``GET /{v}/batches/{id}``, ``GET /{v}/batches``, ``POST /{v}/batches/{id}:cancel``.
- Answers: inline jobs in ``metadata.output.inlinedResponses`` (input order),
  file jobs in a responses file fetched with ``GET /{v}/files/{id}:download``.

Every reply is an Operation whose ``metadata`` is the batch; states are
BATCH_STATE_PENDING → RUNNING → SUCCEEDED / EXPIRED / FAILED, or CANCELLED.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from . import transcription
from .batch_jobs import CANCELLED, DONE, EXPIRED, FAILED, BatchJobs, FakeBatchJob
from .exchange import Exchange
from .gemini import FakeGemini
from .openai_chat import new_id
from .recording import RecordedRequest
from .server import Handler

_CREATE = re.compile(r"^/(?P<version>v1|v1beta)/models/(?P<model>[^/:]+):batchGenerateContent$")
_BATCH = re.compile(r"^/(?P<version>v1|v1beta)/batches/(?P<id>[^/:]+)(?P<cancel>:cancel)?$")
_LIST = re.compile(r"^/(?P<version>v1|v1beta)/batches$")
_DOWNLOAD = re.compile(r"^/(?P<version>v1|v1beta)/files/(?P<id>[^/:]+):download$")
_STATES = {"running": "BATCH_STATE_RUNNING", "cancelling": "BATCH_STATE_RUNNING", DONE: "BATCH_STATE_SUCCEEDED",
           EXPIRED: "BATCH_STATE_EXPIRED", FAILED: "BATCH_STATE_FAILED", CANCELLED: "BATCH_STATE_CANCELLED"}
STAMP = "2026-01-01T00:00:00Z"


def decode_base64(text: str) -> bytes:
    """google-genai sends URL-safe base64; files written by hand may use the standard alphabet."""
    return base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_"))


def _prompt(request: dict[str, Any]) -> str:
    parts = request["contents"][-1]["parts"]
    return "".join(part.get("text", "") for part in parts)


class FakeGeminiBatch(FakeGemini):
    def __init__(self) -> None:
        super().__init__()
        self.batches = BatchJobs(_prompt)

    def route(self, request: RecordedRequest) -> Handler | None:
        match = _CREATE.match(request.path)
        if match and request.method == "POST":
            return lambda req, ex: self._create(match["model"], req, ex)
        if _LIST.match(request.path) and request.method == "GET":
            return self._list
        match = _BATCH.match(request.path)
        if match:
            if request.method == "GET" and not match["cancel"]:
                return lambda req, ex: self._retrieve(match["id"], ex)
            if request.method == "POST" and match["cancel"]:
                return lambda req, ex: self._cancel(match["id"], ex)
        match = _DOWNLOAD.match(request.path)
        if match and request.method == "GET":
            return lambda req, ex: self._download(match["id"], ex)
        return super().route(request)

    def _create(self, model: str, request: RecordedRequest, exchange: Exchange) -> None:
        if self.batches.plan.hang_create:
            exchange.hang()
        batch = (request.json or {}).get("batch") or {}
        source = batch.get("inputConfig") or {}
        if "fileName" in source:
            file_id = str(source["fileName"]).removeprefix("files/")
            data = transcription.file_store(self).data.get(file_id)
            if data is None:
                self.send_error(exchange, 400, f"File {source['fileName']} not found.")
                return
            lines = [json.loads(line) for line in data.splitlines() if line.strip()]
            requests = [(line["key"], line["request"]) for line in lines]
            mode = "file"
        else:
            inlined = ((source.get("requests") or {}).get("requests")) or []
            requests = [(item.get("metadata", {}).get("key", f"#{n}"), item["request"])
                        for n, item in enumerate(inlined)]
            mode = "inline"
        job = self.batches.new("", model, requests, mode=mode, display_name=batch.get("displayName"))
        exchange.send_json(200, self._operation(job))

    def _retrieve(self, batch_id: str, exchange: Exchange) -> None:
        job = self.batches.poll(batch_id)
        if job is None:
            self.send_error(exchange, 404, f"Batch batches/{batch_id} not found.")
            return
        exchange.send_json(200, self._operation(job))

    def _cancel(self, batch_id: str, exchange: Exchange) -> None:
        job = self.batches.cancel(batch_id)
        if job is None:
            self.send_error(exchange, 404, f"Batch batches/{batch_id} not found.")
            return
        exchange.send_json(200, {})

    def _list(self, request: RecordedRequest, exchange: Exchange) -> None:
        with self.batches.lock:
            jobs = sorted(self.batches.jobs.values(), key=lambda j: j.created_number, reverse=True)
        exchange.send_json(200, {"operations": [self._operation(job, listing=True) for job in jobs]})

    def _download(self, file_id: str, exchange: Exchange) -> None:
        data = transcription.file_store(self).data.get(file_id)
        if data is None:
            self.send_error(exchange, 404, f"File files/{file_id} not found.")
            return
        exchange.send(200, data, "application/octet-stream")

    def _operation(self, job: FakeBatchJob, *, listing: bool = False) -> dict[str, Any]:
        state = _STATES[job.status]
        if state == "BATCH_STATE_RUNNING" and job.polls == 0 and job.status == "running":
            state = "BATCH_STATE_PENDING"
        answered, errored, pending = self.batches.counts(job)
        metadata: dict[str, Any] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
            "model": f"models/{job.model}",
            "displayName": job.meta.get("display_name"),
            "state": state,
            "createTime": STAMP,
            "updateTime": STAMP,
            "name": f"batches/{job.id}",
            "batchStats": {"requestCount": str(len(job.requests)), "successfulRequestCount": str(answered),
                           "failedRequestCount": str(errored), "pendingRequestCount": str(pending)},
        }
        if job.ended and job.outcomes and not listing:
            metadata["output"] = self._output(job)
        return {"name": f"batches/{job.id}", "metadata": metadata, "done": job.ended}

    def _output(self, job: FakeBatchJob) -> dict[str, Any]:
        responses = []
        for key, kind, reply in job.outcomes:
            if kind == "answered":
                assert reply is not None
                parts = [{"text": reply.answer(self.default_text)}]
                entry: dict[str, Any] = {"response": self._chunk(reply, job.model, parts, new_id("resp"), final=True)}
            elif kind == "errored":
                assert reply is not None
                entry = {"error": {"code": 3, "message": reply.error_message or "Invalid request."}}
            else:
                continue  # expired and cancelled requests get no line
            inline = job.meta["mode"] == "inline"
            responses.append({**entry, "metadata": {"key": key}} if inline else {"key": key, **entry})
        if job.meta["mode"] == "inline":
            return {"inlinedResponses": {"inlinedResponses": responses}}
        if "responses_file" not in job.meta:
            store = transcription.file_store(self)
            with store.lock:
                store.counter += 1
                file_id = f"batch-{job.id}-{store.counter}"
                store.data[file_id] = "".join(json.dumps(r) + "\n" for r in responses).encode("utf-8")
            job.meta["responses_file"] = f"files/{file_id}"
        return {"responsesFile": job.meta["responses_file"]}
