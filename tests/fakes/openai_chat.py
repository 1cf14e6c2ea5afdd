"""Wire shapes of OpenAI's chat-completions API (also spoken by Perplexity,
Ollama's /v1 and other OpenAI-compatible servers)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from .reply import Reply

_ids = itertools.count(1)

ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_denied", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def new_id(prefix: str) -> str:
    return f"{prefix}-fake{next(_ids):06d}"


def usage_json(reply: Reply, default_text: str) -> dict[str, Any]:
    prompt, completion = reply.token_usage(default_text)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def error_json(status: int, message: str, error_type: str | None) -> dict[str, Any]:
    kind, code = ERROR_TYPES.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return {"error": {"message": message, "type": error_type or kind, "param": None, "code": code}}


class ChunkMaker:
    """Builds the ``chat.completion.chunk`` objects of one streamed answer."""

    def __init__(self, model: str, extra: dict[str, Any] | None = None, with_usage_field: bool = False):
        self.base: dict[str, Any] = {
            "id": new_id("chatcmpl"),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            **(extra or {}),
        }
        # With include_usage, OpenAI puts "usage": null on every ordinary chunk.
        if with_usage_field:
            self.base["usage"] = None

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None, **fields: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**self.base, "choices": [choice], **fields}

    def usage_chunk(self, usage: dict[str, Any]) -> dict[str, Any]:
        return {**self.base, "choices": [], "usage": usage}


def completion_json(
    reply: Reply, model: str, default_text: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.answer(default_text),
        "refusal": None,
        "annotations": [],
    }
    if reply.thinking:
        message["reasoning_content"] = reply.thinking
    return {
        "id": new_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason or "stop"}
        ],
        "usage": usage_json(reply, default_text),
        "system_fingerprint": "fp_fake",
        **(extra or {}),
    }
