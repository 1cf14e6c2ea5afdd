"""Which models transcribe, into which formats, and which one to use by default,
as each provider declares it (``providers.speech.Transcribing``).

Decided before any audio is read or any request is made, so a model that
cannot do the job is refused at once (exit 2) with the models that can.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import engine
from ..config import Config
from ..conversation import ModelRef
from ..errors import ConfigError, UsageError
from ..providers import registry, speech

FORMATS = speech.FORMATS
SUGGESTIONS = speech.SUGGESTIONS


def formats_of(ref: ModelRef) -> tuple[str, ...]:
    """The formats ``ref`` can produce; refuses (exit 2) a model that cannot transcribe at all."""
    cls = speech.transcribing_class(ref.provider)
    formats = cls.transcription_formats_of(ref.name) if cls is not None else ()
    if not formats:
        why = (cls or speech.Transcribing).transcription_refusal_of(ref.name)
        raise UsageError(f"{ref} {why}.")
    return formats


def check_format(ref: ModelRef, fmt: str) -> None:
    able = formats_of(ref)
    if fmt not in able:
        raise UsageError(
            f"{ref} cannot produce {fmt} (it gives {_spoken(able)}); for {fmt} use {SUGGESTIONS[fmt]}."
        )


def fit_temperature(
    ref: ModelRef, temperature: float | None, *, strict: bool = True, notify: Callable[[str], None] = engine.warn
) -> float | None:
    """``temperature`` checked against the transcription endpoint's own range, as the
    provider declares it (OpenAI's is 0 to 1, narrower than its chat's), the way chat checks its own."""
    cls = speech.transcribing_class(ref.provider)
    if temperature is None or cls is None:
        return temperature
    return engine.fit_temperature(ref, temperature, cls.transcription_temperature_range, notify, strict=strict)


def _spoken(items: tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def streams(ref: ModelRef, fmt: str) -> bool:
    """Whether the text arrives piece by piece (gpt-4o*-transcribe and Gemini, plain text only)."""
    cls = speech.transcribing_class(ref.provider)
    return cls is not None and cls.transcription_streams(ref.name, fmt)


def choose(spec: str | None, config: Config, fmt: str) -> ModelRef:
    """``-m`` when given; else the first transcribing provider with credentials (OpenAI,
    with whisper-1 for timestamped formats; else Gemini; else Vertex AI), its default model."""
    if spec:
        return registry.parse_model(spec, config)
    for provider in speech.PROVIDER_ORDER:
        cls = speech.transcribing_class(provider)
        model = cls.default_transcription_model(fmt) if cls is not None else None
        if model and registry.has_credentials(provider, config):
            return ModelRef(provider, model)
    raise ConfigError(
        "No transcription model available: set OPENAI_API_KEY or GOOGLE_API_KEY "
        "(or VERTEX_API_KEY), or name a model with -m."
    )

