"""Gemini Live (Developer API and Vertex AI) through ``client.aio.live.connect``.

The wire facts this module relies on, checked against google-genai 3.x:
- the Developer API serves the Live socket on ``v1beta`` only (the SDK's default is v1);
- ``session.receive()`` yields one model turn and stops, so it is called again per turn;
- every close of the socket, even a normal one (1000), surfaces as ``errors.APIError``
  whose ``code`` is the close code and whose ``details`` is the close reason;
- ``goAway`` warns that the server will drop this connection; a new connection given
  the latest ``sessionResumptionUpdate.newHandle`` continues the same conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from ..conversation import Message
from ..errors import AuthenticationFailed, MmcliError, ProviderError, StreamInterrupted, one_sentence
from .base import failure
from .gemini import GeminiProvider, VertexProvider
from .live_base import (
    OUTPUT_RATE,
    AudioOut,
    Interrupted,
    LiveEvent,
    LiveOptions,
    ReplyDone,
    SdkSocket,
    SessionClosed,
    TextOut,
    UserTranscript,
)

INPUT_RATE = 16_000
NORMAL_CLOSE = 1000
# Words in a close reason that mean the key itself was refused.
_KEY_REJECTED = ("api key", "api_key", "permission_denied", "unauthenticated", "permission denied")


class GeminiLive(GeminiProvider):
    """Gemini Live on the Developer API (an API key, ``v1beta``)."""

    live_api_version: str | None = "v1beta"
    live_input_rate = INPUT_RATE

    def http_options(self) -> Any:
        # On the client, not in LiveConnectConfig: google-genai 2.x refuses request-level http_options there.
        options = super().http_options()
        options.api_version = self.live_api_version
        return options

    def connect(self, options: LiveOptions) -> contextlib.AbstractAsyncContextManager[GeminiLiveConnection]:
        return _opened(GeminiLiveConnection(self, options))


class VertexLive(VertexProvider):
    """Gemini Live on Vertex AI: the same protocol on the SDK's default Vertex API version."""

    live_api_version: str | None = None
    live_input_rate = INPUT_RATE

    def connect(self, options: LiveOptions) -> contextlib.AbstractAsyncContextManager[GeminiLiveConnection]:
        return _opened(GeminiLiveConnection(self, options))


@contextlib.asynccontextmanager
async def _opened(connection: GeminiLiveConnection) -> AsyncIterator[GeminiLiveConnection]:
    await connection.open()
    try:
        yield connection
    finally:
        await connection.close()


