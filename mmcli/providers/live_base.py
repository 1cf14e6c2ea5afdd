"""What every live (real-time, two-way) provider is: a connection that takes the
user's text, images and audio as they come, and gives back neutral events as the
model speaks.

The conversation loop in ``mmcli/live`` only knows these types; each provider's
wire (Gemini Live, OpenAI Realtime) lives in its own module beside its chat code.
Nothing here imports an SDK.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..conversation import Message

# Every reply's audio is handed on at this rate (both providers speak 24 kHz PCM).
OUTPUT_RATE = 24_000


@dataclass(frozen=True)
class AudioOut:
    """A piece of the model's spoken reply: 16-bit mono little-endian PCM at OUTPUT_RATE."""

    pcm: bytes


@dataclass(frozen=True)
class TextOut:
    """A piece of the model's reply as text (its own transcript of what it says)."""

    text: str


@dataclass(frozen=True)
class UserTranscript:
    """A piece of what the user said, as the provider heard it."""

    text: str


@dataclass(frozen=True)
class Interrupted:
    """The user talked over the model: its audio must stop at once."""


@dataclass(frozen=True)
class ReplyDone:
    """The model's turn ended (``interrupted`` when it was cut short by the user)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    interrupted: bool = False


@dataclass(frozen=True)
class Notice:
    """Something the user should be told on stderr, once (a session limit, say)."""

    text: str


LiveEvent = AudioOut | TextOut | UserTranscript | Interrupted | ReplyDone | Notice


class SessionClosed(Exception):
    """The server closed the session normally (WebSocket close 1000): an end, not a failure."""


@dataclass(frozen=True)
class LiveOptions:
    """How to open a live session; everything provider-neutral the command line decided."""

    model: str
    system: str | None = None
    voice: str | None = None
    # Earlier turns of a resumed session, sent as context before anything new.
    history: list[Message] = field(default_factory=list)
    # "server": the provider detects when the user starts and stops talking (mic, typed);
    # "manual": mmcli says where the user's turn ends (an audio file).
    turn_detection: str = "server"
    # How readily the provider's voice detection hears speech start and stop: "low", "high",
    # or None for the provider's default (config.toml: [providers.NAME] vad_sensitivity).
    vad_sensitivity: str | None = None


class SdkSocket:
    """What both providers' connections share: the SDK's ``connect()`` context manager
    of the current socket, closed once however the conversation ends."""

    _manager: Any = None
    _closed: bool = False

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._manager is not None:
            with contextlib.suppress(Exception):
                await self._manager.__aexit__(None, None, None)


class LiveConnection(Protocol):
    """One open live session. Sends may be called while ``events()`` is being read."""

    input_rate: int  # the PCM rate this provider takes the user's audio at

    async def send_text(self, text: str) -> None:
        """One complete typed user turn; the model answers it."""
        ...

    async def send_image(self, data: bytes, mime_type: str) -> None:
        """An image for the conversation; answered with the next turn, not on its own."""
        ...

    async def send_audio(self, pcm: bytes) -> None:
        """A chunk of the user's audio (16-bit mono PCM at ``input_rate``)."""
        ...

    async def end_audio(self) -> None:
        """The user's audio turn is over (manual turn detection): answer it."""
        ...

    async def heard(self, seconds: float) -> None:
        """After an interruption: the user heard this much of the answer (its audio was cut there)."""
        ...

    def events(self) -> AsyncIterator[LiveEvent]:
        """Events until the session ends normally; failures raise ``errors.MmcliError``."""
        ...

    async def close(self) -> None: ...
