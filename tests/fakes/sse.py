"""Server-sent-event framing shared by the fakes."""

from __future__ import annotations

import json
from typing import Any

# Each stream is a list of frames; the server paces and cuts streams by kind.
PRE = "pre"  # before the first text delta (role chunk, message_start, ...)
DELTA = "delta"  # one piece of answer text (or thinking)
POST = "post"  # terminal events a cut stream must not get
Frame = tuple[str, bytes]


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def sse(data: Any, event: str | None = None, newline: str = "\n") -> bytes:
    """One SSE event. ``data`` is JSON-encoded unless it is already a string."""
    payload = data if isinstance(data, str) else dumps(data)
    lines = ([f"event: {event}"] if event else []) + [f"data: {payload}"]
    return (newline.join(lines) + newline + newline).encode("utf-8")


def split_sse_events(body: bytes) -> list[bytes]:
    """Split a recorded SSE body at event boundaries so replay streams it piecewise."""
    normalized = body.replace(b"\r\n", b"\n")
    events = [event + b"\n\n" for event in normalized.split(b"\n\n") if event.strip()]
    return events or [body]
