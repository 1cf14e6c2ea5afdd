"""Google Gemini through the `google-genai` SDK: the Developer API (`gemini`)
and Vertex AI (`vertex`), which differ only in how the client is built."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

from ..conversation import SCHEMA_OPTION, Message, ModelRef, Part, Request
from . import media_limits, speech
from .base import (
    BLOCKED,
    ERROR,
    LENGTH,
    STOP,
    Citations,
    Event,
    Finish,
    SdkProvider,
    StreamProgress,
    TextDelta,
    Usage,
    google_sdk_errors,
    prepare_media,
)
from .gemini_common import answer_texts

# google-genai retries with exponential backoff from this first delay (seconds).
RETRY_INITIAL_DELAY_S = 0.5


class GeminiProvider(speech.Transcribing, SdkProvider):
    name = "gemini"
    sdk_module = "google.genai"
    key_variable = "GOOGLE_API_KEY"
    media_limits = media_limits.GEMINI

    def http_options(self) -> Any:
        from google.genai import types

        return types.HttpOptions(
            base_url=self.settings.base_url or None,
            timeout=int(self.settings.timeout * 1000),  # the SDK counts milliseconds
            # attempts includes the first call; 1 means no retries.
            retry_options=types.HttpRetryOptions(
                attempts=self.settings.retries + 1, initial_delay=RETRY_INITIAL_DELAY_S
            ),
        )

    def client(self) -> Any:
        from google import genai

        return genai.Client(api_key=self.settings.api_key, vertexai=False, http_options=self.http_options())

    def contents(self, request: Request) -> list[dict[str, Any]]:
        media = prepare_media(request, self.media_limits)
        return [self.content(m, media) for m in request.messages]

    def content(self, message: Message, media: dict[str, Part]) -> dict[str, Any]:
        role = "model" if message.role == "assistant" else "user"
        return {"role": role, "parts": [self.part(p, media) for p in message.parts]}

    def part(self, part: Part, media: dict[str, Part]) -> dict[str, Any]:
        if part.kind == "text":
            return {"text": part.text}
        part = media[part.sha256]
        if part.kind == "video" and self.media_limits.video_upload and len(part.data) > self.inline_limit():
            return {"file_data": self.uploaded(part)}
        return {"inline_data": {"mime_type": part.mime_type, "data": part.data}}

    def inline_limit(self) -> int:
        from ..media.video import inline_limit

        return inline_limit(self.media_limits)

    def uploaded(self, part: Part) -> dict[str, str]:
        """A video too large to go inline, through the Files API (it expires there after 48 hours)."""
        import sys

        from .. import terminal
        from ..media.sources import display_name, mb
        from .gemini_common import upload

        if terminal.current().stderr_isatty:
            print(f"Uploading {display_name(part.source)} ({mb(len(part.data))}) to {self.name}...", file=sys.stderr)
        found = upload(self.client(), part, self.settings.timeout)
        return {"file_uri": found.uri, "mime_type": found.mime_type or part.mime_type}

    # --- speech to text (providers/speech.py; the SDK call in gemini_speech.py) -----------------

    @classmethod
    def transcription_formats_of(cls, model: str) -> tuple[str, ...]:
        """Gemini writes timestamped segments as structured output; mmcli formats them."""
        from .registry import capabilities

        return ("text", "json", "srt", "vtt") if capabilities(ModelRef(cls.name, model)).audio else ()

    @classmethod
    def transcription_limits_of(cls, model: str) -> speech.SpeechLimits:
        # Above the inline limit the file API takes the audio whole: no size limit.
        return speech.SpeechLimits(None, None, "Gemini", upload_above=cls.media_limits.max_request_bytes)

    @classmethod
    def transcription_streams(cls, model: str, fmt: str) -> bool:
        return fmt == "text"

    @classmethod
    def default_transcription_model(cls, fmt: str) -> str | None:
        return "gemini-2.5-flash"

    def transcribe(
        self,
        request: speech.TranscriptionRequest,
        on_delta: Callable[[str], None] | None = None,
        on_upload: Callable[[], None] | None = None,
    ) -> speech.Transcription:
        from .gemini_speech import transcribe

        return transcribe(self, self.speech_client(), request, on_delta, on_upload)

    def speech_client(self) -> Any:
        """One client for every piece of a recording (its connections are reused across threads)."""
        if getattr(self, "_speech_client", None) is None:
            self._speech_client = self.client()
        return self._speech_client

    # --- chat -----------------------------------------------------------------------------------

    def generation_config(self, request: Request) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if request.system:
            config["system_instruction"] = request.system
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if request.max_tokens is not None:
            config["max_output_tokens"] = request.max_tokens
        schema = request.options.get(SCHEMA_OPTION)
        if isinstance(schema, dict):
            config["response_mime_type"] = "application/json"
            config["response_json_schema"] = schema
        return config

    def stream(self, request: Request) -> Iterator[Event]:
        progress = StreamProgress()
        usage: Usage | None = None
        finish_reason = resolved_model = block_reason = None
        citations: list[str] = []
        # Keep the client referenced while streaming: when it is collected it
        # closes its HTTP connection under the stream.
        client = self.chat_client()
        with google_sdk_errors(self.name, self.settings, self.key_variable, progress):
            chunks = client.models.generate_content_stream(
                model=request.model.name, contents=self.contents(request), config=self.generation_config(request)
            )
            with closing(chunks):
                for chunk in chunks:
                    resolved_model = chunk.model_version or resolved_model
                    if chunk.usage_metadata is not None:
                        usage = _billed_usage(chunk.usage_metadata)
                    feedback = chunk.prompt_feedback
                    if feedback is not None and feedback.block_reason is not None:
                        block_reason = _enum_name(feedback.block_reason)
                    for candidate in chunk.candidates or ():
                        if candidate.finish_reason is not None:
                            finish_reason = _enum_name(candidate.finish_reason)
                        citations.extend(u for u in _grounding_urls(candidate) if u not in citations)
                        for text in answer_texts(candidate):
                            progress.got_text = True
                            yield TextDelta(text)
        if usage is not None:
            yield usage
        if citations:
            yield Citations(citations)
        yield finish_of(finish_reason, block_reason, resolved_model)


def _enum_name(value: Any) -> str:
    return str(getattr(value, "value", value))


def _billed_usage(meta: Any) -> Usage:
    """Thinking tokens are billed as output, but Gemini counts them apart from the candidates."""
    output = meta.candidates_token_count
    if meta.thoughts_token_count:
        output = (output or 0) + meta.thoughts_token_count
    return Usage(meta.prompt_token_count, output)


def _grounding_urls(candidate: Any) -> list[str]:
    """Sources of a grounded answer (Google Search grounding), as Perplexity's citations are."""
    metadata = candidate.grounding_metadata
    urls = []
    for chunk in (metadata.grounding_chunks if metadata else None) or ():
        web = chunk.web
        if web is not None and web.uri:
            urls.append(web.uri)
    return urls


