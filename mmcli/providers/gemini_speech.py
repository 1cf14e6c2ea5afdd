"""Speech to text with Gemini (Developer API and Vertex AI) through google-genai:
``GeminiProvider.transcribe``.

A generate-content request with the audio part and an instruction. Plain
text streams; timestamped formats (json, srt, vtt) ask for structured output
(segments with start, end and text, by ``response_schema``) and mmcli writes
the subtitle files from them. Audio above the inline request limit goes
through the file API (``gemini_common``) on the Developer API. The SDK is
imported here, on the first call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import ProviderError, StreamInterrupted
from .base import StreamProgress, google_sdk_errors
from .gemini_common import answer_texts
from .speech import Transcription, TranscriptionRequest

_INSTRUCTION = (
    "Transcribe the speech in this audio verbatim, in the language it is spoken in; do not translate, "
    "summarise or correct it. "
)
_PLAIN = "Reply with the transcript only: no introduction, no commentary, no speaker labels, no timestamps."
_SEGMENTED = (
    "Split the transcript into segments of a sentence or two (at most about ten seconds each), in order, "
    "each with its start and end time in seconds from the beginning of the audio, and give the spoken "
    "language as an ISO 639-1 code."
)

_SEGMENT_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "properties": {
        "language": {"type": "STRING", "description": "ISO 639-1 code of the spoken language"},
        "segments": {
            "type": "ARRAY",
            "items": {
                "type": "OBJECT",
                "properties": {
                    "start": {"type": "NUMBER", "description": "start time, seconds from the beginning"},
                    "end": {"type": "NUMBER", "description": "end time, seconds from the beginning"},
                    "text": {"type": "STRING", "description": "the words spoken in this segment"},
                },
                "required": ["start", "end", "text"],
                "property_ordering": ["start", "end", "text"],
            },
        },
    },
    "required": ["segments"],
    "property_ordering": ["language", "segments"],
}


def instruction(fmt: str, language: str | None, prompt: str | None) -> str:
    text = _INSTRUCTION + (_PLAIN if fmt == "text" else _SEGMENTED)
    if language:
        text += f" The speech is in the language with code {language!r}."
    if prompt:
        text += f" Context and spellings of names and terms that may occur: {prompt}"
    return text


def transcribe(
    provider: Any,
    client: Any,
    request: TranscriptionRequest,
    on_delta: Callable[[str], None] | None = None,
    on_upload: Callable[[], None] | None = None,
) -> Transcription:
    from google.genai import types

    from .. import media
    from .gemini_common import forget, upload

    part = media.prepare(request.audio, provider.media_limits)
    model, fmt = request.model.name, request.format
    config: dict[str, Any] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if "2.5-flash" in model:
        # Transcribing needs no reasoning; thinking would only add latency and cost.
        config["thinking_config"] = types.ThinkingConfig(thinking_budget=0)
    if fmt != "text":
        config["response_mime_type"] = "application/json"
        config["response_schema"] = _SEGMENT_SCHEMA
    progress = StreamProgress()
    uploaded = None
    with google_sdk_errors(provider.name, provider.settings, provider.key_variable, progress):
        try:
            if request.upload_above is not None and len(part.data) > request.upload_above:
                if on_upload is not None:
                    on_upload()
                uploaded = upload(client, part, provider.settings.timeout)
                audio = types.Part.from_uri(file_uri=uploaded.uri, mime_type=uploaded.mime_type or part.mime_type)
            else:
                audio = types.Part.from_bytes(data=part.data, mime_type=part.mime_type)
            contents = [types.Content(role="user", parts=[audio, types.Part.from_text(text=instruction(
                fmt, request.language, request.prompt))])]
            if fmt == "text":
                return _streamed(client, provider.name, model, contents, config, on_delta, progress)
            response = client.models.generate_content(model=model, contents=contents, config=config)
            return _segmented(response, provider.name)
        finally:
            if uploaded is not None:
                forget(client, uploaded)


def _streamed(
    client: Any,
    provider: str,
    model: str,
    contents: Any,
    config: dict[str, Any],
    on_delta: Callable[[str], None] | None,
    progress: StreamProgress,
) -> Transcription:
    pieces: list[str] = []
    result = Transcription(text="")
    finish = None
    for chunk in client.models.generate_content_stream(model=model, contents=contents, config=config):
        _add_usage(result, chunk.usage_metadata)
        for candidate in chunk.candidates or ():
            if candidate.finish_reason is not None:
                finish = str(getattr(candidate.finish_reason, "value", candidate.finish_reason))
            for text in answer_texts(candidate):
                progress.got_text = True
                pieces.append(text)
                if on_delta is not None:
                    on_delta(text)
    if finish is None and progress.got_text:
        raise StreamInterrupted(f"The connection to {provider} closed before the transcript was complete.")
    _check_finish(finish, provider)
    result.text = "".join(pieces).strip()
    return result


def _segmented(response: Any, provider: str) -> Transcription:
    candidates = response.candidates or []
    finish = candidates[0].finish_reason if candidates else None
    _check_finish(str(getattr(finish, "value", finish)) if finish is not None else None, provider)
    raw = response.text or ""
    try:
        data = json.loads(raw)
    except ValueError:
        raise ProviderError(f"{provider} answered with malformed timestamped output; try again.") from None
    segments = data.get("segments") if isinstance(data, dict) else data
    if not isinstance(segments, list):
        raise ProviderError(f"{provider} answered without transcript segments; try again.")
    language = data.get("language") if isinstance(data, dict) else None
    segments = [s for s in segments if isinstance(s, dict)]
    spoken = (str(s.get("text") or "").strip() for s in segments)
    result = Transcription(
        text=" ".join(text for text in spoken if text),
        segments=segments,
        language=language if isinstance(language, str) and language else None,
    )
    _add_usage(result, response.usage_metadata)
    return result


def _check_finish(finish: str | None, provider: str) -> None:
    if finish == "MAX_TOKENS":
        raise ProviderError(
            f"{provider} reached its output limit before the transcript was complete; transcribe shorter pieces "
            "(set MMCLI_TRANSCRIBE_MAX_SECONDS, e.g. 1200)."
        )


def _add_usage(result: Transcription, meta: Any) -> None:
    if meta is None:
        return
    if meta.prompt_token_count is not None:
        result.input_tokens = meta.prompt_token_count
    if meta.candidates_token_count is not None:
        result.output_tokens = meta.candidates_token_count
