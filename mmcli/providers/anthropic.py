"""Anthropic Messages API through the official `anthropic` SDK."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from ..conversation import Part, Request
from ..errors import StreamInterrupted
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

# The API requires max_tokens; this leaves room for long answers from every current model.
DEFAULT_MAX_TOKENS = 8192


class AnthropicProvider(SdkProvider):
    name = "anthropic"
    sdk_module = "anthropic"
    key_variable = "ANTHROPIC_API_KEY"

    def client(self) -> Any:
        import anthropic

        return anthropic.Anthropic(
            api_key=self.settings.api_key,
            base_url=self.settings.base_url or None,
            timeout=self.settings.timeout,
            max_retries=self.settings.retries,
        )

    def request_body(self, request: Request) -> dict[str, Any]:
        media = prepare_media(request, self.name)
        body: dict[str, Any] = {
            "model": request.model.name,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": [chat_message(m, lambda part: self.content_block(part, media)) for m in request.messages],
            "stream": True,
        }
        if request.system:
            body["system"] = request.system
        if request.temperature is not None:
            # anthropic 2.x dropped `temperature` from create()'s signature; the
            # Messages API still takes it, so it travels in the body.
            body["extra_body"] = {"temperature": request.temperature}
        return body

    def content_block(self, part: Part, media: dict[str, Part]) -> dict[str, Any]:
        if part.kind == "text":
            return {"type": "text", "text": part.text}
        part = media[part.sha256]
        source = {
            "type": "base64",
            "media_type": part.mime_type,
            "data": base64.b64encode(part.data).decode("ascii"),
        }
        block_type = "image" if part.kind == "image" else "document"
        return {"type": block_type, "source": source}

    def stream(self, request: Request) -> Iterator[Event]:
        import anthropic

        progress = StreamProgress()
        input_tokens = output_tokens = None
        stop_reason = resolved_model = None
        citations: list[str] = []
        with stainless_sdk_errors(self.name, anthropic, self.settings, self.key_variable, progress):
            with self.client().messages.create(**self.request_body(request)) as events:  # closed even when abandoned
                for event in events:
                    kind = event.type
                    if kind == "message_start":
                        resolved_model = event.message.model
                        input_tokens = event.message.usage.input_tokens
                    elif kind == "content_block_delta":
                        delta = event.delta
                        # thinking_delta and signature_delta are the model's reasoning: never answer text.
                        if delta.type == "text_delta" and delta.text:
                            progress.got_text = True
                            yield TextDelta(delta.text)
                        elif delta.type == "citations_delta":
                            url = getattr(delta.citation, "url", None)
                            if url and url not in citations:
                                citations.append(url)
                    elif kind == "message_delta":
                        stop_reason = event.delta.stop_reason or stop_reason
                        output_tokens = event.usage.output_tokens
        if progress.got_text and stop_reason is None:
            # The stream closed before message_delta: the answer is cut short.
            raise StreamInterrupted(f"The connection to {self.name} closed before the answer was complete.")
        yield Usage(input_tokens, output_tokens)
        if citations:
            yield Citations(citations)
        yield Finish(stop_reason, resolved_model)
