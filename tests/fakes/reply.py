"""What a fake server answers to one generation request."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"\S+\s*")


def split_words(text: str) -> list[str]:
    """Split text into word-sized deltas whose concatenation is exactly ``text``.

    Real providers stream sub-word tokens; word-sized pieces are enough to prove
    that a client joins deltas rather than replacing its buffer.
    """
    parts = _WORD.findall(text)
    if not parts:
        return [text] if text else []
    lead = text[: len(text) - len(text.lstrip())]
    parts[0] = lead + parts[0]
    return parts


@dataclass
class Reply:
    """A scripted answer. Field meanings are the same for every provider.

    ``text=None`` means "the fake's default text". ``status`` other than 200
    answers with the provider's error JSON instead of a completion.
    ``cut_after_chunks=N`` drops the connection after N deltas (thinking
    deltas count); with ``stream_error=STATUS`` the stream instead carries the
    provider's in-stream error event there (e.g. Anthropic's 529 overloaded)
    and ends cleanly.
    """

    text: str | None = None
    chunks: list[str] | None = None
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    status: int = 200
    error_message: str | None = None
    error_type: str | None = None
    retry_after: str | float | None = None
    cut_after_chunks: int | None = None
    stream_error: int | None = None
    hang: bool = False
    usage: tuple[int, int] | None = None
    citations: list[str] | None = None
    search_results: list[dict[str, Any]] | None = None
    thinking: str | None = None
    model_version: str | None = None
    finish_reason: str | None = None
    # Endings beyond finish_reason: an OpenAI refusal (streamed as `delta.refusal`),
    # url_citation annotations (OpenRouter, OpenAI search models), a Gemini
    # prompt block (promptFeedback, no candidates), and a compatible stream that
    # stops without a finish reason or [DONE] (end_marker=False).
    refusal: str | None = None
    annotations: list[str] | None = None
    block_reason: str | None = None
    end_marker: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    def deltas(self, default_text: str) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        return split_words(default_text if self.text is None else self.text)

    def answer(self, default_text: str) -> str:
        return "".join(self.deltas(default_text))

    def token_usage(self, default_text: str) -> tuple[int, int]:
        # A fixed, recognisable input count keeps cost assertions simple.
        return self.usage if self.usage is not None else (10, max(1, len(self.deltas(default_text))))

    def search_result_list(self) -> list[dict[str, Any]]:
        if self.search_results is not None:
            return self.search_results
        return [
            {"title": f"Source {i}", "url": url, "date": "2025-01-01"}
            for i, url in enumerate(self.citations or [], start=1)
        ]
