"""OpenAI chat completions through the official `openai` SDK.

Also the base for every provider that speaks the same protocol (Perplexity,
Ollama, any OpenAI-compatible server): they differ only in base URL, key,
a few request fields and what extra data their chunks carry.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from ..conversation import SCHEMA_OPTION, Part, Request
from . import media_limits, speech
from .base import (
    BLOCKED,
    ERROR,
    LENGTH,
    REFUSAL,
    STOP,
    Citations,
    Event,
    Finish,
    SdkProvider,
    StreamProgress,
    TextDelta,
    Usage,
    chat_message,
    prepare_media,
    stainless_sdk_errors,
)
from .thinking import InlineThinking, may_open_thinking_in_template


class OpenAIProvider(speech.Transcribing, SdkProvider):
    name = "openai"
    sdk_module = "openai"
    key_variable = "OPENAI_API_KEY"
    media_limits = media_limits.OPENAI
    # Newer OpenAI models reject `max_tokens`; compatible servers often only know it.
    max_tokens_field = "max_completion_tokens"
    placeholder_key: str | None = None
    default_base_url: str | None = None  # None: the SDK's own (or OPENAI_BASE_URL)

    # Model names that take only their default temperature (OpenAI's reasoning models).
    default_temperature_only: re.Pattern[str] | None = re.compile(r"^(?:o\d|gpt-5(?!-chat))")

    @classmethod
    def temperature_range_of(cls, model: str) -> tuple[float, float] | None:
        if cls.default_temperature_only is not None and cls.default_temperature_only.match(model):
            return None
        return cls.temperature_range

    # --- speech to text (providers/speech.py; the SDK call in openai_speech.py) -----------------

    transcription_temperature_range = (0.0, 1.0)
    # Every model of a whisper-compatible server takes whisper's formats and does not stream.
    whisper_compatible = False
    # gpt-4o-transcribe and its siblings refuse audio longer than 1500 s whatever
    # its size; pieces stay a little below that.
    gpt_transcribe_max_seconds = 1400.0

    @classmethod
    def transcription_formats_of(cls, model: str) -> tuple[str, ...]:
        if not cls.transcribes:
            return ()
        if cls.whisper_compatible or "whisper" in model:
            return speech.FORMATS  # whisper-1 writes every format itself
        if cls._is_transcriber(model):
            # gpt-4o-transcribe, gpt-4o-mini-transcribe ...: the SDK documents `json` as
            # their only response format; mmcli derives `text` from it.
            return ("text", "json")
        return ()

    @classmethod
    def _is_transcriber(cls, model: str) -> bool:
        from .registry import catalogue

        entry = catalogue()[cls.name]["models"].get(model) or {}
        return bool(entry.get("transcribe")) or "transcribe" in model

    @classmethod
    def transcription_refusal_of(cls, model: str) -> str:
        if cls.transcribes:
            return f"is a chat model, not a transcription model; use one such as {speech.SUGGESTIONS['text']}"
        return super().transcription_refusal_of(model)

    @classmethod
    def transcription_limits_of(cls, model: str) -> speech.SpeechLimits:
        seconds = None if "whisper" in model else cls.gpt_transcribe_max_seconds
        return speech.SpeechLimits(media_limits.OPENAI_TRANSCRIPTION_MAX_BYTES, seconds, "the transcription endpoint")

    @classmethod
    def transcription_streams(cls, model: str, fmt: str) -> bool:
        return fmt == "text" and not cls.whisper_compatible and "whisper" not in model

    @classmethod
    def default_transcription_model(cls, fmt: str) -> str | None:
        return "whisper-1" if fmt in speech.TIMESTAMPED else "gpt-4o-mini-transcribe"

    def transcribe(
        self,
        request: speech.TranscriptionRequest,
        on_delta: Callable[[str], None] | None = None,
        on_upload: Callable[[], None] | None = None,
    ) -> speech.Transcription:
        from .openai_speech import transcribe

        return transcribe(self, self.speech_client(), request, on_delta)

    def speech_client(self) -> Any:
        """One client for every piece of a recording (its connections are reused across threads)."""
        if getattr(self, "_speech_client", None) is None:
            self._speech_client = self.client()
        return self._speech_client

    # --- chat -----------------------------------------------------------------------------------

    def client(self) -> Any:
        return _end_watching_client_class()(
            api_key=self.settings.api_key or self.placeholder_key,
            base_url=self.settings.base_url or self.default_base_url,
            timeout=self.settings.timeout,
            max_retries=self.settings.retries,
        )

    # --- request translation --------------------------------------------------------------------

    def request_body(self, request: Request) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        media = prepare_media(request, self.media_limits)
        messages += [chat_message(m, lambda part: self.content_part(part, media)) for m in request.messages]
        body: dict[str, Any] = {
            "model": request.model.name,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body[self.max_tokens_field] = request.max_tokens
        schema = request.options.get(SCHEMA_OPTION)
        if isinstance(schema, dict):
            body["response_format"] = self.response_format(schema)
        return body

    def response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        """--schema as structured output; strict (the answer is guaranteed to fit) when the schema allows it."""
        from ..schema import is_strict

        return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": is_strict(schema)}}

    def content_part(self, part: Part, media: dict[str, Part]) -> dict[str, Any]:
        if part.kind == "text":
            return {"type": "text", "text": part.text}
        from ..media import audio_format

        part = media[part.sha256]
        encoded = base64.b64encode(part.data).decode("ascii")
        if part.kind == "image":
            return {"type": "image_url", "image_url": {"url": f"data:{part.mime_type};base64,{encoded}"}}
        if part.kind == "audio":
            return {"type": "input_audio", "input_audio": {"data": encoded, "format": audio_format(part)}}
        filename = (part.source.rsplit("/", 1)[-1] if part.source not in ("", "-") else "") or "document.pdf"
        return {
            "type": "file",
            "file": {"filename": filename, "file_data": f"data:{part.mime_type};base64,{encoded}"},
        }

    # --- response translation -------------------------------------------------------------------

    def stream(self, request: Request) -> Iterator[Event]:
        import openai

        body = self.request_body(request)
        progress = StreamProgress()
        thinking = InlineThinking(may_open_thinking_in_template(request.model.name))
        citations: list[str] = []
        finish_reason = resolved_model = None
        refused = False
        client = self.chat_client()
        with stainless_sdk_errors(self.name, openai, self.settings, self.key_variable, progress):
            with client.chat.completions.create(**body) as chunks:  # closed even when abandoned
                for chunk in chunks:
                    resolved_model = getattr(chunk, "model", None) or resolved_model
                    _add_new(citations, self.citations_of(chunk))
                    usage = _usage_of(chunk)
                    if usage is not None:
                        yield usage
                    for choice in chunk.choices or ():
                        delta = choice.delta
                        if delta is not None:
                            _add_new(citations, _annotation_urls(delta))
                            refusal = getattr(delta, "refusal", None)
                            if refusal:
                                refused = progress.got_text = True
                                yield TextDelta(refusal)
                            text = thinking.feed(_content_text(delta.content))
                            if text:
                                progress.got_text = True
                                yield TextDelta(text)
                        finish_reason = choice.finish_reason or finish_reason
            rest = thinking.finish()
            if rest:
                progress.got_text = True
                yield TextDelta(rest)
        if citations:
            yield Citations(citations)
        yield self.finish(finish_reason, refused, resolved_model, client.saw_done)

    def finish(self, finish_reason: str | None, refused: bool, resolved_model: str | None, saw_done: bool) -> Finish:
        if refused:
            return Finish(REFUSAL, resolved_model, detail="refusal")
        if finish_reason is None and not saw_done:
            # Neither a finish reason nor [DONE]: the stream was cut.
            return Finish(ERROR, resolved_model, detail="the stream ended before the answer was complete")
        if finish_reason is None:
            return Finish(STOP, resolved_model)
        return Finish(_FINISH_REASONS.get(finish_reason, STOP), resolved_model, detail=finish_reason)

    def citations_of(self, chunk: Any) -> list[str]:
        return []


@cache
def _end_watching_client_class() -> type:
    """The SDK's client, noting whether a stream ended with ``data: [DONE]``.

    The SDK consumes that marker silently, yet it is how an OpenAI-compatible
    stream that was cut (no finish reason, no [DONE]) differs from one whose
    server simply sends no finish reason (OpenRouter after a tool call).
    """
    import openai

    class EndWatchingOpenAI(openai.OpenAI):
        saw_done = False

        def _make_sse_decoder(self) -> Any:
            return _DoneWatcher(super()._make_sse_decoder(), self)

    return EndWatchingOpenAI


class _DoneWatcher:
    def __init__(self, decoder: Any, client: Any):
        self._decoder, self._client = decoder, client

    def iter_bytes(self, iterator: Any) -> Iterator[Any]:
        for event in self._decoder.iter_bytes(iterator):
            if event.data.startswith("[DONE]"):
                self._client.saw_done = True
            yield event

    def __getattr__(self, name: str) -> Any:  # aiter_bytes and the rest, unchanged
        return getattr(self._decoder, name)


# OpenAI's finish reasons, and the spellings compatible servers use for the same endings.
_FINISH_REASONS = {
    "stop": STOP,
    "tool_calls": STOP,
    "function_call": STOP,
    "eos": STOP,
    "end_turn": STOP,
    "stop_sequence": STOP,
    "length": LENGTH,
    "max_tokens": LENGTH,
    "model_length": LENGTH,
    "content_filter": BLOCKED,
    "refusal": REFUSAL,
    "error": ERROR,
    "abort": ERROR,
}

def _field(value: Any, name: str) -> Any:
    """A field of an SDK object or of the plain dict a compatible server's extra field arrives as."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _content_text(content: Any) -> str:
    """``delta.content`` as text: a string, or (Mistral) a list of typed parts whose
    ``text`` parts are the answer and whose ``thinking`` parts are not."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(_field(part, "text") or "") for part in content if _field(part, "type") in ("text", None)
        )
    return ""


def _annotation_urls(delta: Any) -> list[str]:
    """URLs of ``url_citation`` annotations (OpenAI search models, OpenRouter web plugins)."""
    urls = []
    for annotation in _field(delta, "annotations") or ():
        citation = _field(annotation, "url_citation")
        url = _field(citation, "url") if citation is not None else None
        if url:
            urls.append(str(url))
    return urls


def _usage_of(chunk: Any) -> Usage | None:
    """The chunk's usage wherever the server puts it: ``usage`` (OpenAI, with
    include_usage), or ``x_groq.usage`` (Groq)."""
    usage = getattr(chunk, "usage", None) or _field(getattr(chunk, "x_groq", None), "usage")
    if not usage:
        return None
    return Usage(_field(usage, "prompt_tokens"), _field(usage, "completion_tokens"))


def _add_new(found: list[str], urls: list[str]) -> None:
    found.extend(url for url in urls if url not in found)
