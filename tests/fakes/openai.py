"""Fake OpenAI API: chat completions, responses, transcriptions, models.

The same server stands in for Ollama (its root answers like Ollama's does)
and for any OpenAI-compatible server.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import openai_extras
from .exchange import Exchange
from .openai_chat import ChunkMaker, completion_json, error_json, usage_json
from .recording import RecordedRequest
from .reply import Reply, split_words
from .server import FakeServer, Handler
from .sse import DELTA, POST, PRE, Frame, sse


def _url_citation(url: str) -> dict[str, Any]:
    return {"type": "url_citation", "url_citation": {"url": url, "title": url, "start_index": 0, "end_index": 0}}


DEFAULT_MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "o4-mini", "whisper-1", "llama3.2"]


class FakeOpenAI(FakeServer):
    provider = "OpenAI"

    def __init__(self) -> None:
        super().__init__()
        self.models: list[str] = list(DEFAULT_MODELS)
        # Ollama's /api/tags lists local models; tests may pretend none are pulled.
        self.ollama_models: list[str] = ["llama3.2:latest"]

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    def route(self, request: RecordedRequest) -> Handler | None:
        routes: dict[tuple[str, str], Handler] = {
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/v1/responses"): self._responses,
            ("POST", "/v1/audio/transcriptions"): self._transcription,
            ("GET", "/v1/models"): self._list_models,
            ("GET", "/"): self._ollama_root,
            ("GET", "/api/tags"): self._ollama_tags,
            ("GET", "/api/version"): self._ollama_version,
        }
        return routes.get((request.method, request.path))

    def error_body(self, status: int, message: str, error_type: str | None) -> Any:
        return error_json(status, message, error_type)

    # -- chat completions ----------------------------------------------

    def _chat(self, request: RecordedRequest, exchange: Exchange) -> None:
        body = request.json or {}
        self.generate(request, exchange, stream=bool(body.get("stream")), model=str(body.get("model", "")))

    def chunk_extra(self, reply: Reply) -> dict[str, Any]:
        """Provider-specific top-level fields of every chunk (Perplexity's citations)."""
        return {}

    def stream_frames(self, reply: Reply, request: RecordedRequest, model: str) -> Iterable[Frame]:
        options = (request.json or {}).get("stream_options") or {}
        include_usage = bool(options.get("include_usage"))
        maker = ChunkMaker(reply.model_version or model, self.chunk_extra(reply), include_usage)
        yield PRE, sse(maker.chunk({"role": "assistant", "content": "", "refusal": None}))
        if reply.thinking:
            # DeepSeek/vLLM-style reasoning deltas, which some compatible servers send.
            yield DELTA, sse(maker.chunk({"reasoning_content": reply.thinking}))
        for piece in split_words(reply.refusal or ""):
            yield DELTA, sse(maker.chunk({"content": None, "refusal": piece}))
        for piece in reply.deltas(self.default_text) if reply.refusal is None else ():
            yield DELTA, sse(maker.chunk({"content": piece}))
        if reply.annotations:
            yield DELTA, sse(maker.chunk({"content": "", "annotations": [_url_citation(u) for u in reply.annotations]}))
        if not reply.end_marker:
            return  # the server hung up cleanly, without a finish reason or [DONE]
        yield POST, sse(maker.chunk({}, reply.finish_reason or "stop", **self.final_chunk_fields(reply)))
        if include_usage:
            yield POST, sse(maker.usage_chunk(usage_json(reply, self.default_text)))
        yield POST, sse("[DONE]")

    def final_chunk_fields(self, reply: Reply) -> dict[str, Any]:
        return {}

    def complete_body(self, reply: Reply, request: RecordedRequest, model: str) -> Any:
        return completion_json(reply, reply.model_version or model, self.default_text, self.chunk_extra(reply))


    # -- other endpoints -------------------------------------------------

    def _responses(self, request: RecordedRequest, exchange: Exchange) -> None:
        body = request.json or {}
        self.generate(
            request,
            exchange,
            stream=bool(body.get("stream")),
            model=str(body.get("model", "")),
            frames=lambda reply, req, model: openai_extras.response_frames(reply, model, self.default_text),
            body=lambda reply, req, model: openai_extras.response_json(reply, model, self.default_text),
        )

    def _transcription(self, request: RecordedRequest, exchange: Exchange) -> None:
        openai_extras.serve_transcription(self, request, exchange)

    def _list_models(self, request: RecordedRequest, exchange: Exchange) -> None:
        exchange.send_json(200, openai_extras.models_json(self.models))

    def _ollama_root(self, request: RecordedRequest, exchange: Exchange) -> None:
        exchange.send(200, b"Ollama is running", "text/plain; charset=utf-8")

    def _ollama_tags(self, request: RecordedRequest, exchange: Exchange) -> None:
        exchange.send_json(200, openai_extras.ollama_tags_json(self.ollama_models))

    def _ollama_version(self, request: RecordedRequest, exchange: Exchange) -> None:
        exchange.send_json(200, {"version": "0.12.0"})
