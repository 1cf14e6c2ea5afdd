"""Local and third-party servers that speak OpenAI's chat-completions protocol:
Ollama (OLLAMA_HOST + /v1) and any other base URL (MMCLI_COMPAT_BASE_URL)."""

from __future__ import annotations

from typing import Any

from ..conversation import SCHEMA_OPTION, Request
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
    whisper_compatible = True  # a transcription endpoint there is whisper's

    def request_body(self, request: Request) -> dict[str, Any]:
        """--schema goes as `response_format` and, for servers that ignore it, in words
        too; the engine validates the answer either way."""
        body = super().request_body(request)
        schema = request.options.get(SCHEMA_OPTION)
        if isinstance(schema, dict):
            from ..schema import instructions

            messages = body["messages"]
            if messages and messages[0]["role"] == "system":
                messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n\n{instructions(schema)}"}
            else:
                messages.insert(0, {"role": "system", "content": instructions(schema)})
        return body


class OllamaProvider(CompatProvider):
    name = "ollama"
    media_limits = media_limits.OLLAMA
    key_variable = None  # type: ignore[assignment]
    placeholder_key = "ollama"
    transcribes = False  # Ollama has no transcription endpoint
