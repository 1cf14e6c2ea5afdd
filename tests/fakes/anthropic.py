"""Fake Anthropic Messages API (``POST /v1/messages``, SSE and JSON)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .exchange import Exchange
from .openai_chat import new_id
from .recording import RecordedRequest
from .reply import Reply, split_words
from .server import FakeServer, Handler
from .sse import DELTA, POST, PRE, Frame, sse

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}

DEFAULT_MODELS = ["claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-1"]
FAKE_SIGNATURE = "ZmFrZS1zaWduYXR1cmU="


def _citation(url: str, index: int) -> dict[str, Any]:
    return {
        "type": "web_search_result_location",
        "cited_text": f"Cited text {index}.",
        "url": url,
        "title": f"Source {index}",
        "encrypted_index": f"ZmFrZS1pbmRleC{index}",
    }


class FakeAnthropic(FakeServer):
    provider = "Anthropic"

    def __init__(self) -> None:
        super().__init__()
        self.models: list[str] = list(DEFAULT_MODELS)

    def route(self, request: RecordedRequest) -> Handler | None:
        routes: dict[tuple[str, str], Handler] = {
            ("POST", "/v1/messages"): self._messages,
            ("POST", "/v1/messages/count_tokens"): self._count_tokens,
            ("GET", "/v1/models"): self._list_models,
        }
        return routes.get((request.method, request.path))

    def is_generation(self, request: RecordedRequest) -> bool:
        return request.method == "POST" and request.path == "/v1/messages"

    def error_body(self, status: int, message: str, error_type: str | None) -> Any:
        kind = error_type or ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": new_id("req")}


    def stream_error_event(self, status: int, message: str, error_type: str | None) -> bytes:
        return sse(self.error_body(status, message, error_type), event="error")

    def _messages(self, request: RecordedRequest, exchange: Exchange) -> None:
        body = request.json or {}
        self.generate(request, exchange, stream=bool(body.get("stream")), model=str(body.get("model", "")))

    def _usage(self, reply: Reply, output_tokens: int | None = None) -> dict[str, Any]:
        prompt, completion = reply.token_usage(self.default_text)
        return {
            "input_tokens": prompt,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": completion if output_tokens is None else output_tokens,
        }

    def _message(self, reply: Reply, model: str, content: list[Any], stop: str | None, usage: Any) -> Any:
        return {
            "id": new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": reply.model_version or model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }

    def stream_frames(self, reply: Reply, request: RecordedRequest, model: str) -> Iterable[Frame]:
        def event(kind: str, **fields: Any) -> bytes:
            return sse({"type": kind, **fields}, event=kind)

        yield PRE, event("message_start", message=self._message(reply, model, [], None, self._usage(reply, 1)))
        index = 0
        if reply.thinking:
            yield from self._thinking_block(reply.thinking, event)
            index = 1
        text_block: dict[str, Any] = {"type": "text", "text": ""}
        if reply.citations:
            text_block["citations"] = []
        yield PRE, event("content_block_start", index=index, content_block=text_block)
        if index == 0:
            yield PRE, event("ping")
        for number, url in enumerate(reply.citations or [], start=1):
            delta = {"type": "citations_delta", "citation": _citation(url, number)}
            yield PRE, event("content_block_delta", index=index, delta=delta)
        for piece in reply.deltas(self.default_text):
            yield DELTA, event("content_block_delta", index=index, delta={"type": "text_delta", "text": piece})
        yield POST, event("content_block_stop", index=index)
        stop = {"stop_reason": reply.finish_reason or "end_turn", "stop_sequence": None}
        yield POST, event("message_delta", delta=stop, usage=self._usage(reply))
        yield POST, event("message_stop")

    @staticmethod
    def _thinking_block(thinking: str, event: Callable[..., bytes]) -> Iterator[Frame]:
        yield PRE, event("content_block_start", index=0,
                         content_block={"type": "thinking", "thinking": "", "signature": ""})
        yield PRE, event("ping")
        for piece in split_words(thinking):
            yield DELTA, event("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": piece})
        signature = {"type": "signature_delta", "signature": FAKE_SIGNATURE}
        yield PRE, event("content_block_delta", index=0, delta=signature)
        yield PRE, event("content_block_stop", index=0)

    def complete_body(self, reply: Reply, request: RecordedRequest, model: str) -> Any:
        content: list[Any] = []
        if reply.thinking:
            content.append({"type": "thinking", "thinking": reply.thinking, "signature": FAKE_SIGNATURE})
        citations = [_citation(url, n) for n, url in enumerate(reply.citations or [], start=1)]
        content.append({"type": "text", "text": reply.answer(self.default_text), "citations": citations or None})
        return self._message(reply, model, content, reply.finish_reason or "end_turn", self._usage(reply))

    def _count_tokens(self, request: RecordedRequest, exchange: Exchange) -> None:
        exchange.send_json(200, {"input_tokens": 10})

    def _list_models(self, request: RecordedRequest, exchange: Exchange) -> None:
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-10-01T00:00:00Z"}
            for m in self.models
        ]
        exchange.send_json(200, {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        })
