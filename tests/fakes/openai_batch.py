"""Fake OpenAI Files + Batch API, as openai 3.x speaks it.

- ``POST /v1/files`` (multipart, ``purpose=batch``), ``GET /v1/files/{id}/content``,
  ``DELETE /v1/files/{id}``.
- ``POST /v1/batches``, ``GET /v1/batches/{id}``, ``GET /v1/batches``,
  ``POST /v1/batches/{id}/cancel``. Status goes validating → in_progress →
  completed / expired / failed, or cancelling → cancelled; answers go to an
  output file, per-request errors and expired requests to an error file, in
  reverse input order (the real API promises no order).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from .batch_jobs import CANCELLED, DONE, EXPIRED, FAILED, BatchJobs, FakeBatchJob
from .exchange import Exchange
from .openai import FakeOpenAI
from .openai_chat import completion_json, error_json, new_id
from .recording import FormFile, RecordedRequest
from .server import Handler

_FILE = re.compile(r"^/v1/files/(?P<id>[^/]+)(?P<content>/content)?$")
_BATCH = re.compile(r"^/v1/batches/(?P<id>[^/]+)(?P<cancel>/cancel)?$")
_STATUS = {"running": "in_progress", "cancelling": "cancelling", DONE: "completed", EXPIRED: "expired",
           FAILED: "failed", CANCELLED: "cancelled"}


def _prompt(line: dict[str, Any]) -> str:
    messages = line["body"]["messages"]
    content = messages[-1]["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


class FakeOpenAIBatch(FakeOpenAI):
    def __init__(self) -> None:
        super().__init__()
        self.batches = BatchJobs(_prompt)
        self.files: dict[str, dict[str, Any]] = {}
        self.file_data: dict[str, bytes] = {}
        self.deleted_files: list[str] = []

    def route(self, request: RecordedRequest) -> Handler | None:
        if request.path == "/v1/files" and request.method == "POST":
            return self._upload
        if request.path == "/v1/batches":
            return {"POST": self._create, "GET": self._list}.get(request.method)
        match = _FILE.match(request.path)
        if match:
            if request.method == "GET" and match["content"]:
                return lambda req, ex: self._content(match["id"], ex)
            if request.method == "DELETE" and not match["content"]:
                return lambda req, ex: self._delete(match["id"], ex)
        match = _BATCH.match(request.path)
        if match:
            if request.method == "GET" and not match["cancel"]:
                return lambda req, ex: self._retrieve(match["id"], ex)
            if request.method == "POST" and match["cancel"]:
                return lambda req, ex: self._cancel(match["id"], ex)
        return super().route(request)

    # -- files -------------------------------------------------------------------------------------

    def _upload(self, request: RecordedRequest, exchange: Exchange) -> None:
        upload = request.form.get("file")
        if not isinstance(upload, FormFile) or request.form.get("purpose") != "batch":
            self.send_error(exchange, 400, "Expected a multipart upload with purpose=batch.")
            return
        file_id = new_id("file")
        self.file_data[file_id] = upload.data
        self.files[file_id] = {
            "id": file_id, "object": "file", "bytes": len(upload.data), "created_at": int(time.time()),
            "filename": upload.filename, "purpose": "batch", "status": "processed",
        }
        exchange.send_json(200, self.files[file_id])

    def _content(self, file_id: str, exchange: Exchange) -> None:
        if file_id not in self.file_data:
            self.send_error(exchange, 404, f"No such File object: {file_id}")
            return
        exchange.send(200, self.file_data[file_id], "application/octet-stream")

    def _delete(self, file_id: str, exchange: Exchange) -> None:
        self.files.pop(file_id, None)
        self.deleted_files.append(file_id)
        exchange.send_json(200, {"id": file_id, "object": "file", "deleted": True})

    # -- batches -----------------------------------------------------------------------------------

    def _create(self, request: RecordedRequest, exchange: Exchange) -> None:
        body = request.json or {}
        if self.batches.plan.hang_create:
            exchange.hang()
        if self.batches.plan.refuse_create:
            self.send_error(exchange, 400, self.batches.plan.refuse_create)
            return
        file_id = body.get("input_file_id")
        if file_id not in self.file_data:
            self.send_error(exchange, 400, f"Invalid input_file_id {file_id!r}: no such file.")
            return
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            self.send_error(exchange, 400, "Unsupported endpoint or completion window.")
            return
        lines = [json.loads(line) for line in self.file_data[file_id].splitlines() if line.strip()]
        for line in lines:
            if line.get("url") != body["endpoint"] or line.get("method") != "POST":
                self.send_error(exchange, 400, "Every line must POST to the batch's endpoint.")
                return
        model = lines[0]["body"]["model"] if lines else ""
        job = self.batches.new("batch_", model, [(line["custom_id"], line) for line in lines],
                               input_file_id=file_id, metadata=body.get("metadata"), created_at=int(time.time()))
        exchange.send_json(200, self._batch_json(job))

    def _retrieve(self, batch_id: str, exchange: Exchange) -> None:
        job = self.batches.poll(batch_id)
        if job is None:
            self.send_error(exchange, 404, f"No batch found with id '{batch_id}'.")
            return
        exchange.send_json(200, self._batch_json(job))

    def _cancel(self, batch_id: str, exchange: Exchange) -> None:
        job = self.batches.cancel(batch_id)
        if job is None:
            self.send_error(exchange, 404, f"No batch found with id '{batch_id}'.")
            return
        exchange.send_json(200, self._batch_json(job))

    def _list(self, request: RecordedRequest, exchange: Exchange) -> None:
        with self.batches.lock:
            jobs = sorted(self.batches.jobs.values(), key=lambda j: j.created_number, reverse=True)
        data = [self._batch_json(job) for job in jobs]
        exchange.send_json(200, {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                                 "last_id": data[-1]["id"] if data else None, "has_more": False})

    def _batch_json(self, job: FakeBatchJob) -> dict[str, Any]:
        answered, errored, _ = self.batches.counts(job)
        status = _STATUS[job.status]
        if status == "in_progress" and job.polls == 0:
            status = "validating"
        output_id = error_id = None
        errors = None
        if job.status == FAILED:
            errors = {"object": "list", "data": [
                {"code": "invalid_request", "message": self.batches.plan.failure_message, "param": None, "line": 1}]}
        elif job.ended and job.outcomes:
            output_id, error_id = self._result_files(job)
        created = job.meta["created_at"]
        return {
            "id": job.id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": errors,
            "input_file_id": job.meta["input_file_id"], "completion_window": "24h", "status": status,
            "output_file_id": output_id, "error_file_id": error_id, "created_at": created,
            "in_progress_at": created, "expires_at": created + 86400, "finalizing_at": None,
            "completed_at": created if job.status == DONE else None, "failed_at": None,
            "expired_at": created if job.status == EXPIRED else None, "cancelling_at": None,
            "cancelled_at": created if job.status == CANCELLED else None,
            "request_counts": {"total": len(job.requests), "completed": answered, "failed": errored},
            "metadata": job.meta.get("metadata"),
        }

    def _result_files(self, job: FakeBatchJob) -> tuple[str | None, str | None]:
        if "output_file_id" in job.meta:
            return job.meta["output_file_id"], job.meta["error_file_id"]
        bodies = {custom_id: line["body"] for custom_id, line in job.requests}
        output: list[str] = []
        errors: list[str] = []
        for custom_id, kind, reply in reversed(job.outcomes):
            record: dict[str, Any] = {"id": new_id("batch_req"), "custom_id": custom_id}
            if kind == "answered":
                assert reply is not None
                body = completion_json(reply, reply.model_version or bodies[custom_id]["model"], self.default_text)
                record.update(response={"status_code": 200, "request_id": new_id("req"), "body": body}, error=None)
                output.append(json.dumps(record))
            elif kind == "errored":
                assert reply is not None
                body = error_json(reply.status, reply.error_message or "Bad request.", reply.error_type)
                record.update(response={"status_code": reply.status, "request_id": new_id("req"), "body": body},
                              error=None)
                errors.append(json.dumps(record))
            elif kind == EXPIRED:
                record.update(response=None, error={"code": "batch_expired", "message":
                              "This request could not be executed before the completion window expired."})
                errors.append(json.dumps(record))
        output_id = self._store_file(output, "batch_output")
        error_id = self._store_file(errors, "batch_output")
        job.meta.update(output_file_id=output_id, error_file_id=error_id)
        return output_id, error_id

    def _store_file(self, lines: list[str], purpose: str) -> str | None:
        if not lines:
            return None
        file_id = new_id("file")
        data = ("\n".join(lines) + "\n").encode("utf-8")
        self.file_data[file_id] = data
        self.files[file_id] = {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                               "filename": f"{file_id}.jsonl", "purpose": purpose, "status": "processed"}
        return file_id