_FINISH_REASONS = {
    "STOP": STOP,
    "MAX_TOKENS": LENGTH,
    "MALFORMED_FUNCTION_CALL": ERROR,
    "UNEXPECTED_TOOL_CALL": ERROR,
    "FINISH_REASON_UNSPECIFIED": ERROR,
}


def finish_of(finish_reason: str | None, block_reason: str | None, resolved_model: str | None) -> Finish:
    if block_reason is not None:
        return Finish(BLOCKED, resolved_model, detail=block_reason, blocked_prompt=True)
    if finish_reason is None:
        return Finish(ERROR, resolved_model, detail="the stream ended before the answer was complete")
    # Every other reason (SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, LANGUAGE,
    # OTHER, IMAGE_*) is a filter that stopped the answer.
    return Finish(_FINISH_REASONS.get(finish_reason, BLOCKED), resolved_model, detail=finish_reason)


class VertexProvider(GeminiProvider):
    name = "vertex"
    media_limits = media_limits.VERTEX
    key_variable = "VERTEX_API_KEY"

    @classmethod
    def transcription_limits_of(cls, model: str) -> speech.SpeechLimits:
        # Vertex AI has no file API for mmcli's use: long audio is split to fit inline.
        return speech.SpeechLimits(cls.media_limits.max_request_bytes, None, "Vertex AI inline")

    def client(self) -> Any:
        from google import genai

        if self.settings.api_key:  # express mode
            return genai.Client(vertexai=True, api_key=self.settings.api_key, http_options=self.http_options())
        return genai.Client(
            vertexai=True,
            project=self.settings.extra.get("project"),
            location=self.settings.extra.get("location"),
            http_options=self.http_options(),
        )
