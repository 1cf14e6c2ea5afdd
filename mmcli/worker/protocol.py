"""What travels over the worker's socket, and how.

A message is one JSON frame followed by the raw byte frames it refers to
(media, so an image is not inflated by base64 on a local socket):

    frame   = kind (1 byte: J or B) + length (4 bytes, big-endian) + payload
    message = J frame {"t": ..., "blobs": N, ...} + N B frames

The neutral objects (Request, Message, Part, ProviderSettings, the provider
events; a TranscriptionRequest and its Transcription) are written as plain JSON here, and errors as their class name,
sentence and attributes, so the client raises the same MmcliError class with
the same exit code as the in-process call would.
"""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import asdict
from typing import Any

from .. import errors
from ..conversation import Message, ModelRef, Part, Request

PROTOCOL = 1
_HEADER = struct.Struct(">cI")
_JSON, _BLOB = b"J", b"B"
MAX_FRAME = 1 << 30  # a frame this large is a broken peer, not a request


class Closed(ConnectionError):
    """The other end went away (or spoke nonsense) before a whole message arrived."""


def encode(message: dict[str, Any], blobs: list[bytes] | None = None) -> list[bytes]:
    """The frames of one message, ready for ``sendall``."""
    blobs = blobs or []
    body = json.dumps({**message, "blobs": len(blobs)}, separators=(",", ":")).encode("utf-8")
    frames = [_HEADER.pack(_JSON, len(body)), body]
    for blob in blobs:
        frames += [_HEADER.pack(_BLOB, len(blob)), blob]
    return frames


def send(sock: socket.socket, message: dict[str, Any], blobs: list[bytes] | None = None, fds: list[int] = ()) -> None:
    frames = encode(message, blobs)
    if fds:
        # The descriptors ride on the first bytes; the rest follows as usual.
        head = frames[0] + frames[1]
        sent = socket.send_fds(sock, [head], list(fds))
        if sent < len(head):
            sock.sendall(head[sent:])
        frames = frames[2:]
    small = [f for f in frames if len(f) < 65536]
    if len(small) == len(frames):
        sock.sendall(b"".join(frames))  # one write, so the reader wakes once per message
        return
    for frame in frames:
        sock.sendall(frame)