class GeminiLiveConnection(SdkSocket):
    input_rate = INPUT_RATE

    def __init__(self, provider: GeminiLive | VertexLive, options: LiveOptions):
        self._provider = provider
        self._options = options
        self._client = provider.client()  # keep it referenced: it owns the HTTP/WS state
        self._manager: Any = None  # the SDK's connect() context manager of the current socket
        self._session: Any = None
        self._handle: str | None = None  # the latest session-resumption handle
        self._switch_pending = False  # goAway arrived: move to a new socket at the next quiet moment
        self._awaiting_reply = False  # a turn was sent and its reply has not ended
        self._usage: Any = None  # the usage metadata last reported during the current turn
        self._sending = asyncio.Lock()  # sends wait while the socket is being replaced
        self._closed = False

    # --- opening, reconnecting, closing ------------------------------------------------------------

    async def open(self) -> None:
        # The SDK's first parse of a server message builds its validators (~90 ms here):
        # do it while the socket opens, not when the first reply arrives.
        warming = asyncio.ensure_future(asyncio.to_thread(_warm_parser, self._client.vertexai))
        with self._errors(during_setup=True):
            await self._connect()
            await warming
            if self._options.history:
                await self._session.send_client_content(
                    turns=[_content(m) for m in self._options.history], turn_complete=True
                )

    def _config(self) -> Any:
        from google.genai import types

        options = self._options
        config = types.LiveConnectConfig(
            # Native-audio models refuse TEXT; their transcript of what they say is the text reply.
            response_modalities=[types.Modality.AUDIO],
            output_audio_transcription=types.AudioTranscriptionConfig(),
            input_audio_transcription=types.AudioTranscriptionConfig(),
            session_resumption=types.SessionResumptionConfig(handle=self._handle),
            # Without compression an audio session ends after about 15 minutes.
            context_window_compression=types.ContextWindowCompressionConfig(sliding_window=types.SlidingWindow()),
        )
        if options.system:
            config.system_instruction = options.system
        if options.voice:
            config.speech_config = types.SpeechConfig(
                voice_config=types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=options.voice))
            )
        if options.turn_detection == "manual":
            config.realtime_input_config = types.RealtimeInputConfig(
                automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)
            )
        elif options.vad_sensitivity is not None:
            level = options.vad_sensitivity.upper()
            config.realtime_input_config = types.RealtimeInputConfig(
                automatic_activity_detection=types.AutomaticActivityDetection(
                    start_of_speech_sensitivity=types.StartSensitivity(f"START_SENSITIVITY_{level}"),
                    end_of_speech_sensitivity=types.EndSensitivity(f"END_SENSITIVITY_{level}"),
                )
            )
        if options.history and self._handle is None:
            # The earlier turns are context only: the server must not answer them.
            config.history_config = types.HistoryConfig(initial_history_in_client_content=True)
        return config

    async def _connect(self) -> None:
        manager = self._client.aio.live.connect(model=self._options.model, config=self._config())
        self._session = await manager.__aenter__()
        self._manager = manager

    async def _switch_socket(self) -> None:
        """Continue the conversation on a new socket with the latest handle (after goAway)."""
        async with self._sending:
            old = self._manager
            self._switch_pending = False
            with self._errors(during_setup=True):
                await self._connect()
            if old is not None:
                with contextlib.suppress(Exception):
                    await old.__aexit__(None, None, None)

    # --- sending -----------------------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        from google.genai import types

        async with self._sending:
            with self._errors():
                self._awaiting_reply = True
                if self._options.turn_detection == "manual" or self._realtime_audio:
                    # Once audio streams, typed text goes the same (realtime) way, keeping the order.
                    await self._session.send_realtime_input(text=text)
                else:
                    await self._session.send_client_content(
                        turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=True
                    )

    async def send_image(self, data: bytes, mime_type: str) -> None:
        from google.genai import types

        async with self._sending:
            with self._errors():
                if self._options.turn_detection == "server" and not self._realtime_audio:
                    # Typed conversation: the image joins the next turn's content.
                    part = types.Part(inline_data=types.Blob(data=data, mime_type=mime_type))
                    await self._session.send_client_content(
                        turns=types.Content(role="user", parts=[part]), turn_complete=False
                    )
                else:
                    await self._session.send_realtime_input(video=types.Blob(data=data, mime_type=mime_type))

    _realtime_audio = False  # set once audio has been streamed: from then on every input is realtime

    async def send_audio(self, pcm: bytes) -> None:
        from google.genai import types

        async with self._sending:
            with self._errors():
                if not self._realtime_audio:
                    self._realtime_audio = True
                    if self._options.turn_detection == "manual":
                        await self._session.send_realtime_input(activity_start=types.ActivityStart())
                await self._session.send_realtime_input(
                    audio=types.Blob(data=pcm, mime_type=f"audio/pcm;rate={INPUT_RATE}")
                )

    async def end_audio(self) -> None:
        from google.genai import types

        async with self._sending:
            with self._errors():
                self._awaiting_reply = True
                if self._options.turn_detection == "manual":
                    await self._session.send_realtime_input(activity_end=types.ActivityEnd())
                    self._realtime_audio = False  # the next audio starts a new activity
                else:
                    await self._session.send_realtime_input(audio_stream_end=True)

    async def heard(self, seconds: float) -> None:
        """Nothing to do: Gemini keeps what was generated before its own `interrupted`."""

    # --- receiving ---------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[LiveEvent]:
        while not self._closed:
            session = self._session
            try:
                with self._errors():
                    async for message in session.receive():
                        for event in self._translate(message):
                            yield event
                        if self._switch_pending and not self._awaiting_reply:
                            break
            except (StreamInterrupted, SessionClosed):
                if self._switch_pending and self._handle and not self._closed:
                    await self._switch_socket()  # the server closed first: resume on a new socket
                    continue
                raise
            if self._switch_pending and not self._awaiting_reply and session is self._session:
                await self._switch_socket()

    def _translate(self, message: Any) -> list[LiveEvent]:
        found: list[LiveEvent] = []
        update = message.session_resumption_update
        if update is not None and update.new_handle and update.resumable is not False:
            self._handle = update.new_handle
        if message.go_away is not None:
            self._switch_pending = True
        if message.usage_metadata is not None:
            self._usage = message.usage_metadata  # the latest report of this turn counts
        content = message.server_content
        if content is None:
            return found
        if content.interrupted:
            found.append(Interrupted())
        if content.input_transcription is not None and content.input_transcription.text:
            found.append(UserTranscript(content.input_transcription.text))
        if content.model_turn is not None:
            for part in content.model_turn.parts or ():
                blob = part.inline_data
                if blob is not None and blob.data and (blob.mime_type or "").startswith("audio/"):
                    found.append(AudioOut(_to_output_rate(blob.data, blob.mime_type or "")))
                elif part.text and not part.thought:
                    found.append(TextOut(part.text))
        if content.output_transcription is not None and content.output_transcription.text:
            found.append(TextOut(content.output_transcription.text))
        if content.turn_complete:
            self._awaiting_reply = False
            usage, self._usage = self._usage, None
            found.append(
                ReplyDone(
                    input_tokens=usage.prompt_token_count if usage else None,
                    output_tokens=_output_tokens(usage),
                    interrupted=bool(content.interrupted),
                )
            )
        return found

    # --- errors ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, *, during_setup: bool = False) -> Any:
        """Translate the SDK's and the socket's failures into mmcli's sentences."""
        from google.genai import errors as genai_errors

        name = self._provider.name
        try:
            yield
        except genai_errors.APIError as exc:
            reason = _reason(exc)
            if _key_rejected(exc.code, reason):
                raise AuthenticationFailed(
                    f"{name} rejected the API key ({reason.rstrip('.')}): check {self._provider.key_variable}."
                ) from exc
            if during_setup:
                raise ProviderError(
                    f"{name} refused the live session (close code {exc.code}): {reason}", retryable_elsewhere=False
                ) from exc
            if _is_normal(exc):
                raise SessionClosed() from exc
            raise StreamInterrupted(
                f"The connection to {name} broke mid-session (close code {exc.code}): {reason}"
            ) from exc
        except MmcliError:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if getattr(getattr(exc, "rcvd", None), "code", None) == NORMAL_CLOSE and not during_setup:
                raise SessionClosed() from exc  # a send after the server closed normally
            status = getattr(getattr(exc, "response", None), "status_code", None)  # handshake refused with HTTP
            if isinstance(status, int):
                raise failure(name, str(exc), status=status, key_variable=self._provider.key_variable) from exc
            if during_setup:
                raise failure(name, f"{exc.__class__.__name__}: {exc}", unreachable=True) from exc
            raise StreamInterrupted(f"The connection to {name} broke mid-session ({exc.__class__.__name__}).") from exc


