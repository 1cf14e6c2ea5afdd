"""OpenAI's Batch API through the `openai` SDK: the requests go up as a JSONL
file (Files API, purpose ``batch``), a batch runs them against
``/v1/chat/completions``, and the answers come back as output and error files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..conversation import Request
from .base import failure
from .batching import CANCELLED, DONE, EXPIRED, FAILED, RUNNING, SUCCEEDED, ChatBatch, Outcome, RemoteStatus
from .openai import OpenAIProvider

ENDPOINT = "/v1/chat/completions"
MB = 1024 * 1024

_STATES = {
    "validating": RUNNING,
    "in_progress": RUNNING,
    "finalizing": RUNNING,
    "cancelling": RUNNING,
    "completed": DONE,
    "failed": FAILED,
    "expired": EXPIRED,
    "cancelled": CANCELLED,
}
_FINISH = {
    "stop": "stop",
    "length": "length",
    "content_filter": "blocked",
    "tool_calls": "stop",
    "function_call": "stop",
}


class OpenAIBatch(ChatBatch):
    provider = "openai"
    # https://platform.openai.com/docs/guides/batch: 50,000 requests and 200 MB per input file;
    # a little under 200 MB leaves room for the multipart framing.
    max_requests = 50_000
    max_bytes = 190 * MB

    chat: OpenAIProvider

    # --- input ----------------------------------------------------------------------------------

    def line(self, custom_id: str, request: Request) -> dict[str, Any]:
        # The one-shot command's body, minus what only a stream needs.
        body = self.chat.request_body(request)
        body.pop("stream", None)
        body.pop("stream_options", None)
        return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}

    def needs_upload(self, size: int) -> bool:
        return True

    def upload(self, path: Path, display_name: str) -> str:
        with self._errors(), open(path, "rb") as stream:  # streamed from disk, not read into memory
            uploaded = self.client().files.create(
                file=(f"{display_name}.jsonl", stream, "application/jsonl"), purpose="batch"
            )
        return str(uploaded.id)

    def create(self, model: str, path: Path, file_id: str | None, display_name: str) -> RemoteStatus:
        assert file_id is not None
        with self._errors():
            batch = self.client().batches.create(
                input_file_id=file_id,
                endpoint=ENDPOINT,
                completion_window="24h",
                metadata={"mmcli_job": display_name},
            )
        return self._status(batch)

    def find_created(self, file_id: str | None, display_name: str) -> RemoteStatus | None:
        # An input file is used by one batch only: the recent batch that reads it is ours.
        if file_id is None:
            return None
        with self._errors():
            page = self.client().batches.list(limit=100)
            for batch in page.data:
                if batch.input_file_id == file_id:
                    return self._status(batch)
        return None

    # --- progress -------------------------------------------------------------------------------

    def retrieve(self, remote_id: str) -> RemoteStatus:
        with self._errors():
            return self._status(self.client().batches.retrieve(remote_id))

    def cancel(self, remote_id: str) -> RemoteStatus:
        with self._errors():
            return self._status(self.client().batches.cancel(remote_id))

    def _status(self, batch: Any) -> RemoteStatus:
        counts = batch.request_counts
        error = None
        problems = [e for e in ((batch.errors.data if batch.errors else None) or ())]
        if problems:
            first = problems[0]
            where = f" (input line {first.line})" if getattr(first, "line", None) else ""
            error = f"OpenAI rejected the batch input{where}: {(first.message or first.code or '').rstrip('.')}."
        return RemoteStatus(
            id=str(batch.id),
            state=_STATES.get(batch.status, RUNNING),
            provider_state=str(batch.status),
            succeeded=counts.completed if counts else None,
            failed=counts.failed if counts else None,
            error=error,
        )

    # --- results --------------------------------------------------------------------------------

    def outcomes(self, remote_id: str) -> Iterator[Outcome]:
        with self._errors():
            batch = self.client().batches.retrieve(remote_id)
            for file_id in (batch.output_file_id, batch.error_file_id):
                if not file_id:
                    continue
                # Streamed line by line: a large job's results never sit in memory whole.
                with self.client().files.with_streaming_response.content(file_id) as response:
                    for line in response.iter_lines():
                        if line.strip():
                            yield self._outcome(json.loads(line))

    def _outcome(self, record: dict[str, Any]) -> Outcome:
        custom_id = str(record.get("custom_id"))
        response = record.get("response")
        error = record.get("error")
        if not response:
            code = (error or {}).get("code")
            if code == "batch_expired":
                return Outcome(
                    custom_id, EXPIRED, error="The request did not run before the batch's 24-hour window closed."
                )
            if code == "batch_cancelled":
                return Outcome(custom_id, CANCELLED, error="The request was cancelled before it ran.")
            message = (error or {}).get("message") or "no answer"
            return Outcome(custom_id, FAILED, error=failure(self.chat.name, message).message)
        body = response.get("body") or {}
        status_code = int(response.get("status_code") or 0)
        if status_code != 200:
            message = ((body.get("error") or {}).get("message")) or f"HTTP {status_code}"
            return Outcome(custom_id, FAILED, error=failure(self.chat.name, message, status=status_code).message)
        choice = (body.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        usage = body.get("usage") or {}
        refusal = message.get("refusal")
        # The chat code's own ending rules; a complete body is an answer that was not cut.
        finish = self.chat.finish(choice.get("finish_reason") or "stop", bool(refusal), body.get("model"), True)
        return Outcome(
            custom_id,
            SUCCEEDED,
            text=refusal or message.get("content") or "",
            input_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
        ).ending(finish)

    def delete_file(self, file_id: str) -> None:
        with self._errors():
            self.client().files.delete(file_id)
