"""OpenAI chat completions through the official `openai` SDK.

Also the base for every provider that speaks the same protocol (Perplexity,
Ollama, any OpenAI-compatible server): they differ only in base URL, key,
a few request fields and what extra data their chunks carry.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from ..conversation import Part, Request
from .base import (
    Citations,
    Event,
    Finish,
    SdkProvider,
    StreamProgress,
    TextDelta,
    Usage,
    chat_message,
    prepare_media,
    stainless_sdk_errors,
)


class OpenAIProvider(SdkProvider):
    name = "openai"
    sdk_module = "openai"
    key_variable = "OPENAI_API_KEY"
    # Newer OpenAI models reject `max_tokens`; compatible servers often only know it.
    max_tokens_field = "max_completion_tokens"
    placeholder_key: str | None = None
    default_base_url: str | None = None  # None: the SDK's own (or OPENAI_BASE_URL)

    def client(self) -> Any:
        import openai

        return openai.OpenAI(
            api_key=self.settings.api_key or self.placeholder_key,
            base_url=self.settings.base_url or self.default_base_url,
            timeout=self.settings.timeout,
            max_retries=self.settings.retries,
        )

    # --- request translation --------------------------------------------------------------------

    def request_body(self, request: Request) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        media = prepare_media(request, self.name)
        messages += [chat_message(m, lambda part: self.content_part(part, media)) for m in request.messages]
        body: dict[str, Any] = {
            "model": request.model.name,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body[self.max_tokens_field] = request.max_tokens
        return body

    def content_part(self, part: Part, media: dict[str, Part]) -> dict[str, Any]:
        if part.kind == "text":
            return {"type": "text", "text": part.text}
        from ..media import audio_format

        part = media[part.sha256]
        encoded = base64.b64encode(part.data).decode("ascii")
        if part.kind == "image":
            return {"type": "image_url", "image_url": {"url": f"data:{part.mime_type};base64,{encoded}"}}
        if part.kind == "audio":
            return {"type": "input_audio", "input_audio": {"data": encoded, "format": audio_format(part)}}
        filename = (part.source.rsplit("/", 1)[-1] if part.source not in ("", "-") else "") or "document.pdf"
        return {
            "type": "file",
            "file": {"filename": filename, "file_data": f"data:{part.mime_type};base64,{encoded}"},
        }

    # --- response translation -------------------------------------------------------------------

    def stream(self, request: Request) -> Iterator[Event]:
        import openai

        body = self.request_body(request)
        progress = StreamProgress()
        with stainless_sdk_errors(self.name, openai, self.settings, self.key_variable, progress):
            citations: list[str] = []
            finish_reason = resolved_model = None
            with self.client().chat.completions.create(**body) as chunks:  # closed even when abandoned
                for chunk in chunks:
                    resolved_model = getattr(chunk, "model", None) or resolved_model
                    citations = self.citations_of(chunk) or citations
                    if chunk.usage is not None:
                        yield Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    for choice in chunk.choices or ():
                        # Reasoning fields some servers add (reasoning_content) are not answer text.
                        text = choice.delta.content if choice.delta else None
                        if text:
                            progress.got_text = True
                            yield TextDelta(text)
                        finish_reason = choice.finish_reason or finish_reason
        if citations:
            yield Citations(citations)
        yield Finish(finish_reason, resolved_model)

    def citations_of(self, chunk: Any) -> list[str]:
        return []
