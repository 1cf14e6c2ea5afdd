"""Gemini batch mode (``batchGenerateContent``) through the `google-genai` SDK.

Up to 20 MB of input the requests travel inline in the create call and the
answers come back inside the job, in input order; beyond that they go up as
a JSONL file (Files API) and come back as a file. Each line of our input is
the file form, ``{"key": ..., "request": <GenerateContentRequest JSON>}``,
built from the same contents and config the one-shot command streams with.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ..conversation import Request
from .base import StreamProgress, failure, google_sdk_errors
from .batching import CANCELLED, DONE, EXPIRED, FAILED, RUNNING, SUCCEEDED, ChatBatch, Outcome, RemoteStatus
from .gemini import GeminiProvider, finish_of

MB = 1024 * 1024
# https://ai.google.dev/gemini-api/docs/batch-api: inline requests up to 20 MB in all.
INLINE_MAX_BYTES = 20 * MB

_STATES = {
    "JOB_STATE_SUCCEEDED": DONE,
    "JOB_STATE_PARTIALLY_SUCCEEDED": DONE,
    "JOB_STATE_FAILED": FAILED,
    "JOB_STATE_CANCELLED": CANCELLED,
    "JOB_STATE_EXPIRED": EXPIRED,
}
# GenerateContentConfig fields that sit beside `generationConfig` in a request, not in it.
_REQUEST_LEVEL = {
    "system_instruction": "systemInstruction",
    "tools": "tools",
    "tool_config": "toolConfig",
    "safety_settings": "safetySettings",
    "cached_content": "cachedContent",
}
_VERBATIM = {"response_json_schema"}
_CLIENT_ONLY = {"http_options", "automatic_function_calling", "should_return_http_response"}


class GeminiBatch(ChatBatch):
    provider = "gemini"
    # Files of up to 2 GB (https://ai.google.dev/gemini-api/docs/batch-api); no request
    # count is documented, so ours is the same as Anthropic's.
    max_requests = 100_000
    max_bytes = 1900 * MB

    chat: GeminiProvider

    def _errors(self) -> AbstractContextManager[None]:
        return google_sdk_errors(self.chat.name, self.chat.settings, self.chat.key_variable, StreamProgress())

    # --- input ----------------------------------------------------------------------------------

    def line(self, custom_id: str, request: Request) -> dict[str, Any]:
        return {
            "key": custom_id,
            "request": wire_request(self.chat.contents(request), self.chat.generation_config(request)),
        }

    def needs_upload(self, size: int) -> bool:
        return size > INLINE_MAX_BYTES

    def upload(self, path: Path, display_name: str) -> str:
        with self._errors():
            uploaded = self.client().files.upload(
                file=str(path), config={"display_name": display_name, "mime_type": "jsonl"}
            )
        return str(uploaded.name)

    def create(self, model: str, path: Path, file_id: str | None, display_name: str) -> RemoteStatus:
        if file_id is not None:
            source: Any = file_id
        else:
            with open(path, encoding="utf-8") as lines:
                source = [inlined(json.loads(line)) for line in lines if line.strip()]
        with self._errors():
            job = self.client().batches.create(model=model, src=source, config={"display_name": display_name})
        return self._status(job)

    def find_created(self, file_id: str | None, display_name: str) -> RemoteStatus | None:
        with self._errors():
            for number, job in enumerate(self.client().batches.list(config={"page_size": 100})):
                if job.display_name == display_name:
                    return self._status(job)
                if number >= 200:  # ours was created moments before the crash: it is among the newest
                    break
        return None

    # --- progress -------------------------------------------------------------------------------

    def retrieve(self, remote_id: str) -> RemoteStatus:
        with self._errors():
            return self._status(self.client().batches.get(name=remote_id))

    def cancel(self, remote_id: str) -> RemoteStatus:
        with self._errors():
            self.client().batches.cancel(name=remote_id)
            return self._status(self.client().batches.get(name=remote_id))

    def _status(self, job: Any) -> RemoteStatus:
        state = str(getattr(job.state, "value", job.state) or "JOB_STATE_PENDING")
        error = None
        if job.error is not None and job.error.message:
            error = failure(self.chat.name, job.error.message).message
        # The SDK does not pass on the job's request counts: they are known once the answers are in.
        return RemoteStatus(id=str(job.name), state=_STATES.get(state, RUNNING), provider_state=state, error=error)

    # --- results --------------------------------------------------------------------------------

    def outcomes(self, remote_id: str) -> Iterator[Outcome]:
        with self._errors():
            job = self.client().batches.get(name=remote_id)
            destination = job.dest
            if destination is None:
                return
            if destination.inlined_responses:
                # In input order, each with the key it was sent with.
                for index, item in enumerate(destination.inlined_responses):
                    key = str((item.metadata or {}).get("key") or f"#{index}")
                    if item.error is not None:
                        yield self._error(key, item.error.model_dump(mode="json", exclude_none=True))
                    else:
                        response = item.response.model_dump(mode="json", by_alias=True, exclude_none=True)
                        yield self._outcome(key, response)
            elif destination.file_name:
                import tempfile

                # Streamed to a private temporary file, then read line by line: never whole in memory.
                with tempfile.TemporaryFile() as spool:
                    self.client().files.download(file=destination.file_name, destination=spool)
                    spool.seek(0)
                    for line in spool:
                        if not line.strip():
                            continue
                        record = json.loads(line)
                        key = str(record.get("key"))
                        if record.get("response") is not None:
                            yield self._outcome(key, record["response"])
                        else:
                            yield self._error(key, record.get("error") or record.get("status") or {})

    def _error(self, key: str, error: dict[str, Any]) -> Outcome:
        message = error.get("message") or "the request failed"
        code = error.get("code")
        # In these bodies `code` is a google.rpc code (3 INVALID_ARGUMENT...), not an HTTP status.
        status = 400 if code in (3, 400) else None
        return Outcome(key, FAILED, error=failure(self.chat.name, message, status=status).message)

    def _outcome(self, key: str, response: dict[str, Any]) -> Outcome:
        usage = response.get("usageMetadata") or {}
        output = usage.get("candidatesTokenCount")
        if usage.get("thoughtsTokenCount"):  # billed as output (DESIGN.md)
            output = (output or 0) + usage["thoughtsTokenCount"]
        candidates = response.get("candidates") or []
        block_reason = (response.get("promptFeedback") or {}).get("blockReason")
        text, reason, citations = "", None, []
        if candidates:
            candidate = candidates[0]
            parts = (candidate.get("content") or {}).get("parts") or []
            text = "".join(p.get("text") or "" for p in parts if not p.get("thought"))
            reason = str(candidate.get("finishReason") or "STOP")
            grounding = candidate.get("groundingMetadata") or {}
            citations = [
                c["web"]["uri"] for c in grounding.get("groundingChunks") or () if (c.get("web") or {}).get("uri")
            ]
        return Outcome(
            key,
            SUCCEEDED,
            text=text,
            input_tokens=usage.get("promptTokenCount"),
            output_tokens=output,
            citations=citations,
        ).ending(finish_of(reason, block_reason, response.get("modelVersion")))

    def delete_file(self, file_id: str) -> None:
        with self._errors():
            self.client().files.delete(name=file_id)


# --- the request, as the REST API takes it -------------------------------------------------------


def wire_request(contents: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    """GenerateContentRequest JSON from the SDK-side ``contents`` and ``config`` the chat code builds."""
    request: dict[str, Any] = {"contents": _wire(contents)}
    generation: dict[str, Any] = {}
    for key, value in config.items():
        if key in _CLIENT_ONLY or value is None:
            continue
        if key == "system_instruction":
            request["systemInstruction"] = (
                {"parts": [{"text": value}], "role": "user"} if isinstance(value, str) else _wire(value)
            )
        elif key in _REQUEST_LEVEL:
            request[_REQUEST_LEVEL[key]] = _wire(value)
        elif key in _VERBATIM:  # a user's JSON Schema: its property names are data, not field names
            generation[_camel(key)] = value
        else:
            generation[_camel(key)] = _wire(value)
    if generation:
        request["generationConfig"] = generation
    return request


def inlined(line: dict[str, Any]) -> dict[str, Any]:
    """One input line as the SDK's InlinedRequest (a dict it validates): media back to bytes,
    request-level settings back into the config."""
    request = line["request"]
    config = dict(request.get("generationConfig") or {})
    for wire_key in _REQUEST_LEVEL.values():
        if wire_key in request:
            config[wire_key] = request[wire_key]
    return {"contents": _unwire(request["contents"]), "config": config, "metadata": {"key": line["key"]}}


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _wire(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel(k): _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _unwire(contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    restored = []
    for content in contents:
        parts = []
        for part in content.get("parts") or ():
            blob = part.get("inlineData")
            if blob is not None:
                part = {"inline_data": {"mime_type": blob["mimeType"], "data": base64.b64decode(blob["data"])}}
            parts.append(part)
        restored.append({**content, "parts": parts})
    return restored
