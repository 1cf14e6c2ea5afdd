"""The live conversation loop: the user's input goes out while the model's reply comes in.

Two tasks share one connection: ``_send_input`` (typed lines, an audio file, or the
microphone) and ``_receive`` (the provider's events). The receive task only
dispatches: audio and text are handed to their own threads (``output``), so the
socket is read at once whatever the terminal or the disk are doing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from ..conversation import Part
from ..media import pcm
from ..providers.live_base import (
    AudioOut,
    Interrupted,
    LiveEvent,
    Notice,
    ReplyDone,
    SessionClosed,
    TextOut,
    UserTranscript,
)
from .output import AudioOutput, TextOutput
from .record import Transcript, Turn

CHUNK_S = 0.05  # audio is sent in 50 ms chunks: small enough for barge-in, few enough messages
# After the microphone ends, wait this long without events before ending (a reply may be on its way).
SETTLE_S = 0.5


@dataclass
class Inputs:
    """What the user gives besides typing."""

    images: list[Part] = field(default_factory=list)  # -i, sent before anything else
    audio: Part | None = None  # --audio-in, one turn (stored with the session)
    audio_pcm: bytes = b""  # ... converted to the provider's input rate before connecting
    fast: bool = False  # --fast: the file as fast as the socket takes it
    device: Any = None  # the open devices.Microphone for --mic
    microphone: Any = None  # ... and the inputs.MicrophonePump reading it into the loop
    lines: Any = None  # an inputs.LineSource for typed or piped turns


class LiveConversation:
    def __init__(self, provider: Any, options: Any, transcript: Transcript, inputs: Inputs,
                 audio: AudioOutput, text: TextOutput, *, media_provider: str):
        self._provider = provider
        self._options = options
        self.transcript = transcript
        self._inputs = inputs
        self._audio = audio
        self._text = text
        self._media_provider = media_provider  # whose image limits /image is prepared for
        self._conn: Any = None
        self._current: Turn | None = None  # the turn whose reply is awaited or streaming
        self._idle = asyncio.Event()
        self._idle.set()
        self._pending_parts: list[Part] = []  # images sent, saved with the next turn
        self._last_event_at = time.monotonic()
        self.ended_by_server = False
        self._tasks: set[asyncio.Future[Any]] = set()

    # --- the whole conversation --------------------------------------------------------------------

    async def run(self) -> None:
        async with self._provider.connect(self._options) as conn:
            self._conn = conn
            receiving = asyncio.create_task(self._receive(), name="live-receive")
            sending = asyncio.create_task(self._send_input(), name="live-send")
            try:
                done, _ = await asyncio.wait({receiving, sending}, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    try:
                        task.result()  # a failure on either side ends the conversation with its sentence
                    except SessionClosed:
                        self.ended_by_server = True
            finally:
                for task in (receiving, sending):
                    task.cancel()
                await asyncio.gather(receiving, sending, return_exceptions=True)

    def finish(self, finish_reason: str) -> None:
        """Keep the turn in progress, its answer marked with how the conversation ended."""
        if self._current is not None:
            self.transcript.save(self._current, ending=finish_reason)
            self._current = None

    # --- the user's side ---------------------------------------------------------------------------

    async def _send_input(self) -> None:
        for image in self._inputs.images:
            await self._send_image(image)
        if self._inputs.audio is not None:
            await self._send_audio_file(self._inputs.audio, self._inputs.audio_pcm)
        elif self._inputs.microphone is not None:
            await self._send_microphone()
            return
        else:
            await self._send_lines()
        await self._idle.wait()

    async def _send_image(self, image: Part) -> None:
        await self._conn.send_image(image.data, image.mime_type)
        self._pending_parts.append(image)

    def _begin_turn(self, user: str, parts: list[Part] | None = None) -> Turn:
        turn = self.transcript.add(Turn(user=user, parts=[*self._pending_parts, *(parts or [])]))
        self._pending_parts = []
        self._current = turn
        self._idle.clear()
        return turn

    async def _send_lines(self) -> None:
        lines = self._inputs.lines
        while True:
            line = await lines.next()
            if line is None:
                self._text.input_ended()
                return
            text = line.strip()
            if not text:
                lines.ready()
                continue
            if text == "/image" or text.startswith("/image "):
                await self._image_command(text.removeprefix("/image").strip())
                lines.ready()
                continue
            if text in ("/quit", "/exit", "/bye"):
                return
            await self._idle.wait()  # a turn is sent when the previous reply has ended
            self._begin_turn(text)
            await self._conn.send_text(text)
            self._audio.user_turn_ended()

    async def _image_command(self, path: str) -> None:
        from .. import media
        from ..errors import UsageError
        from ..providers.registry import media_limits_of

        if not path:
            self._text.note("/image needs a path, e.g. /image photo.jpg.")
            return
        try:
            image = media.prepare(media.load(path, expect="image"), media_limits_of(self._media_provider))
        except UsageError as exc:
            self._text.note(exc.message)  # a bad path must not end the conversation
            return
        await self._send_image(image)

    async def _send_audio_file(self, audio: Part, samples: bytes) -> None:
        self._begin_turn("", [audio])
        started = time.monotonic()
        sent = 0.0
        for chunk in pcm.chunks(samples, self._conn.input_rate, CHUNK_S):
            if not self._inputs.fast:
                # Real-time pace: never ahead of the audio's own clock.
                delay = started + sent - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self._conn.send_audio(chunk)
            sent += pcm.duration(chunk, self._conn.input_rate)
        self._audio.user_turn_ended()
        await self._conn.end_audio()

    async def _send_microphone(self) -> None:
        """Stream the microphone until it ends, or until Ctrl-D when typing in a terminal."""
        microphone, lines = self._inputs.microphone, self._inputs.lines
        typed = asyncio.ensure_future(lines.next()) if lines is not None else None
        try:
            while True:
                chunk_task = asyncio.ensure_future(microphone.next())
                waiting = {chunk_task} | ({typed} if typed is not None else set())
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if typed is not None and typed.done():
                    chunk_task.cancel()
                    if typed.result() is None:
                        return  # Ctrl-D
                    await self._conn.send_text(typed.result().strip())
                    typed = asyncio.ensure_future(lines.next())
                    continue
                chunk = chunk_task.result()
                if chunk is None:
                    break
                await self._conn.send_audio(chunk)
        finally:
            if typed is not None:
                typed.cancel()
        # The device ended (a real microphone never does): let a reply on its way arrive.
        await self._conn.end_audio()
        while True:
            quiet = time.monotonic() - self._last_event_at
            if quiet >= SETTLE_S and (self._idle.is_set() or quiet >= 10 * SETTLE_S):
                return
            await asyncio.sleep(max(0.05, SETTLE_S - quiet))

    # --- the model's side --------------------------------------------------------------------------

    async def _receive(self) -> None:
        async for event in self._conn.events():
            self._last_event_at = time.monotonic()
            self._dispatch(event)
        self.ended_by_server = True

    def _dispatch(self, event: LiveEvent) -> None:
        if isinstance(event, AudioOut):
            self._audio.put(event.pcm)
            self._turn().audio_bytes += len(event.pcm)
        elif isinstance(event, TextOut):
            self._turn().answer += event.text
            self._text.reply_text(event.text)
        elif isinstance(event, UserTranscript):
            turn = self._turn()
            turn.user += event.text
            self._text.heard(event.text)
        elif isinstance(event, Interrupted):
            heard_s = self._audio.interrupt()  # first: the speaker falls silent before anything else happens
            if heard_s is not None:
                # Tell the provider how much of its answer was heard, so it knows what the user missed.
                self._background(self._conn.heard(heard_s))
            if self._current is not None and self._current.started_reply:
                self._current.interrupted = True
                self._end_turn()
        elif isinstance(event, ReplyDone):
            self._audio.reply_ended()
            self.transcript.count_usage(event.input_tokens, event.output_tokens)
            if self._current is not None:
                self._current.interrupted = self._current.interrupted or event.interrupted
                self._end_turn()
            self._idle.set()
        elif isinstance(event, Notice):
            self._text.note(event.text)

    def _background(self, coroutine: Any) -> None:
        """Run a send without holding up the receive loop; keep the task referenced until it ends."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Future[Any]) -> None:
        # A failed background send is not the conversation's end: the receive loop sees a broken socket itself.
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()

    def _turn(self) -> Turn:
        """The turn an event belongs to; with voice activity detection the server starts turns."""
        return self._current if self._current is not None else self._begin_turn("")

    def _end_turn(self) -> None:
        turn, self._current = self._current, None
        if turn is not None:
            user = turn.user.strip()
            turn.user = user
            self.transcript.save(turn)
            self._text.reply_done()
        if self._inputs.lines is not None:
            self._inputs.lines.ready()

