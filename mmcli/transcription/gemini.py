"""Transcription with Gemini (Developer API and Vertex AI) through google-genai.

A generate-content request with the audio part and an instruction. Plain
text streams; timestamped formats (json, srt, vtt) ask for structured output
(segments with start, end and text, by ``response_schema``) and mmcli writes
the subtitle files from it. Audio above the inline request limit goes
through the SDK's file API (``client.files.upload``) on the Developer API.
The SDK is imported here, on first use.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

from ..conversation import Part
from ..errors import ProviderError, StreamInterrupted
from ..providers.base import StreamProgress, google_sdk_errors
from ..providers.gemini import answer_texts
from .result import PieceResult
from .subtitles import cues_from_segments

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

# Seconds between polls while the file API processes an upload, and the most to wait.
_POLL_S = 1.0
_MAX_PROCESSING_S = 600.0


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
    part: Part,
    *,
    model: str,
    fmt: str,
    language: str | None,
    prompt: str | None,
    temperature: float | None,
    inline_limit: int,
    on_delta: Callable[[str], None] | None = None,
    on_upload: Callable[[], None] | None = None,
) -> PieceResult:
    from google.genai import types

    config: dict[str, Any] = {}
    if temperature is not None:
        config["temperature"] = temperature
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
            if len(part.data) > inline_limit and provider.name == "gemini":
                if on_upload is not None:
                    on_upload()
                uploaded = upload(client, part, provider.settings.timeout)
                audio = types.Part.from_uri(file_uri=uploaded.uri, mime_type=uploaded.mime_type or part.mime_type)
            else:
                audio = types.Part.from_bytes(data=part.data, mime_type=part.mime_type)
            contents = [types.Content(role="user", parts=[audio, types.Part.from_text(text=instruction(
                fmt, language, prompt))])]
            if fmt == "text":
                return _streamed(client, provider.name, model, contents, config, on_delta, progress)
            response = client.models.generate_content(model=model, contents=contents, config=config)
            return _segmented(response, provider.name)
        finally:
            if uploaded is not None:
                _forget(client, uploaded)


def upload(client: Any, part: Part, timeout: float) -> Any:
    """The audio (or video) through the file API, once it is ready to be used."""
    name = part.source.rsplit("/", 1)[-1] if part.source not in ("", "-") else "stdin"
    uploaded = client.files.upload(
        file=io.BytesIO(part.data), config={"mime_type": part.mime_type, "display_name": name[:100] or "audio"}
    )
    deadline = time.monotonic() + max(timeout, _MAX_PROCESSING_S)
    while _state(uploaded) == "PROCESSING" and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        uploaded = client.files.get(name=uploaded.name)
    state = _state(uploaded)
    if state == "FAILED":
        raise ProviderError(f"gemini could not process the uploaded {part.kind}; check that the file plays.")
    if state == "PROCESSING":
        raise ProviderError(f"gemini was still processing the uploaded {part.kind} after 10 minutes; try again later.")
    return uploaded


def _state(file: Any) -> str:
    state = getattr(file, "state", None)
    return str(getattr(state, "value", state) or "ACTIVE")


def _forget(client: Any, uploaded: Any) -> None:
    """Delete the upload; it would expire in 48 hours anyway, so a failure here is no error."""
    try:
        client.files.delete(name=uploaded.name)
    except Exception:
        pass


def _streamed(
    client: Any,
    provider: str,
    model: str,
    contents: Any,
    config: dict[str, Any],
    on_delta: Callable[[str], None] | None,
    progress: StreamProgress,
) -> PieceResult:
    pieces: list[str] = []
    result = PieceResult(text="")
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


def _segmented(response: Any, provider: str) -> PieceResult:
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
    cues = cues_from_segments([s for s in segments if isinstance(s, dict)])
    language = data.get("language") if isinstance(data, dict) else None
    result = PieceResult(
        text=" ".join(c.text for c in cues),
        cues=cues,
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


def _add_usage(result: PieceResult, meta: Any) -> None:
    if meta is None:
        return
    if meta.prompt_token_count is not None:
        result.input_tokens = meta.prompt_token_count
    if meta.candidates_token_count is not None:
        result.output_tokens = meta.candidates_token_count
