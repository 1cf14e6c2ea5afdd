"""OpenAI endpoints besides chat completions: the Responses API,
audio transcriptions, model lists (OpenAI's and Ollama's)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .openai_chat import new_id
from .recording import FormFile, RecordedRequest
from .reply import Reply
from .sse import DELTA, POST, PRE, Frame, sse

if TYPE_CHECKING:
    from .exchange import Exchange
    from .openai import FakeOpenAI


def models_json(models: list[str]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": 1700000000, "owned_by": "system"} for m in models],
    }


def ollama_tags_json(models: list[str]) -> dict[str, Any]:
    return {
        "models": [
            {
                "name": m,
                "model": m,
                "modified_at": "2025-01-01T00:00:00Z",
                "size": 2019393189,
                "digest": "0" * 64,
                "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B"},
            }
            for m in models
        ]
    }


# -- Responses API -----------------------------------------------------------


def _usage(reply: Reply, default_text: str) -> dict[str, Any]:
    prompt, completion = reply.token_usage(default_text)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def _message(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if text else []
    return {"id": item_id, "type": "message", "role": "assistant", "status": status, "content": content}


def _response(response_id: str, model: str, status: str, output: list[Any], usage: Any) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
        "error": None,
        "incomplete_details": None,
    }


def response_json(reply: Reply, model: str, default_text: str) -> dict[str, Any]:
    message = _message(new_id("msg"), reply.answer(default_text), "completed")
    return _response(new_id("resp"), reply.model_version or model, "completed", [message], _usage(reply, default_text))


def response_frames(reply: Reply, model: str, default_text: str) -> Iterator[Frame]:
    model = reply.model_version or model
    response_id, item_id = new_id("resp"), new_id("msg")
    sequence = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> bytes:
        return sse({"type": kind, "sequence_number": next(sequence), **fields}, event=kind)

    yield PRE, event("response.created", response=_response(response_id, model, "in_progress", [], None))
    yield PRE, event("response.output_item.added", output_index=0, item=_message(item_id, "", "in_progress"))
    part = {"type": "output_text", "text": "", "annotations": []}
    yield PRE, event("response.content_part.added", item_id=item_id, output_index=0, content_index=0, part=part)
    position = {"item_id": item_id, "output_index": 0, "content_index": 0}
    for piece in reply.deltas(default_text):
        yield DELTA, event("response.output_text.delta", delta=piece, logprobs=[], **position)
    text = reply.answer(default_text)
    yield POST, event("response.output_text.done", text=text, logprobs=[], **position)
    yield POST, event("response.content_part.done", part={**part, "text": text}, **position)
    message = _message(item_id, text, "completed")
    yield POST, event("response.output_item.done", output_index=0, item=message)
    done = _response(response_id, model, "completed", [message], _usage(reply, default_text))
    yield POST, event("response.completed", response=done)


# -- transcriptions ----------------------------------------------------------


def serve_transcription(fake: FakeOpenAI, request: RecordedRequest, exchange: Exchange) -> None:
    if not isinstance(request.form.get("file"), FormFile):
        fake.send_error(exchange, 400, "Could not parse multipart form: no file.")
        return
    response_format = str(request.form.get("response_format", "json"))
    stream = str(request.form.get("stream", "false")).lower() == "true"

    def body(reply: Reply, req: RecordedRequest, model: str) -> Any:
        text = reply.answer(fake.default_text)
        if response_format in ("text", "srt", "vtt"):
            return text + "\n"
        if response_format == "verbose_json":
            return {"task": "transcribe", "language": "english", "duration": 1.0, "text": text, "segments": []}
        return {"text": text, "usage": {"type": "duration", "seconds": 1.0}}

    def frames(reply: Reply, req: RecordedRequest, model: str) -> Iterator[Frame]:
        for piece in reply.deltas(fake.default_text):
            yield DELTA, sse({"type": "transcript.text.delta", "delta": piece})
        prompt, completion = reply.token_usage(fake.default_text)
        usage = {"type": "tokens", "input_tokens": prompt, "output_tokens": completion,
                 "total_tokens": prompt + completion}
        yield POST, sse({"type": "transcript.text.done", "text": reply.answer(fake.default_text), "usage": usage})

    fake.generate(request, exchange, stream=stream, model=str(request.form.get("model", "")),
                  frames=frames, body=body)
