"""A fake Gemini Live server (BidiGenerateContent over TLS), speaking the protocol as
google-genai 3.x sends and expects it:

- the path ``/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent``
  (a leading ``//`` allowed), the key in ``x-goog-api-key`` or ``?key=``;
- the first client frame is ``setup`` and is answered with ``setupComplete``;
- client keys come in mixed casing (``client_content``/``turnComplete``, ``realtime_input``/
  ``activityEnd``, ``mime_type``), so every key is looked up in both spellings;
- binary data arrives as URL-safe base64;
- errors are close frames (1007 for a bad key, 1008 for a refused setup), 1000 ends.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any
from urllib.parse import parse_qs

from websockets.exceptions import ConnectionClosed

from .live_audio import loudness, tone
from .live_server import LiveCall, LiveFakeServer

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
VERTEX_PATH = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"  # express mode (a key)
OUTPUT_RATE = 24_000
INPUT_RATE = 16_000
HEARD = "what the user said"


def get(obj: dict[str, Any], snake: str) -> Any:
    """A key in either spelling: proto-JSON accepts both, and the SDK sends both."""
    if snake in obj:
        return obj[snake]
    head, *rest = snake.split("_")
    return obj.get(head + "".join(word.capitalize() for word in rest))


def b64decode_any(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_"))


def standard_alphabet(text: str) -> bool:
    """google-genai sends URL-safe base64: '+' or '/' means something else encoded it."""
    return "+" in text or "/" in text


class FakeGeminiLive(LiveFakeServer):
    def __init__(self, *, api_keys: set[str], **kwargs: Any):
        super().__init__(**kwargs)
        self.api_keys = api_keys  # the Gemini API key and the Vertex express-mode key
        self.replies: list[str] = []  # scripted reply texts, in order; then "Reply N."
        self.reply_audio_s = 0.3
        self.reply_seconds: list[float] = []  # per reply, in order; then reply_audio_s
        self.chunk_s = 0.1
        self.delay_s = 0.0  # from the end of the user's turn to the first reply byte
        self.pace = 0.0  # > 0: send reply audio at this fraction of its duration (1.0: real time)
        self.reject_setup: str | None = None  # close 1008 with this reason after setup
        self.go_away_after_turn: int | None = None
        self.close_after_turn: int | None = None
        self.drop_during_turn: int | None = None
        self.turns = 0
        self.pieces_sent = 0  # reply audio pieces sent, over every turn  # turns answered, over every connection
        self.handles: dict[str, int] = {}
        self.turn_ended_at: list[float] = []
        self.first_audio_at: list[float] = []
        self.interrupted_at: list[float] = []  # when `interrupted` was sent (barge-in)
        self.audio_received: list[bytes] = []  # per user audio turn, the PCM received
        self.images: list[tuple[str, bytes]] = []
        self.standard_base64 = False  # any binary data not in the URL-safe alphabet

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    # --- one connection ----------------------------------------------------------------------------

    async def handle(self, ws: Any, call: LiveCall) -> None:
        raw_path, _, query = call.path.partition("?")  # not urlsplit: "//ws/..." would read as a host
        key = call.headers.get("x-goog-api-key") or parse_qs(query).get("key", [None])[0]
        setup = (await self.receive(ws, call)).get("setup")
        path = "/" + raw_path.lstrip("/")
        if setup is None or path not in (PATH, VERTEX_PATH):
            await ws.close(1008, f"unexpected path {path} or first message")
            return
        if key not in self.api_keys:
            await ws.close(1007, "API key not valid. Please pass a valid API key.")
            return
        if self.reject_setup:
            await ws.close(1008, self.reject_setup)
            return
        await self.send(ws, {"setupComplete": {"sessionId": f"session-{len(self.calls)}"}})
        state = _Connection(ws, call, setup)
        handle = get(get(setup, "session_resumption") or {}, "handle")
        state.history_pending = bool(get(get(setup, "history_config") or {}, "initial_history_in_client_content"))
        if handle:
            state.history_pending = False
            state.resumed_from = handle
        manual = bool(get(get(get(setup, "realtime_input_config") or {}, "automatic_activity_detection") or {},
                          "disabled"))
        while True:
            message = await self.receive(ws, call)
            await self._on_message(state, message, manual)

    async def _on_message(self, state: _Connection, message: dict[str, Any], manual: bool) -> None:
        content = get(message, "client_content")
        if content is not None:
            turns = content.get("turns") or []
            for turn in turns:
                for part in turn.get("parts", []):
                    if part.get("text"):
                        state.text += part["text"]
                    blob = get(part, "inline_data")
                    if blob:
                        self.images.append((get(blob, "mime_type"), b64decode_any(blob["data"])))
            if get(content, "turn_complete"):
                if state.history_pending:
                    state.history_pending = False  # the earlier turns: context, no answer
                    state.text = ""
                else:
                    self._answer(state, state.text)
            return
        realtime = get(message, "realtime_input")
        if realtime is None:
            return
        if realtime.get("text"):
            self._answer(state, realtime["text"])
        if realtime.get("video"):
            blob = realtime["video"]
            self.images.append((get(blob, "mime_type"), b64decode_any(blob["data"])))
        audio = realtime.get("audio")
        if audio:
            assert get(audio, "mime_type") == f"audio/pcm;rate={INPUT_RATE}", audio
            self.standard_base64 |= standard_alphabet(audio["data"])
            pcm = b64decode_any(audio["data"])
            state.audio += pcm
            if not manual:
                self._voice_activity(state, pcm)
        if get(realtime, "activity_end") is not None:
            self.audio_received.append(state.audio)
            state.audio = b""
            self._answer(state, HEARD, heard=True)
        if get(realtime, "audio_stream_end"):
            state.audio_ended = True

    def _voice_activity(self, state: _Connection, pcm: bytes) -> None:
        """Server-side detection: a tone is speech; 0.2 s of silence after it ends the turn."""
        loud = loudness(pcm) > 500
        if loud:
            state.speech_s += len(pcm) / (2 * INPUT_RATE)
            state.quiet_s = 0.0
            if state.answering is not None and not state.answering.done():
                state.answering.cancel()  # the user talks over the model
                state.interrupted = True
        elif state.speech_s:
            state.quiet_s += len(pcm) / (2 * INPUT_RATE)
            if state.quiet_s >= 0.2:
                state.speech_s = 0.0
                self.audio_received.append(state.audio)
                state.audio = b""
                self._answer(state, HEARD, heard=True)

    # --- answering ---------------------------------------------------------------------------------

    def _answer(self, state: _Connection, user_text: str, *, heard: bool = False) -> None:
        self.turn_ended_at.append(time.monotonic())
        state.text = ""
        state.answering = asyncio.ensure_future(self._reply(state, user_text, heard))

    async def _reply(self, state: _Connection, user_text: str, heard: bool) -> None:
        ws = state.ws
        self.turns += 1
        number = self.turns
        text = self.replies.pop(0) if self.replies else f"Reply {number}."
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if heard:
                await self.send(ws, {"serverContent": {"inputTranscription": {"text": user_text}}})
            seconds = self.reply_seconds.pop(0) if self.reply_seconds else self.reply_audio_s
            audio = tone(seconds, OUTPUT_RATE, frequency=330)
            size = int(self.chunk_s * OUTPUT_RATE) * 2
            pieces = [audio[i : i + size] for i in range(0, len(audio), size)]
            words = text.split(" ")
            for index, piece in enumerate(pieces):
                encoded = base64.b64encode(piece).decode()
                if index == 0:
                    self.first_audio_at.append(time.monotonic())
                await self.send(ws, {"serverContent": {"modelTurn": {"parts": [
                    {"inlineData": {"mimeType": f"audio/pcm;rate={OUTPUT_RATE}", "data": encoded}}]}}})
                self.pieces_sent += 1
                share = [i for i in range(len(words)) if i * len(pieces) // len(words) == index]
                if share:
                    spoken = " ".join(words[i] for i in share) + (" " if share[-1] < len(words) - 1 else "")
                    await self.send(ws, {"serverContent": {"outputTranscription": {"text": spoken}}})
                if self.drop_during_turn == number:
                    ws.transport.abort()  # the network goes away mid-reply
                    return
                if self.pace:
                    await asyncio.sleep(self.chunk_s * self.pace)
            await self.send(ws, {"serverContent": {"generationComplete": True}})
            await self._complete(state, number, interrupted=False)
        except asyncio.CancelledError:
            self.interrupted_at.append(time.monotonic())
            await self.send(ws, {"serverContent": {"interrupted": True}})
            await self._complete(state, number, interrupted=True)
        except ConnectionClosed:
            pass  # the client went away mid-reply (Ctrl-C, SIGTERM)

    async def _complete(self, state: _Connection, number: int, *, interrupted: bool) -> None:
        ws = state.ws
        handle = f"handle-{number}"
        self.handles[handle] = number
        resumption = {"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}}
        if self.go_away_after_turn == number:
            # The warning comes before the turn ends (a server may send it at any time): a client
            # that answers the turn's end at once with the next line must already know, or the
            # test would race the client's input against this message.
            await self.send(ws, resumption)
            await self.send(ws, {"goAway": {"timeLeft": "2s"}})
            asyncio.get_running_loop().call_later(2.0, lambda: asyncio.ensure_future(ws.close(1000)))
        await self.send(ws, {
            "serverContent": {"turnComplete": True},
            "usageMetadata": {"promptTokenCount": 10, "responseTokenCount": 20, "totalTokenCount": 30},
        })
        if self.go_away_after_turn != number:
            await self.send(ws, resumption)
        if self.close_after_turn == number:
            await ws.close(1000)


class _Connection:
    def __init__(self, ws: Any, call: LiveCall, setup: dict[str, Any]):
        self.ws = ws
        self.call = call
        self.setup = setup
        self.text = ""
        self.audio = b""
        self.audio_ended = False
        self.history_pending = False
        self.resumed_from: str | None = None
        self.speech_s = 0.0
        self.quiet_s = 0.0
        self.answering: asyncio.Future[None] | None = None
        self.interrupted = False
