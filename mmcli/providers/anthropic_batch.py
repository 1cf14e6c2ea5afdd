"""Anthropic's Message Batches API through the `anthropic` SDK: the requests go
in the create call's body (no file), and the results stream back as JSONL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from ..conversation import Request
from .anthropic import AnthropicProvider, finish_of
from .base import failure
from .batching import CANCELLED, DONE, EXPIRED, FAILED, RUNNING, SUCCEEDED, ChatBatch, Outcome, RemoteStatus

MB = 1024 * 1024

# The error types of a failed request that mean the request itself was wrong.
_REFUSED_TYPES = {"invalid_request_error": 400, "not_found_error": 404, "request_too_large": 413}


class AnthropicBatch(ChatBatch):
    provider = "anthropic"
    # https://docs.anthropic.com/en/docs/build-with-claude/batch-processing: 100,000 requests
    # or 256 MB per batch; a little under 256 MB leaves room for the body's framing.
    max_requests = 100_000
    max_bytes = 250 * MB

    chat: AnthropicProvider

    # --- input ----------------------------------------------------------------------------------

    def line(self, custom_id: str, request: Request) -> dict[str, Any]:
        # The one-shot command's body without `stream`; what it sends through
        # the SDK's extra_body (temperature) belongs in the params themselves.
        params = self.chat.request_body(request)
        params.pop("stream", None)
        params.update(params.pop("extra_body", None) or {})
        return {"custom_id": custom_id, "params": params}

    def needs_upload(self, size: int) -> bool:
        return False

    def upload(self, path: Path, display_name: str) -> str:
        raise NotImplementedError("Anthropic batches take their requests in the create call.")

    def create(self, model: str, path: Path, file_id: str | None, display_name: str) -> RemoteStatus:
        # One body holds every request: memory is bounded by one batch's size (max_bytes).
        with open(path, encoding="utf-8") as lines:
            requests = [json.loads(line) for line in lines if line.strip()]
        with self._errors():
            batch = self.client().messages.batches.create(requests=requests)
        return self._status(batch)

    def find_created(self, file_id: str | None, display_name: str) -> RemoteStatus | None:
        # A message batch carries no name or metadata to recognise it by.
        return None

    # --- progress -------------------------------------------------------------------------------

    def retrieve(self, remote_id: str) -> RemoteStatus:
        with self._errors():
            return self._status(self.client().messages.batches.retrieve(remote_id))

    def cancel(self, remote_id: str) -> RemoteStatus:
        with self._errors():
            return self._status(self.client().messages.batches.cancel(remote_id))

    def _status(self, batch: Any) -> RemoteStatus:
        counts = batch.request_counts
        answered = counts.succeeded + counts.errored
        state = RUNNING
        if batch.processing_status == "ended":
            # Counts other than `processing` stay 0 until the whole batch has ended.
            state = DONE
            if not answered and counts.expired:
                state = EXPIRED
            elif not answered and counts.canceled:
                state = CANCELLED
        return RemoteStatus(
            id=str(batch.id),
            state=state,
            provider_state=str(batch.processing_status),
            succeeded=counts.succeeded,
            failed=counts.errored + counts.canceled + counts.expired,
        )

    # --- results --------------------------------------------------------------------------------

    def outcomes(self, remote_id: str) -> Iterator[Outcome]:
        with self._errors():
            with closing(self.client().messages.batches.results(remote_id)) as results:
                for item in results:
                    yield self._outcome(item.model_dump(mode="json"))

    def _outcome(self, record: dict[str, Any]) -> Outcome:
        custom_id = str(record.get("custom_id"))
        result = record.get("result") or {}
        kind = result.get("type")
        if kind == "expired":
            return Outcome(
                custom_id, EXPIRED, error="The request did not run before the batch's 24-hour window closed."
            )
        if kind == "canceled":
            return Outcome(custom_id, CANCELLED, error="The request was cancelled before it ran.")
        if kind != "succeeded":
            inner = ((result.get("error") or {}).get("error")) or {}
            message = inner.get("message") or "the request failed"
            status = _REFUSED_TYPES.get(str(inner.get("type")))
            return Outcome(custom_id, FAILED, error=failure(self.chat.name, message, status=status).message)
        message = result.get("message") or {}
        blocks = message.get("content") or []
        text = "".join(b.get("text") or "" for b in blocks if b.get("type") == "text")
        citations: list[str] = []
        for block in blocks:
            for citation in block.get("citations") or ():
                url = citation.get("url")
                if url and url not in citations:
                    citations.append(url)
        usage = message.get("usage") or {}
        return Outcome(
            custom_id,
            SUCCEEDED,
            text=text,
            input_tokens=usage.get("input_tokens"),
            output_tokens=usage.get("output_tokens"),
            citations=citations,
        ).ending(finish_of(message.get("stop_reason") or "end_turn", message.get("model")))

    def delete_file(self, file_id: str) -> None:
        return None
