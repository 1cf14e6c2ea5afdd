"""Perplexity: the OpenAI chat-completions protocol at Perplexity's base URL,
plus the citations it attaches to its chunks."""

from __future__ import annotations

from typing import Any

from . import media_limits
from .openai import OpenAIProvider

PERPLEXITY_BASE_URL = "https://api.perplexity.ai"


class PerplexityProvider(OpenAIProvider):
    name = "perplexity"
    media_limits = media_limits.PERPLEXITY
    key_variable = "PERPLEXITY_API_KEY"
    max_tokens_field = "max_tokens"
    default_base_url = PERPLEXITY_BASE_URL
    default_temperature_only = None  # their model names are their own
    transcribes = False  # no transcription endpoint

    def request_body(self, request):  # type: ignore[no-untyped-def]
        body = super().request_body(request)
        body.pop("stream_options", None)  # Perplexity sends usage on its own
        return body

    def response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        # Perplexity's json_schema format takes the schema alone (no name, no strict flag).
        return {"type": "json_schema", "json_schema": {"schema": schema}}

    def citations_of(self, chunk: Any) -> list[str]:
        # `citations` is a list of URLs; newer responses also carry
        # `search_results` with titles. The SDK keeps unknown fields as extras.
        urls = getattr(chunk, "citations", None)
        if isinstance(urls, list) and urls:
            return [str(u) for u in urls]
        results = getattr(chunk, "search_results", None)
        if isinstance(results, list):
            return [str(r.get("url")) for r in results if isinstance(r, dict) and r.get("url")]
        return []
