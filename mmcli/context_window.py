"""Fitting a conversation into a model's context window.

A long session can outgrow the model it is sent to (or a model it is switched
to with ``/model``). The oldest exchanges are then left out of the *request*;
the stored session keeps every message. The system prompt and the newest user
turn are always sent.

Token counts are estimated, not measured: about four characters per token for
text plus a fixed cost per media part. That is cheap enough for every turn and
close enough to keep a request under the limit; an exact count would need each
provider's tokenizer or a network round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from .conversation import Message, Part, Request

CHARS_PER_TOKEN = 4
# Per-message overhead for role markers and separators.
MESSAGE_OVERHEAD_TOKENS = 4
# A fixed estimate per media part, on the high side of what providers charge
# (a large image is ~1,500 tokens on most; a minute of audio ~2,000).
MEDIA_TOKENS = {"image": 1_600, "audio": 2_000, "document": 3_000}
# Room left for the answer when the request sets no --max-tokens.
DEFAULT_ANSWER_RESERVE = 4_096


def estimate_tokens(message: Message) -> int:
    text_chars = sum(len(p.text) for p in message.parts if p.kind == "text")
    media = sum(MEDIA_TOKENS.get(p.kind, 1_000) for p in message.parts if p.is_media)
    return MESSAGE_OVERHEAD_TOKENS + -(-text_chars // CHARS_PER_TOKEN) + media


def merge_same_role(messages: list[Message]) -> list[Message]:
    """Join neighbouring messages of the same role into one.

    A turn that failed or was interrupted before any text arrived leaves a
    user message without an answer; the next user message would follow it
    directly, which Anthropic and Gemini refuse. Their texts are joined with a
    blank line, media parts follow, as in any single user turn.
    """
    merged: list[Message] = []
    for message in messages:
        if merged and merged[-1].role == message.role:
            previous = merged.pop()
            texts = [m.text for m in (previous, message) if m.text]
            media = [p for m in (previous, message) for p in m.parts if p.is_media]
            parts = ([Part.of_text("\n\n".join(texts))] if texts else []) + media
            message = Message(role=message.role, parts=parts, incomplete=previous.incomplete or message.incomplete)
        merged.append(message)
    return merged


def fit(request: Request, context_tokens: int) -> tuple[Request, int]:
    """The request with as many of the newest messages as fit, and how many were left out.

    Whole exchanges are left out from the oldest, so what is sent still begins
    with a user message (Anthropic and Gemini require it). The newest user turn
    stays even when it alone is over the limit: the provider then says so.
    """
    messages = merge_same_role(request.messages)
    reserve = min(request.max_tokens or DEFAULT_ANSWER_RESERVE, context_tokens // 2)
    budget = context_tokens - reserve
    if request.system:
        budget -= -(-len(request.system) // CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS
    sizes = [estimate_tokens(m) for m in messages]
    total = sum(sizes)
    start = 0
    while total > budget and start < len(messages) - 1:
        total -= sizes[start]
        start += 1
        # Leave out the answers of a dropped question too: the request must start with a user turn.
        while start < len(messages) - 1 and messages[start].role != "user":
            total -= sizes[start]
            start += 1
    if start == 0:
        return (request if len(messages) == len(request.messages) else replace(request, messages=messages)), 0
    kept = messages[start:]
    return replace(request, messages=kept), len(request.messages) - _stored_count(request.messages, kept)


def _stored_count(original: list[Message], kept: list[Message]) -> int:
    """How many of the original (unmerged) messages the kept, merged tail stands for."""
    count = 0
    remaining = len(kept)
    index = len(original)
    while remaining and index:
        index -= 1
        count += 1
        # Consecutive same-role originals were merged into one kept message.
        if index == 0 or original[index - 1].role != original[index].role:
            remaining -= 1
    return count


def fit_to_model(request: Request, notify: Callable[[str], None] | None = None) -> Request:
    """The history made sendable to this model: earlier media it cannot take left out
    (after a /model switch, say), then ``fit`` to its context window. ``notify``
    hears about anything left out; the stored session keeps it all."""
    from .providers import registry

    capabilities = registry.capabilities(request.model)
    request, omitted = without_unusable_media(request, capabilities.accepts)
    if omitted and notify is not None:
        kinds = " and ".join(sorted(omitted))
        notify(
            f"{request.model} cannot take {kinds}, so the {kinds} of earlier turns "
            "is left out of the request (it stays in the session)."
        )
    fitted, dropped = fit(request, capabilities.context_tokens)
    if dropped and notify is not None:
        notify(left_out_note(dropped, str(request.model)))
    return fitted


def without_unusable_media(request: Request, accepts: Callable[[str], bool]) -> tuple[Request, set[str]]:
    """Earlier turns' media of a kind the model cannot take, each replaced by a short
    text note, so a switch to such a model does not make every later turn fail.
    The newest turn is left alone: what it attaches is checked, and refused, as usual."""
    omitted: set[str] = set()
    messages = list(request.messages)
    for index, message in enumerate(messages[:-1]):
        if not any(p.is_media and not accepts(p.kind) for p in message.parts):
            continue
        parts = []
        for part in message.parts:
            if part.is_media and not accepts(part.kind):
                omitted.add(part.kind)
                name = part.source.rsplit("/", 1)[-1] if part.source not in ("", "-") else part.kind
                part = Part.of_text(f"[{part.kind} {name} left out]")
            parts.append(part)
        messages[index] = replace(message, parts=parts)
    return (replace(request, messages=messages) if omitted else request), omitted


def left_out_note(dropped: int, model: str) -> str:
    noun = "message" if dropped == 1 else "messages"
    return (
        f"The conversation is longer than {model}'s context window; the oldest {dropped} {noun} "
        "are left out of the request (they stay in the session)."
    )
