"""A fake OpenAI Realtime server (GA events over plain ws://), speaking the protocol as
openai 3.x sends and expects it: ``/v1/realtime?model=M`` with Bearer auth (a bad key
is refused in the handshake with 401), ``session.created`` first, then
``session.update`` -> ``session.updated``, ``conversation.item.create`` ->
``conversation.item.added``, ``input_audio_buffer.append|commit``, ``response.create``
-> ``response.created``, ``response.output_audio.delta`` and
``response.output_audio_transcript.delta`` pieces, ``response.done`` with ``usage``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed

from .live_audio import loudness, tone
from .live_server import LiveCall, LiveFakeServer

RATE = 24_000
HEARD = "what the user said"
_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_{next(_ids)}"


class FakeOpenAIRealtime(LiveFakeServer):
    def __init__(self, *, api_key: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.api_key = api_key
        self.replies: list[str] = []
        self.reply_audio_s = 0.3
        self.reply_seconds: list[float] = []  # per reply, in order; then reply_audio_s
        self.chunk_s = 0.1
        self.delay_s = 0.0
        self.pace = 0.0  # > 0: send reply audio at this fraction of its duration (1.0: real time)
        self.expires_in_s = 3600.0  # session.created's expires_at, from now
        self.error_on_response: dict[str, Any] | None = None  # an `error` event instead of a reply
        self.close_after_turn: int | None = None
        self.turns = 0
        self.pieces_sent = 0  # reply audio pieces sent, over every turn
        self.turn_ended_at: list[float] = []
        self.first_audio_at: list[float] = []
        self.audio_received: list[bytes] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def process_request(self, connection: Any, request: Any) -> Any:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            body = {"error": {"type": "invalid_request_error", "code": "invalid_api_key",
                              "message": "Incorrect API key provided."}}
            response = connection.respond(HTTPStatus.UNAUTHORIZED, json.dumps(body))
            response.headers["Content-Type"] = "application/json"
            return response
        if urlsplit(request.path).path != "/v1/realtime":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found")
        return None

    async def handle(self, ws: Any, call: LiveCall) -> None:
        model = parse_qs(urlsplit(call.path).query).get("model", [""])[0]
        session = {"type": "realtime", "object": "realtime.session", "id": _id("sess"), "model": model,
                   "expires_at": int(time.time() + self.expires_in_s), "output_modalities": ["audio"]}
        await self.send(ws, {"type": "session.created", "event_id": _id("event"), "session": session})
        state = _Connection(ws)
        while True:
            event = await self.receive(ws, call)
            await self._on_event(state, event)

    async def _on_event(self, state: _Connection, event: dict[str, Any]) -> None:
        kind = event.get("type")
        ws = state.ws
        if kind == "session.update":
            state.session = event["session"]
            await self.send(ws, {"type": "session.updated", "event_id": _id("event"), "session": event["session"]})
        elif kind == "conversation.item.create":
            item = {**event["item"], "id": _id("item"), "object": "realtime.item", "status": "completed"}
            await self.send(ws, {"type": "conversation.item.added", "event_id": _id("event"),
                                 "previous_item_id": None, "item": item})
            for part in item.get("content", []):
                if part.get("type") == "input_text":
                    state.text = part["text"]
        elif kind == "input_audio_buffer.append":
            pcm = base64.b64decode(event["audio"])
            state.audio += pcm
            if self._server_vad(state):
                self._voice_activity(state, pcm)
        elif kind == "input_audio_buffer.commit":
            await self._committed(state)
        elif kind == "response.create":
            self._respond(state)
        elif kind == "conversation.item.truncate":
            await self.send(ws, {"type": "conversation.item.truncated", "event_id": _id("event"),
                                 "item_id": event["item_id"], "content_index": event["content_index"],
                                 "audio_end_ms": event["audio_end_ms"]})
        elif kind == "response.cancel" and state.responding is not None:
            state.responding.cancel()

    def _server_vad(self, state: _Connection) -> bool:
        detection = ((state.session.get("audio") or {}).get("input") or {}).get("turn_detection")
        return bool(detection) and detection.get("type") in ("server_vad", "semantic_vad")

    async def _committed(self, state: _Connection) -> None:
        item_id = _id("item")
        self.audio_received.append(state.audio)
        state.audio = b""
        await self.send(state.ws, {"type": "input_audio_buffer.committed", "event_id": _id("event"),
                                   "previous_item_id": None, "item_id": item_id})
        await self.send(state.ws, {"type": "conversation.item.input_audio_transcription.completed",
                                   "event_id": _id("event"), "item_id": item_id, "content_index": 0,
                                   "transcript": HEARD})

    def _voice_activity(self, state: _Connection, pcm: bytes) -> None:
        """Server VAD: a tone is speech; 0.2 s of silence after it commits the turn and answers it."""
        seconds = len(pcm) / (2 * RATE)
        if loudness(pcm) > 500:
            if not state.speech_s:
                asyncio.ensure_future(self.send(state.ws, {"type": "input_audio_buffer.speech_started",
                                                           "event_id": _id("event"), "audio_start_ms": 0,
                                                           "item_id": _id("item")}))
                if state.responding is not None and not state.responding.done():
                    state.responding.cancel()  # interrupt_response: the user talks over the model
            state.speech_s += seconds
            state.quiet_s = 0.0
        elif state.speech_s:
            state.quiet_s += seconds
            if state.quiet_s >= 0.2:
                state.speech_s = 0.0

                async def stopped() -> None:
                    await self.send(state.ws, {"type": "input_audio_buffer.speech_stopped",
                                               "event_id": _id("event"), "audio_end_ms": 0, "item_id": _id("item")})
                    await self._committed(state)
                    self._respond(state)

                asyncio.ensure_future(stopped())

    def _respond(self, state: _Connection) -> None:
        self.turn_ended_at.append(time.monotonic())
        state.responding = asyncio.ensure_future(self._response(state))

    async def _response(self, state: _Connection) -> None:
        ws = state.ws
        self.turns += 1
        number = self.turns
        response_id, item_id = _id("resp"), _id("item")
        text = self.replies.pop(0) if self.replies else f"Reply {number}."
        response = {"object": "realtime.response", "id": response_id, "status": "in_progress", "output": []}
        if self.error_on_response is not None:
            await self.send(ws, {"type": "error", "event_id": _id("event"), "error": self.error_on_response})
            return
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            await self.send(ws, {"type": "response.created", "event_id": _id("event"), "response": response})
            seconds = self.reply_seconds.pop(0) if self.reply_seconds else self.reply_audio_s
            audio = tone(seconds, RATE, frequency=330)
            size = int(self.chunk_s * RATE) * 2
            pieces = [audio[i : i + size] for i in range(0, len(audio), size)]
            words = text.split(" ")
            common = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
            for index, piece in enumerate(pieces):
                if index == 0:
                    self.first_audio_at.append(time.monotonic())
                self.pieces_sent += 1
                await self.send(ws, {"type": "response.output_audio.delta", "event_id": _id("event"), **common,
                                     "delta": base64.b64encode(piece).decode()})
                share = [i for i in range(len(words)) if i * len(pieces) // len(words) == index]
                if share:
                    spoken = " ".join(words[i] for i in share) + (" " if share[-1] < len(words) - 1 else "")
                    await self.send(ws, {"type": "response.output_audio_transcript.delta",
                                         "event_id": _id("event"), **common, "delta": spoken})
                if self.pace:
                    await asyncio.sleep(self.chunk_s * self.pace)
            await self.send(ws, {"type": "response.output_audio.done", "event_id": _id("event"), **common})
            await self.send(ws, {"type": "response.output_audio_transcript.done", "event_id": _id("event"),
                                 **common, "transcript": text})
            status = "completed"
        except asyncio.CancelledError:
            status = "cancelled"
        except ConnectionClosed:
            return  # the client went away mid-reply
        usage = {"total_tokens": 30, "input_tokens": 10, "output_tokens": 20}
        await self.send(ws, {"type": "response.done", "event_id": _id("event"),
                             "response": {**response, "status": status, "usage": usage}})
        if self.close_after_turn == number:
            await ws.close(1000)


class _Connection:
    def __init__(self, ws: Any):
        self.ws = ws
        self.session: dict[str, Any] = {}
        self.text = ""
        self.audio = b""
        self.speech_s = 0.0
        self.quiet_s = 0.0
        self.responding: asyncio.Future[None] | None = None
