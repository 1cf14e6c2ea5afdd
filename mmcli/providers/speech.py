"""Speech to text as a provider capability: the neutral request a provider
transcribes and the neutral result it returns, and what each provider
declares about it at class level (formats, per-request limits, streaming,
default models), so a model is checked before any audio is read or SDK loaded.

A provider that transcribes sets ``transcribes = True`` and implements
``transcribe(request, on_delta, on_upload)``; its SDK code lives in a sibling
module (``openai_speech``, ``gemini_speech``) imported on the first call.
``mmcli.transcription`` does the provider-neutral rest: cutting long audio,
subtitles, joining pieces, running the pieces. Nothing here imports an SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..conversation import ModelRef, Part

FORMATS = ("text", "json", "verbose_json", "srt", "vtt")
TIMESTAMPED = ("srt", "vtt", "verbose_json")

# Which provider transcribes when -m is not given: the first with credentials.
PROVIDER_ORDER = ("openai", "gemini", "vertex")

# Models to suggest, by the format asked for.
SUGGESTIONS = {
    "text": "openai:gpt-4o-mini-transcribe, openai:whisper-1 or gemini:gemini-2.5-flash",
    "json": "openai:gpt-4o-mini-transcribe, openai:whisper-1 or gemini:gemini-2.5-flash",
    "srt": "openai:whisper-1 or gemini:gemini-2.5-flash",
    "vtt": "openai:whisper-1 or gemini:gemini-2.5-flash",
    "verbose_json": "openai:whisper-1",
}


@dataclass(frozen=True)
class SpeechLimits:
    """What one transcription request may carry.

    ``max_bytes`` None: any size (the provider uploads what is too large to go
    inline, above ``upload_above`` bytes). ``label`` names the limit in messages.
    """

    max_bytes: int | None
    max_seconds: float | None
    label: str
    upload_above: int | None = None


@dataclass(frozen=True)
class TranscriptionRequest:
    """One piece of audio to transcribe, provider-neutral."""

    model: ModelRef
    audio: Part
    format: str
    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None
    upload_above: int | None = None  # bytes; larger audio goes through the provider's file API

    def cache_identity(self, endpoint: str | None) -> dict[str, Any]:
        """Everything that changes the transcript (the audio by its full SHA-256), as the
        response cache keys it; ``endpoint`` as in ``Request.cache_identity``."""
        return {
            "task": "transcribe",
            "provider": self.model.provider,
            "endpoint": endpoint,
            "model": self.model.name,
            "audio": {"sha256": self.audio.sha256, "mime_type": self.audio.mime_type},
            "format": self.format,
            "language": self.language,
            "prompt": self.prompt,
            "temperature": self.temperature,
        }


@dataclass
class Transcription:
    """What one request gave, as the provider wrote it; ``mmcli.transcription`` makes
    cues of ``segments`` or ``subtitles`` and joins the pieces."""

    text: str
    segments: list[dict[str, Any]] | None = None  # {"start", "end", "text"}, seconds from the piece's start
    subtitles: tuple[str, str] | None = None  # ("srt" | "vtt", the document)
    verbose: dict[str, Any] | None = None  # whisper's verbose_json, as sent
    language: str | None = None
    duration_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    billed_seconds: float | None = None


class Transcriber(Protocol):
    """A provider instance that transcribes (its class sets ``transcribes = True``)."""

    def transcribe(
        self,
        request: TranscriptionRequest,
        on_delta: Callable[[str], None] | None = None,
        on_upload: Callable[[], None] | None = None,
    ) -> Transcription:
        """One request; ``on_delta`` gets text as it streams (when the model streams that
        format), ``on_upload`` is told before a file upload. Raises MmcliError subclasses."""
        ...


class Transcribing:
    """What a provider that transcribes declares about it, at class level (no SDK
    import), the way ``SdkProvider.temperature_range_of`` declares a chat option.
    The defaults refuse; ``OpenAIProvider`` and ``GeminiProvider`` say what they take."""

    transcribes = True
    transcription_temperature_range: tuple[float, float] = (0.0, 2.0)

    @classmethod
    def transcription_formats_of(cls, model: str) -> tuple[str, ...]:
        """The formats ``model`` transcribes into; () when it does not transcribe."""
        return ()

    @classmethod
    def transcription_refusal_of(cls, model: str) -> str:
        """Why ``model`` cannot transcribe, as the end of a sentence that starts with its name."""
        return f"cannot take audio; transcribe with {SUGGESTIONS['text']}"

    @classmethod
    def transcription_limits_of(cls, model: str) -> SpeechLimits:
        raise NotImplementedError

    @classmethod
    def transcription_streams(cls, model: str, fmt: str) -> bool:
        """Whether the text arrives piece by piece."""
        return False

    @classmethod
    def default_transcription_model(cls, fmt: str) -> str | None:
        """The model used when -m is not given and this provider is the first with credentials."""
        return None


def transcribing_class(provider: str) -> type[Transcribing] | None:
    """The class of ``provider`` when it transcribes (imports its module, not its SDK)."""
    from .registry import provider_class

    cls = provider_class(provider)
    return cls if getattr(cls, "transcribes", False) else None
