"""Which models transcribe, into which formats, and which one to use by default.

Decided before any audio is read or any request is made, so a model that
cannot do the job is refused at once (exit 2) with the models that can.
"""

from __future__ import annotations

from ..config import Config
from ..conversation import ModelRef
from ..errors import ConfigError, UsageError
from ..providers import registry

FORMATS = ("text", "json", "verbose_json", "srt", "vtt")
# whisper-1 (and whisper-compatible servers) produce every format themselves.
WHISPER_FORMATS = FORMATS
# gpt-4o-transcribe, gpt-4o-mini-transcribe, gpt-transcribe ...: the SDK documents
# `json` as their only response format; mmcli derives `text` from it.
GPT_TRANSCRIBE_FORMATS = ("text", "json")
# Gemini writes timestamped segments as structured output; mmcli formats them.
GEMINI_FORMATS = ("text", "json", "srt", "vtt")

DEFAULT_OPENAI = "gpt-4o-mini-transcribe"
DEFAULT_OPENAI_TIMESTAMPED = "whisper-1"
DEFAULT_GEMINI = "gemini-2.5-flash"

SUGGESTIONS = {
    "text": "openai:gpt-4o-mini-transcribe, openai:whisper-1 or gemini:gemini-2.5-flash",
    "json": "openai:gpt-4o-mini-transcribe, openai:whisper-1 or gemini:gemini-2.5-flash",
    "srt": "openai:whisper-1 or gemini:gemini-2.5-flash",
    "vtt": "openai:whisper-1 or gemini:gemini-2.5-flash",
    "verbose_json": "openai:whisper-1",
}


def is_openai_transcriber(name: str) -> bool:
    entry = registry.catalogue()["openai"]["models"].get(name) or {}
    return bool(entry.get("transcribe")) or "whisper" in name or "transcribe" in name


def formats_of(ref: ModelRef) -> tuple[str, ...]:
    """The formats ``ref`` can produce; refuses (exit 2) a model that cannot transcribe at all."""
    if ref.provider in ("openai", "compat"):
        if ref.provider == "compat" or "whisper" in ref.name:
            return WHISPER_FORMATS
        if is_openai_transcriber(ref.name):
            return GPT_TRANSCRIBE_FORMATS
        raise UsageError(
            f"{ref} is a chat model, not a transcription model; use one such as {SUGGESTIONS['text']}."
        )
    if ref.provider in ("gemini", "vertex") and registry.capabilities(ref).audio:
        return GEMINI_FORMATS
    raise UsageError(f"{ref} cannot take audio; transcribe with {SUGGESTIONS['text']}.")


def check_format(ref: ModelRef, fmt: str) -> None:
    able = formats_of(ref)
    if fmt not in able:
        raise UsageError(
            f"{ref} cannot produce {fmt} (it gives {_spoken(able)}); for {fmt} use {SUGGESTIONS[fmt]}."
        )


def _spoken(items: tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def streams(ref: ModelRef, fmt: str) -> bool:
    """Whether the text arrives piece by piece (gpt-4o*-transcribe and Gemini, plain text only)."""
    if fmt != "text":
        return False
    if ref.provider in ("gemini", "vertex"):
        return True
    return ref.provider == "openai" and "whisper" not in ref.name


def choose(spec: str | None, config: Config, fmt: str) -> ModelRef:
    """``-m`` when given; else OpenAI (whisper-1 for timestamped formats), else Gemini, else Vertex AI."""
    if spec:
        return registry.parse_model(spec, config)
    if registry.has_credentials("openai", config):
        timestamped = fmt in ("srt", "vtt", "verbose_json")
        return ModelRef("openai", DEFAULT_OPENAI_TIMESTAMPED if timestamped else DEFAULT_OPENAI)
    for provider in ("gemini", "vertex"):
        if registry.has_credentials(provider, config):
            return ModelRef(provider, DEFAULT_GEMINI)
    raise ConfigError(
        "No transcription model available: set OPENAI_API_KEY or GOOGLE_API_KEY "
        "(or VERTEX_API_KEY), or name a model with -m."
    )


def check_temperature(ref: ModelRef, temperature: float | None) -> None:
    """OpenAI's transcription endpoint (and whisper-compatible servers) take 0 to 1, narrower than chat."""
    if temperature is not None and temperature > 1 and ref.provider in ("openai", "compat"):
        raise UsageError(f"Temperature {temperature:g} is out of range for {ref}; use a value from 0 to 1.")
