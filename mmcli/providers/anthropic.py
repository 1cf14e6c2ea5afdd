"""Anthropic Messages API through the official `anthropic` SDK."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from ..conversation import SCHEMA_OPTION, Part, Request
from . import media_limits
from .base import (
    ERROR,
    LENGTH,
    REFUSAL,
    STOP,
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
    media_limits = media_limits.ANTHROPIC
    temperature_range = (0.0, 1.0)

    def client(self) -> Any:
        import anthropic

        return anthropic.Anthropic(
            api_key=self.settings.api_key,
            base_url=self.settings.base_url or None,
            timeout=self.settings.timeout,
            max_retries=self.settings.retries,
        )

    def request_body(self, request: Request) -> dict[str, Any]:
        media = prepare_media(request, self.media_limits)
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
        schema = request.options.get(SCHEMA_OPTION)
        if isinstance(schema, dict):  # structured outputs: the answer is a JSON document fitting the schema
            body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
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
        body = self.request_body(request)
        body.pop("stream")  # messages.stream() streams, and keeps the message so far for pause_turn
        usage = TurnUsage()
        citations: list[str] = []
        stop_reason = resolved_model = None
        with stainless_sdk_errors(self.name, anthropic, self.settings, self.key_variable, progress):
            for attempt in range(MAX_PAUSE_CONTINUATIONS + 1):
                stop_reason = None
                with self.chat_client().messages.stream(**body) as events:  # closed even when abandoned
                    for event in events:
                        kind = event.type
                        if kind == "message_start":
                            resolved_model = event.message.model
                            usage.start(event.message.usage)
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
                            usage.update(event.usage)
                    usage.finish_turn()
                    if stop_reason != "pause_turn" or attempt == MAX_PAUSE_CONTINUATIONS:
                        break
                    # A server tool paused the turn: send it back as it stands and the model goes on.
                    body["messages"] = [*body["messages"], _assistant_turn_so_far(events.current_message_snapshot)]
        yield Usage(usage.input_tokens, usage.output_tokens)
        if citations:
            yield Citations(citations)
        yield finish_of(stop_reason, resolved_model)


# pause_turn is continued this many times at most, then the answer ends as cut at a limit.
MAX_PAUSE_CONTINUATIONS = 3

_STOP_REASONS = {
    "end_turn": STOP,
    "stop_sequence": STOP,
    "tool_use": STOP,
    "max_tokens": LENGTH,
    "model_context_window_exceeded": LENGTH,
    "pause_turn": LENGTH,  # still paused after the continuations above
    "refusal": REFUSAL,
}


def finish_of(stop_reason: str | None, resolved_model: str | None) -> Finish:
    if stop_reason is None:
        # The stream closed before message_delta: the answer is cut short.
        return Finish(ERROR, resolved_model, detail="the stream ended before the answer was complete")
    return Finish(_STOP_REASONS.get(stop_reason, STOP), resolved_model, detail=stop_reason)


def _assistant_turn_so_far(message: Any) -> dict[str, Any]:
    blocks = [block.to_dict(exclude_none=True) for block in message.content]
    for block in blocks:
        block.pop("parsed_output", None)  # the SDK's own parsing aid, not part of the API's block
    return {"role": "assistant", "content": blocks}


class TurnUsage:
    """Token counts over one answer, which pause_turn continuations may split into several requests.

    Within a request, ``message_delta`` carries the final cumulative figures: its
    ``input_tokens`` (present when server tools ran, and then far above
    ``message_start``'s) replaces the starting one.
    """

    def __init__(self) -> None:
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self._input: int | None = None
        self._output: int | None = None

    def start(self, usage: Any) -> None:
        self._input = getattr(usage, "input_tokens", None)
        self._output = getattr(usage, "output_tokens", None)

    def update(self, usage: Any) -> None:
        if usage is None:
            return
        if getattr(usage, "input_tokens", None) is not None:
            self._input = usage.input_tokens
        if getattr(usage, "output_tokens", None) is not None:
            self._output = usage.output_tokens

    def finish_turn(self) -> None:
        self.input_tokens = _add(self.input_tokens, self._input)
        self.output_tokens = _add(self.output_tokens, self._output)
        self._input = self._output = None


def _add(total: int | None, more: int | None) -> int | None:
    if more is None:
        return total
    return more if total is None else total + more
