"""OpenAI Realtime (GA events) through ``client.realtime.connect``.

Wire facts relied on, checked against openai 3.x: the socket is ``{base_url}/realtime?model=M``
(ws:// for an http:// base URL) with Bearer auth; ``session.created`` arrives first; the client
sends ``session.update``, ``conversation.item.create``, ``input_audio_buffer.append|commit`` and
``response.create``; replies stream as ``response.output_audio.delta`` (base64 PCM, 24 kHz) and
``response.output_audio_transcript.delta`` and end with ``response.done`` carrying ``usage``.
Server events are read as raw JSON: parsing every audio delta into a model would cost latency.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from ..conversation import Message
from ..errors import AuthenticationFailed, MmcliError, ProviderError, StreamInterrupted, one_sentence
from .base import failure
from .live_base import (
    AudioOut,
    Interrupted,
    LiveEvent,
    LiveOptions,
    Notice,
    ReplyDone,
    SdkSocket,
    SessionClosed,
    TextOut,
    UserTranscript,
)
from .openai import OpenAIProvider

RATE = 24_000
SESSION_LIMIT_S = 60 * 60  # a Realtime session lasts at most 60 minutes
WARN_BEFORE_END_S = 60
TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
# Error codes that need no action: a cancel that came too late, say.
_HARMLESS_ERRORS = {
    "response_cancel_not_active", "conversation_already_has_active_response", "input_audio_buffer_commit_empty",
}
_KEY_ERRORS = {"invalid_api_key", "authentication_error", "unauthorized"}
NORMAL_CLOSE = 1000
VAD_THRESHOLDS = {"high": 0.3, "low": 0.7}
TRUNCATE_EVENT = "mmcli_truncate_"  # event ids of our truncations: errors about them are not fatal


class OpenAIRealtime(OpenAIProvider):
    live_input_rate = RATE

    def connect(self, options: LiveOptions) -> contextlib.AbstractAsyncContextManager[RealtimeConnection]:
        return _opened(RealtimeConnection(self, options))

    def async_client(self) -> Any:
        import openai

        return openai.AsyncOpenAI(
            api_key=self.settings.api_key,
            base_url=self.settings.base_url or self.default_base_url,
            timeout=self.settings.timeout,
            max_retries=self.settings.retries,
        )


@contextlib.asynccontextmanager
async def _opened(connection: RealtimeConnection) -> AsyncIterator[RealtimeConnection]:
    await connection.open()
    try:
        yield connection
    finally:
        await connection.close()


class RealtimeConnection(SdkSocket):
    input_rate = RATE

    def __init__(self, provider: OpenAIRealtime, options: LiveOptions):
        self._provider = provider
        self._options = options
        self._client = provider.async_client()
        self._manager: Any = None
        self._conn: Any = None
        self._responding = False  # between response.created and response.done
        self._transcribed: set[str] = set()  # items whose user transcript arrived as deltas
        self._warn_at: float | None = None
        self._audio_item: str | None = None  # the item of the answer audio last received
        self._truncations = 0
        self._closed = False

    async def open(self) -> None:
        with self._errors(during_setup=True):
            self._manager = self._client.realtime.connect(model=self._options.model)
            self._conn = await self._manager.__aenter__()
            await self._conn.send({"type": "session.update", "session": self._session_config()})
            for message in self._options.history:
                await self._conn.send({"type": "conversation.item.create", "item": _item(message)})

    def _session_config(self) -> dict[str, Any]:
        options = self._options
        detection: dict[str, Any] | None = None
        if options.turn_detection == "server":
            detection = {"type": "server_vad", "create_response": True, "interrupt_response": True}
            if options.vad_sensitivity is not None:
                # The activation threshold: lower hears quieter speech (the default is 0.5).
                detection["threshold"] = VAD_THRESHOLDS[options.vad_sensitivity]
        output: dict[str, Any] = {"format": {"type": "audio/pcm", "rate": RATE}}
        if options.voice:
            output["voice"] = options.voice
        session: dict[str, Any] = {
            "type": "realtime",
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": RATE},
                    "transcription": {"model": TRANSCRIPTION_MODEL},
                    "turn_detection": detection,
                },
                "output": output,
            },
        }
        if options.system:
            session["instructions"] = options.system
        return session

    # --- sending -----------------------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        with self._errors():
            item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
            await self._conn.send({"type": "conversation.item.create", "item": item})
            await self._conn.send({"type": "response.create"})

    async def send_image(self, data: bytes, mime_type: str) -> None:
        with self._errors():
            url = f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"
            item = {"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": url}]}
            await self._conn.send({"type": "conversation.item.create", "item": item})

    async def send_audio(self, pcm: bytes) -> None:
        with self._errors():
            await self._conn.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode("ascii")})

    async def end_audio(self) -> None:
        if self._options.turn_detection != "manual":
            return  # server voice detection has committed every utterance already
        with self._errors():
            await self._conn.send({"type": "input_audio_buffer.commit"})
            await self._conn.send({"type": "response.create"})

    async def heard(self, seconds: float) -> None:
        """Cut the answer's audio item where playback stopped, as the Realtime guide asks of
        clients that play audio themselves: the model then knows what the user did not hear."""
        if self._audio_item is None:
            return
        self._truncations += 1
        with self._errors():
            await self._conn.send({
                "type": "conversation.item.truncate", "event_id": f"{TRUNCATE_EVENT}{self._truncations}",
                "item_id": self._audio_item, "content_index": 0, "audio_end_ms": int(seconds * 1000),
            })
        self._audio_item = None

    # --- receiving ---------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[LiveEvent]:
        while not self._closed:
            wait = None if self._warn_at is None else max(0.0, self._warn_at - time.time())
            try:
                with self._errors():
                    raw = await asyncio.wait_for(self._conn.recv_bytes(), timeout=wait)
            except asyncio.TimeoutError:
                self._warn_at = None
                yield Notice(
                    "The OpenAI Realtime session reaches its 60-minute limit in about a minute; "
                    "continue afterwards with mmcli live -c."
                )
                continue
            except SessionClosed:
                return  # the server ended the session: an end, not a failure
            data = json.loads(raw)
            for event in self._translate(data):
                yield event

    def _translate(self, data: dict[str, Any]) -> list[LiveEvent]:
        kind = data.get("type", "")
        if kind == "response.output_audio.delta":
            self._audio_item = data.get("item_id") or self._audio_item
            return [AudioOut(base64.b64decode(data.get("delta", "")))]
        if kind in ("response.output_audio_transcript.delta", "response.output_text.delta"):
            return [TextOut(data.get("delta", ""))] if data.get("delta") else []
        if kind == "conversation.item.input_audio_transcription.delta":
            self._transcribed.add(str(data.get("item_id")))
            return [UserTranscript(data["delta"])] if data.get("delta") else []
        if kind == "conversation.item.input_audio_transcription.completed":
            if str(data.get("item_id")) in self._transcribed or not data.get("transcript"):
                return []
            return [UserTranscript(data["transcript"])]
        if kind == "input_audio_buffer.speech_started":
            return [Interrupted()]  # the user talks: whatever is playing stops
        if kind == "response.created":
            self._responding = True
            return []
        if kind == "response.done":
            self._responding = False
            return [self._reply_done(data.get("response") or {})]
        if kind == "session.created":
            expires = (data.get("session") or {}).get("expires_at")
            end = float(expires) if isinstance(expires, (int, float)) and expires else time.time() + SESSION_LIMIT_S
            self._warn_at = end - WARN_BEFORE_END_S
            return []
        if kind == "error":
            return self._error(data.get("error") or {})
        return []

    def _reply_done(self, response: dict[str, Any]) -> ReplyDone:
        status = response.get("status")
        if status == "failed":
            details = (response.get("status_details") or {}).get("error") or {}
            message = one_sentence(str(details.get("message") or "the response failed")).rstrip(".")
            raise StreamInterrupted(f"openai stopped mid-answer: {message}.")
        usage = response.get("usage") or {}
        return ReplyDone(
            input_tokens=usage.get("input_tokens"),
            output_tokens=usage.get("output_tokens"),
            interrupted=status == "cancelled",
        )

    def _error(self, error: dict[str, Any]) -> list[LiveEvent]:
        code = str(error.get("code") or "")
        message = one_sentence(str(error.get("message") or code or "unknown error")).rstrip(".")
        if code in _HARMLESS_ERRORS or str(error.get("event_id") or "").startswith(TRUNCATE_EVENT):
            return []  # a truncation that came too late (the item gone, say) changes nothing
        if code in _KEY_ERRORS:
            raise AuthenticationFailed(f"openai rejected the API key ({message}): check {self._provider.key_variable}.")
        if code == "session_expired":
            return [Notice(f"The OpenAI Realtime session ended at its 60-minute limit ({message}).")]
        if self._responding:
            raise StreamInterrupted(f"openai stopped mid-answer: {message}.")
        raise ProviderError(f"openai refused the live request: {message}.", retryable_elsewhere=False)

    # --- errors ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, *, during_setup: bool = False) -> Any:
        import openai
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        name = self._provider.name
        try:
            yield
        except MmcliError:
            raise
        except asyncio.CancelledError:
            raise
        except asyncio.TimeoutError:
            raise
        except InvalidStatus as exc:  # the handshake was answered with an HTTP error
            status = exc.response.status_code
            body = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
            raise failure(name, _http_message(body) or f"HTTP {status}", status=status,
                          key_variable=self._provider.key_variable) from exc
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            if code == NORMAL_CLOSE and not during_setup:
                raise SessionClosed() from exc
            reason = (exc.rcvd.reason if exc.rcvd is not None else "") or "no reason given"
            if during_setup:
                raise ProviderError(f"{name} refused the live session (close code {code}): {reason}.",
                                    retryable_elsewhere=False) from exc
            raise StreamInterrupted(f"The connection to {name} broke mid-session (close code {code}).") from exc
        except openai.OpenAIError as exc:
            raise failure(name, str(exc)) from exc
        except Exception as exc:
            if during_setup:
                raise failure(name, f"{exc.__class__.__name__}: {exc}", unreachable=True) from exc
            raise StreamInterrupted(f"The connection to {name} broke mid-session ({exc.__class__.__name__}).") from exc


def _http_message(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()
    error = data.get("error") if isinstance(data, dict) else None
    return str(error.get("message", "")) if isinstance(error, dict) else ""


def _item(message: Message) -> dict[str, Any]:
    """An earlier turn as a conversation item: text and images (audio is represented by its transcript)."""
    if message.role == "assistant":
        return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": message.text}]}
    content: list[dict[str, Any]] = [{"type": "input_text", "text": message.text}] if message.text else []
    for part in message.parts:
        if part.kind == "image":
            url = f"data:{part.mime_type};base64,{base64.b64encode(part.data).decode('ascii')}"
            content.append({"type": "input_image", "image_url": url})
    return {"type": "message", "role": "user", "content": content or [{"type": "input_text", "text": ""}]}