class Reader:
    """Reads whole messages from a stream socket, keeping what arrives early."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray()
        self.fds: list[int] = []

    def _fill(self, needed: int, with_fds: bool) -> None:
        while len(self.buffer) < needed:
            if with_fds and not self.fds:
                data, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, 4)
                self.fds += fds
            else:
                data = self.sock.recv(max(65536, needed - len(self.buffer)))
            if not data:
                raise Closed("the connection closed mid-message" if self.buffer else "the connection closed")
            self.buffer += data

    def _frame(self, with_fds: bool = False) -> tuple[bytes, bytes]:
        self._fill(_HEADER.size, with_fds)
        kind, length = _HEADER.unpack_from(self.buffer)
        if kind not in (_JSON, _BLOB) or length > MAX_FRAME:
            raise Closed("the peer sent something that is not an mmcli worker frame")
        self._fill(_HEADER.size + length, with_fds)
        payload = bytes(self.buffer[_HEADER.size : _HEADER.size + length])
        del self.buffer[: _HEADER.size + length]
        return kind, payload

    def read(self, with_fds: bool = False) -> tuple[dict[str, Any], list[bytes]]:
        """One message and its blobs; ``with_fds``: also collect descriptors sent with it (in ``fds``)."""
        kind, payload = self._frame(with_fds)
        if kind != _JSON:
            raise Closed("a message must start with its JSON frame")
        try:
            message = json.loads(payload)
        except ValueError as exc:
            raise Closed("the peer sent malformed JSON") from exc
        if not isinstance(message, dict):
            raise Closed("the peer sent malformed JSON")
        blobs = []
        for _ in range(int(message.get("blobs", 0))):
            kind, payload = self._frame()
            if kind != _BLOB:
                raise Closed("a blob frame was expected")
            blobs.append(payload)
        return message, blobs


# --- requests -------------------------------------------------------------------------------------


def _part_to_wire(p: Part, blobs: list[bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": p.kind, "text": p.text, "mime_type": p.mime_type, "source": p.source}
    if p.data:
        out["blob"] = len(blobs)
        blobs.append(p.data)
    return out


def _part_from_wire(p: dict[str, Any], blobs: list[bytes]) -> Part:
    data = blobs[p["blob"]] if "blob" in p else b""
    return Part(kind=p["kind"], text=p["text"], data=data, mime_type=p["mime_type"], source=p["source"])


def request_to_wire(request: Any) -> tuple[dict[str, Any], list[bytes]]:
    """A chat ``Request``, or a ``TranscriptionRequest`` (speech has no messages: "task" says which)."""
    blobs: list[bytes] = []
    model = [request.model.provider, request.model.name]
    if not isinstance(request, Request):
        wire = {
            "task": "transcribe",
            "model": model,
            "audio": _part_to_wire(request.audio, blobs),
            "format": request.format,
            "language": request.language,
            "prompt": request.prompt,
            "temperature": request.temperature,
            "upload_above": request.upload_above,
        }
        return wire, blobs
    wire = {
        "model": model,
        "messages": [
            {
                "role": m.role,
                "parts": [_part_to_wire(p, blobs) for p in m.parts],
                "incomplete": m.incomplete,
                "finish_reason": m.finish_reason,
            }
            for m in request.messages
        ],
        "system": request.system,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "options": request.options,
    }
    return wire, blobs


def request_from_wire(wire: dict[str, Any], blobs: list[bytes]) -> Any:
    provider, name = wire["model"]
    if wire.get("task") == "transcribe":
        from ..providers.speech import TranscriptionRequest

        return TranscriptionRequest(
            model=ModelRef(provider, name),
            audio=_part_from_wire(wire["audio"], blobs),
            format=wire["format"],
            language=wire["language"],
            prompt=wire["prompt"],
            temperature=wire["temperature"],
            upload_above=wire["upload_above"],
        )
    messages = [
        Message(
            role=m["role"],
            parts=[_part_from_wire(p, blobs) for p in m["parts"]],
            incomplete=m["incomplete"],
            finish_reason=m["finish_reason"],
        )
        for m in wire["messages"]
    ]
    return Request(
        model=ModelRef(provider, name),
        messages=messages,
        system=wire["system"],
        temperature=wire["temperature"],
        max_tokens=wire["max_tokens"],
        options=dict(wire["options"]),
    )


def settings_to_wire(settings: Any) -> dict[str, Any]:
    return asdict(settings)


def settings_from_wire(wire: dict[str, Any]) -> Any:
    from ..providers.base import ProviderSettings

    return ProviderSettings(**wire)


# --- events and errors ----------------------------------------------------------------------------

_EVENT_KINDS = ("TextDelta", "Usage", "Citations", "Finish")


def event_to_wire(event: Any) -> dict[str, Any]:
    kind = type(event).__name__
    if kind not in _EVENT_KINDS:
        raise TypeError(f"not a provider event: {kind}")
    return {"t": "event", "kind": kind, "data": event._asdict()}


def event_from_wire(message: dict[str, Any]) -> Any:
    from ..providers import base

    kind = message.get("kind")
    if kind not in _EVENT_KINDS:
        raise Closed(f"unknown event kind {kind!r}")
    return getattr(base, kind)(**message["data"])


# A transcription's messages: "uploading" (the audio goes through the provider's file API),
# then one "transcription" with the result (text as it streams travels as TextDelta events).
UPLOADING = "uploading"


def transcription_to_wire(transcription: Any) -> dict[str, Any]:
    return {"t": "transcription", "data": asdict(transcription)}


def transcription_from_wire(message: dict[str, Any]) -> Any:
    from ..providers.speech import Transcription

    data = dict(message["data"])
    if data.get("subtitles") is not None:
        data["subtitles"] = tuple(data["subtitles"])  # JSON has no tuples
    return Transcription(**data)


# Attributes an error carries besides its sentence: whether a fallback may be
# tried, and (for Interrupted) its own exit code.
_ERROR_ATTRIBUTES = ("retryable_elsewhere", "exit_code")


def error_to_wire(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, errors.MmcliError):
        attrs = {name: exc.__dict__[name] for name in _ERROR_ATTRIBUTES if name in exc.__dict__}
        return {"t": "error", "class": type(exc).__name__, "message": exc.message, "attrs": attrs}
    # Anything else is a bug the in-process path would report as "Unexpected error (Class: ...)".
    return {"t": "error", "class": type(exc).__name__, "message": errors.redact(str(exc)), "unexpected": True}


def error_from_wire(message: dict[str, Any]) -> BaseException:
    name, text = str(message.get("class", "MmcliError")), str(message.get("message", ""))
    cls = getattr(errors, name, None)
    if message.get("unexpected") or not (isinstance(cls, type) and issubclass(cls, errors.MmcliError)):
        # Same class name, so the one sentence the user reads is the same.
        return type(name, (Exception,), {})(text)
    exc = cls.__new__(cls)
    Exception.__init__(exc, text)  # already redacted by the worker, with the caller's own keys
    exc.__dict__.update(message.get("attrs") or {})
    return exc
