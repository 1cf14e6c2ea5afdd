"""Fake Google Gemini API, both the Developer API and Vertex AI paths.

google-genai builds URLs as ``{base_url}/{api_version}/{path}``:
- Developer API: ``/v1/models/{m}:streamGenerateContent?alt=sse`` (api_version
  defaults to ``v1`` in this SDK; ``v1beta`` when asked for).
- Vertex express mode (API key): ``/v1beta1/publishers/google/models/{m}:...``.
- Vertex with project/location: ``/v1beta1/projects/{p}/locations/{l}/publishers/google/models/{m}:...``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import transcription
from .cassettes import Interaction
from .exchange import Exchange
from .openai_chat import new_id
from .recording import RecordedRequest
from .reply import Reply, split_words
from .server import FakeServer, Handler
from .sse import DELTA, POST, PRE, Frame, dumps, sse

_CALL = re.compile(
    r"^/(?P<version>v1|v1beta|v1alpha|v1beta1)/"
    r"(?:projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/)?"
    r"(?P<publisher>publishers/google/)?models/(?P<model>[^/:]+)"
    r"(?::(?P<method>streamGenerateContent|generateContent|countTokens))?$"
)
_LIST = re.compile(r"^/(?P<version>v1|v1beta|v1alpha|v1beta1)/(?:publishers/google/)?models$")

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_MODELS = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-flash-latest"]


@dataclass(frozen=True)
class GeminiCall:
    """What a request path says: API version, Vertex scope, model and method."""

    version: str
    model: str
    method: str | None
    project: str | None
    location: str | None
    publisher: bool

    @property
    def is_vertex(self) -> bool:
        return self.publisher or self.version == "v1beta1"


def parse_call(path: str) -> GeminiCall | None:
    match = _CALL.match(path)
    if not match:
        return None
    return GeminiCall(
        version=match["version"],
        model=match["model"],
        method=match["method"],
        project=match["project"],
        location=match["location"],
        publisher=bool(match["publisher"]),
    )


class FakeGemini(FakeServer):
    provider = "Gemini"

    def __init__(self) -> None:
        super().__init__()
        self.models: list[str] = list(DEFAULT_MODELS)

    def route(self, request: RecordedRequest) -> Handler | None:
        files = transcription.files_route(self, request)  # the file API (uploads of large audio)
        if files is not None:
            return files
        if request.method == "GET" and _LIST.match(request.path):
            return self._list_models
        call = parse_call(request.path)
        if call is None:
            return None
        if request.method == "GET" and call.method is None:
            return self._get_model
        if request.method == "POST" and call.method == "countTokens":
            return self._count_tokens
        if request.method == "POST" and call.method in ("generateContent", "streamGenerateContent"):
            return self._generate
        return None

    def is_generation(self, request: RecordedRequest) -> bool:
        call = parse_call(request.path)
        return request.method == "POST" and call is not None and call.method in (
            "generateContent",
            "streamGenerateContent",
        )

    def error_body(self, status: int, message: str, error_type: str | None) -> Any:
        """Google's error shape; ``error_type`` is the status name, or an ErrorInfo reason.

        A wrong key is *400* INVALID_ARGUMENT with reason API_KEY_INVALID, not
        401: ``Reply(status=400, error_type="API_KEY_INVALID")`` scripts it.
        """
        if error_type and error_type not in STATUS_NAMES.values():
            details = [{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": error_type,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }]
            name = STATUS_NAMES.get(status, "UNKNOWN")
            return {"error": {"code": status, "message": message, "status": name, "details": details}}
        name = error_type or STATUS_NAMES.get(status, "UNKNOWN")
        return {"error": {"code": status, "message": message, "status": name}}


    def stream_error_event(self, status: int, message: str, error_type: str | None) -> bytes:
        return sse(self.error_body(status, message, error_type), newline="\r\n")

    def _generate(self, request: RecordedRequest, exchange: Exchange) -> None:
        call = parse_call(request.path)
        assert call is not None
        self.generate(request, exchange, stream=call.method == "streamGenerateContent", model=call.model)

    # -- response shapes -------------------------------------------------

    def _usage(self, reply: Reply, final: bool) -> dict[str, Any]:
        prompt, completion = reply.token_usage(self.default_text)
        if not final:
            # Intermediate chunks carry the prompt count only, as the real API's do.
            return {"promptTokenCount": prompt, "totalTokenCount": prompt}
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": completion,
                 "totalTokenCount": prompt + completion}
        if reply.thinking:
            usage["thoughtsTokenCount"] = len(split_words(reply.thinking))
            usage["totalTokenCount"] += usage["thoughtsTokenCount"]
        return usage

    def _chunk(self, reply: Reply, model: str, parts: list[Any], response_id: str, *,
               final: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if final:
            candidate["finishReason"] = reply.finish_reason or "STOP"
            if reply.citations:
                candidate["groundingMetadata"] = {
                    "groundingChunks": [
                        {"web": {"uri": url, "title": f"Source {n}"}}
                        for n, url in enumerate(reply.citations, start=1)
                    ],
                }
        return {
            "candidates": [candidate],
            "usageMetadata": self._usage(reply, final),
            "modelVersion": reply.model_version or model,
            "responseId": response_id,
        }

    def _parts(self, reply: Reply) -> Iterable[tuple[str, dict[str, Any]]]:
        for piece in split_words(reply.thinking or ""):
            yield DELTA, {"text": piece, "thought": True}
        for piece in reply.deltas(self.default_text):
            yield DELTA, {"text": piece}

    def stream_frames(self, reply: Reply, request: RecordedRequest, model: str) -> Iterable[Frame]:
        response_id = new_id("resp")
        if reply.block_reason:
            # A blocked prompt: no candidates at all, only the feedback saying why.
            blocked = {
                "promptFeedback": {"blockReason": reply.block_reason},
                "usageMetadata": self._usage(reply, False),
                "modelVersion": reply.model_version or model,
                "responseId": response_id,
            }
            chunks = [(POST, blocked)]
        else:
            chunks = [(kind, self._chunk(reply, model, [part], response_id, final=False))
                      for kind, part in self._parts(reply)]
            chunks.append((POST, self._chunk(reply, model, [{"text": ""}], response_id, final=True)))
        if request.query.get("alt") == "sse":
            # Google's SSE separates events with CRLF pairs.
            for kind, chunk in chunks:
                yield kind, sse(chunk, newline="\r\n")
            return
        # Without alt=sse the API streams one JSON array, element by element.
        yield PRE, b"["
        for position, (kind, chunk) in enumerate(chunks):
            yield kind, (b",\r\n" if position else b"") + dumps(chunk).encode("utf-8")
        yield POST, b"]"

    def complete_body(self, reply: Reply, request: RecordedRequest, model: str) -> Any:
        parts: list[dict[str, Any]] = []
        if reply.thinking:
            parts.append({"text": reply.thinking, "thought": True})
        parts.append({"text": reply.answer(self.default_text)})
        return self._chunk(reply, model, parts, new_id("resp"), final=True)

    def replay_stream(self, interaction: Interaction, request: RecordedRequest) -> list[bytes]:
        """Recorded bodies are one JSON array; the SDK asks for SSE, so re-frame."""
        if request.query.get("alt") != "sse" or interaction.is_event_stream:
            return super().replay_stream(interaction, request)
        recorded = json.loads(interaction.body)
        elements = recorded if isinstance(recorded, list) else [recorded]  # a non-streamed recording: one chunk
        return [sse(element, newline="\r\n") for element in elements]

    # -- model metadata --------------------------------------------------

    def _model_json(self, name: str) -> dict[str, Any]:
        return {
            "name": f"models/{name}",
            "version": "001",
            "displayName": name,
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
            "thinking": True,
        }

    def _list_models(self, request: RecordedRequest, exchange: Exchange) -> None:
        exchange.send_json(200, {"models": [self._model_json(m) for m in self.models]})

    def _get_model(self, request: RecordedRequest, exchange: Exchange) -> None:
        call = parse_call(request.path)
        assert call is not None
        exchange.send_json(200, self._model_json(call.model))

    def _count_tokens(self, request: RecordedRequest, exchange: Exchange) -> None:
        exchange.send_json(200, {"totalTokens": 10})
