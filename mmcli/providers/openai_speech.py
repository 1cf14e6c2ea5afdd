"""Speech to text through OpenAI's `client.audio.transcriptions.create` (also any
OpenAI-compatible server with a whisper-style endpoint): ``OpenAIProvider.transcribe``.

whisper-1 writes every format itself (text, srt, vtt, verbose_json; mmcli's
`json` is built from verbose_json, for its segment timestamps). The
gpt-4o*-transcribe family answers in JSON only, and streams its text as
`transcript.text.delta` events. The SDK is imported here, on the first call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..conversation import Part
from .base import StreamProgress, stainless_sdk_errors
from .speech import Transcription, TranscriptionRequest

# mmcli format -> the response_format whisper is asked for.
_WHISPER_RESPONSE_FORMAT = {
    "text": "text",
    "json": "verbose_json",
    "verbose_json": "verbose_json",
    "srt": "srt",
    "vtt": "vtt",
}


def upload_name(part: Part) -> str:
    """A file name whose extension tells the endpoint the format (it goes by the name)."""
    from .. import media

    source = part.source.rsplit("/", 1)[-1] if part.source not in ("", "-") else ""
    if source.startswith(("http:", "https:")) or "?" in source:
        source = ""
    stem = source.rsplit(".", 1)[0] if "." in source else source
    return f"{stem or 'audio'}.{media.audio_format(part)}"


def transcribe(
    provider: Any, client: Any, request: TranscriptionRequest, on_delta: Callable[[str], None] | None = None
) -> Transcription:
    """One request; ``on_delta`` (gpt-4o*-transcribe, text) receives the text as it streams."""
    import openai

    from .. import media
    from .media_limits import OPENAI_TRANSCRIPTION

    # Whisper-compatible servers take what OpenAI's transcription endpoint takes.
    part = media.prepare(request.audio, OPENAI_TRANSCRIPTION)
    model = request.model.name
    whisper_like = provider.whisper_compatible or "whisper" in model
    params: dict[str, Any] = {
        "model": model,
        "file": (upload_name(part), part.data, part.mime_type),
        "response_format": _WHISPER_RESPONSE_FORMAT[request.format] if whisper_like else "json",
    }
    if request.language:
        params["language"] = request.language
    if request.prompt:
        params["prompt"] = request.prompt
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if "diarize" in model:
        params["chunking_strategy"] = "auto"  # required by the diarizing model beyond 30 s
    progress = StreamProgress()
    with stainless_sdk_errors(provider.name, openai, provider.settings, provider.key_variable, progress):
        if on_delta is not None and not whisper_like:
            return _streamed(client.audio.transcriptions.create(**params, stream=True), on_delta, progress)
        response = client.audio.transcriptions.create(**params)
    return _result(response, params["response_format"])


def _streamed(events: Any, on_delta: Callable[[str], None], progress: StreamProgress) -> Transcription:
    pieces: list[str] = []
    result = Transcription(text="")
    for event in events:
        kind = getattr(event, "type", "")
        if kind == "transcript.text.delta":
            progress.got_text = True
            pieces.append(event.delta)
            on_delta(event.delta)
        elif kind == "transcript.text.done":
            result.text = event.text
            _add_usage(result, getattr(event, "usage", None))
    if not result.text:
        result.text = "".join(pieces)
    return result


def _result(response: Any, response_format: str) -> Transcription:
    if response_format in ("text", "srt", "vtt"):
        body = response if isinstance(response, str) else str(response)
        if response_format == "text":
            return Transcription(text=body.strip())
        return Transcription(text="", subtitles=(response_format, body))
    data = response.model_dump(exclude_unset=True) if hasattr(response, "model_dump") else dict(response)
    result = Transcription(text=str(data.get("text") or "").strip(), language=data.get("language"))
    if response_format == "verbose_json":
        result.verbose = data
        result.segments = list(data.get("segments") or [])
        if isinstance(data.get("duration"), (int, float)):
            result.duration_s = float(data["duration"])
    _add_usage(result, getattr(response, "usage", None))
    return result


def _add_usage(result: Transcription, usage: Any) -> None:
    if usage is None:
        return
    kind = getattr(usage, "type", None)
    if kind == "tokens":
        result.input_tokens = getattr(usage, "input_tokens", None)
        result.output_tokens = getattr(usage, "output_tokens", None)
    elif kind == "duration":
        result.billed_seconds = getattr(usage, "seconds", None)