def _warm_parser(vertexai: bool) -> None:
    from google.genai import _live_converters, types

    sample = {
        "serverContent": {
            "modelTurn": {"parts": [{"inlineData": {"mimeType": f"audio/pcm;rate={OUTPUT_RATE}", "data": "AAAA"}}]},
            "outputTranscription": {"text": "."}, "inputTranscription": {"text": "."}, "turnComplete": True,
        },
        "usageMetadata": {"promptTokenCount": 1, "responseTokenCount": 1},
        "sessionResumptionUpdate": {"newHandle": "-", "resumable": True},
    }
    with contextlib.suppress(Exception):  # private converters: a later SDK may move them; warming is optional
        converters = _live_converters
        convert = converters._LiveServerMessage_from_vertex if vertexai else converters._LiveServerMessage_from_mldev
        response = convert(sample)
        types.LiveServerMessage._from_response(response=response, kwargs=types.LiveServerMessage().model_dump())


def _reason(exc: Any) -> str:
    details = exc.details
    text = details if isinstance(details, str) else (exc.message or str(details or ""))
    return one_sentence(text or "no reason given")


def _is_normal(exc: Any) -> bool:
    return exc.code == NORMAL_CLOSE


def _key_rejected(code: int | None, reason: str) -> bool:
    lowered = reason.lower()
    return code in (401, 403) or any(word in lowered for word in _KEY_REJECTED)


def _output_tokens(usage: Any) -> int | None:
    if usage is None:
        return None
    total = usage.response_token_count
    if total is None:
        return None
    return total + (usage.thoughts_token_count or 0)


def _content(message: Message) -> dict[str, Any]:
    """An earlier turn as context: its text, and its images (audio stays behind, its transcript is the text)."""
    parts: list[dict[str, Any]] = [{"text": message.text}] if message.text else []
    parts += [
        {"inline_data": {"mime_type": p.mime_type, "data": p.data}} for p in message.parts if p.kind == "image"
    ]
    return {"role": "model" if message.role == "assistant" else "user", "parts": parts or [{"text": ""}]}


def _to_output_rate(pcm: bytes, mime_type: str) -> bytes:
    """Reply audio at OUTPUT_RATE; Gemini says its rate in the MIME type (24 kHz today)."""
    rate = OUTPUT_RATE
    for field in mime_type.split(";"):
        key, _, value = field.strip().partition("=")
        if key == "rate" and value.isdigit():
            rate = int(value)
    if rate == OUTPUT_RATE:
        return pcm
    from ..media.pcm import resample

    return resample(pcm, rate, OUTPUT_RATE)

