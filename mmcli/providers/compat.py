"""Local and third-party servers that speak OpenAI's chat-completions protocol:
Ollama (OLLAMA_HOST + /v1) and any other base URL (MMCLI_COMPAT_BASE_URL)."""

from __future__ import annotations

from . import media_limits
from .openai import OpenAIProvider


class CompatProvider(OpenAIProvider):
    name = "compat"
    media_limits = media_limits.COMPAT
    key_variable = "MMCLI_COMPAT_API_KEY"
    max_tokens_field = "max_tokens"
    # Local servers ignore the key, but the SDK insists on having one.
    placeholder_key = "not-needed"
    default_temperature_only = None  # their model names are their own


class OllamaProvider(CompatProvider):
    name = "ollama"
    media_limits = media_limits.OLLAMA
    key_variable = None  # type: ignore[assignment]
    placeholder_key = "ollama"
