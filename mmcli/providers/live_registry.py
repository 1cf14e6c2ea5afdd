"""Which models are live, which one is the default, and which module speaks each
provider's live wire (imported, with its SDK, only when a session opens)."""

from __future__ import annotations

import importlib
from typing import Any

from ..config import Config
from ..conversation import ModelRef
from ..errors import ConfigError, UsageError
from . import registry

# The order in which a set key chooses the default live model (DESIGN.md).
LIVE_PROVIDER_ORDER = ("gemini", "openai", "vertex")
_IMPLEMENTATIONS = {
    "gemini": ("gemini_live", "GeminiLive"),
    "vertex": ("gemini_live", "VertexLive"),
    "openai": ("openai_realtime", "OpenAIRealtime"),
}


def is_live(ref: ModelRef) -> bool:
    entry = registry.catalogue().get(ref.provider, {})
    return bool(entry.get("models", {}).get(ref.name, {}).get("live"))


def live_models() -> list[str]:
    """Every known live model as provider:model, in the default order of providers."""
    catalogue = registry.catalogue()
    return [
        f"{provider}:{name}"
        for provider in LIVE_PROVIDER_ORDER
        for name, spec in catalogue.get(provider, {}).get("models", {}).items()
        if spec.get("live")
    ]


def check_live(ref: ModelRef) -> None:
    """Refuse, before connecting, a model that has no live API (exit 2); an unknown name is tried."""
    known = registry.catalogue().get(ref.provider, {}).get("models", {})
    if ref.provider in _IMPLEMENTATIONS and (ref.name not in known or known[ref.name].get("live")):
        return
    reason = "is not a live model" if ref.provider in _IMPLEMENTATIONS else "has no live API"
    raise UsageError(f"{ref} {reason}; use a live model: {', '.join(live_models())}.")


def default_live_model(config: Config) -> ModelRef:
    """The configured default when it is live, else the live default of the first provider with a key."""
    if config.default_model:
        configured = registry.parse_model(config.default_model, config)
        if is_live(configured):
            return configured
    for provider in LIVE_PROVIDER_ORDER:
        if registry.has_credentials(provider, config):
            return ModelRef(provider, registry.catalogue()[provider]["live_default"])
    raise ConfigError(
        "No API key for a live model: set GOOGLE_API_KEY (Gemini Live) or OPENAI_API_KEY (OpenAI Realtime), "
        "or VERTEX_API_KEY for Vertex AI."
    )


def choose_model(config: Config, model: str | None, session_model: str | None) -> ModelRef:
    """-m, else a resumed session's model when it is live, else the default live model."""
    if model is not None:
        ref = registry.parse_model(model, config)
        check_live(ref)
        return ref
    if session_model is not None:
        try:
            ref = registry.parse_model(session_model, config)
        except Exception:
            ref = None
        if ref is not None and is_live(ref):
            return ref
    return default_live_model(config)


def live_provider(ref: ModelRef, config: Config) -> Any:
    """The provider object whose ``connect(options)`` opens a live session (imports its SDK)."""
    settings = registry.provider_settings(ref.provider, config)
    module_name, class_name = _IMPLEMENTATIONS[ref.provider]
    module = importlib.import_module(f"{__package__}.{module_name}")
    return getattr(module, class_name)(settings)
