"""One `mmcli live` run: set everything up (failing early, before any connection,
on bad input), hold the conversation, and end it the DESIGN.md way: what was said
kept, the ``--json`` document printed, the exit code returned."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import terminal
from ..config import Config
from ..errors import EXIT_OK, MmcliError, interrupt_exit_code, report

STDIN_FD = 0  # read with os.read: a closed descriptor simply ends the input


def _stdin_is_terminal() -> bool:
    return terminal.current().stdin_isatty


def _stderr_is_terminal() -> bool:
    return terminal.current().stderr_isatty


@dataclass
class LiveRequest:
    model: str | None = None
    system: str | None = None
    session: str | None = None
    continue_: bool = False
    images: list[str] = field(default_factory=list)
    audio_in: str | None = None
    mic: bool = False
    speak: bool = False
    audio_out: str | None = None
    voice: str | None = None
    fast: bool = False
    json_output: bool = False


def run_live(config: Config, request: LiveRequest) -> int:
    from ..providers.live_base import OUTPUT_RATE, LiveOptions
    from ..providers.live_registry import choose_model, live_provider
    from ..request_options import Flags, options_for
    from .conversation import LiveConversation
    from .record import Transcript

    started = time.monotonic()
    store, info = _resume(config, request)
    cleanup: list[Any] = []
    try:
        # -m and -s, then a resumed session's, as every command settles them; the live wire takes
        # no sampling options, so a session's temperature waits for its next chat turn.
        flags = Flags(model=request.model, system=request.system, fallback=())
        asked = options_for(config, flags, info, choose_model=choose_model)
        ref, system = asked.model, asked.system
        history = _context(store.messages(info.name), ref, system) if info is not None else []
        provider = live_provider(ref, config)
        inputs = _inputs(request, ref.provider, provider.live_input_rate)
        if request.mic:
            from .conversation import CHUNK_S
            from .devices import open_microphone

            inputs.device = open_microphone(provider.live_input_rate, CHUNK_S)
            cleanup.append(inputs.device)
        player = None
        if request.speak:
            from .devices import open_player

            player = open_player(OUTPUT_RATE)
            cleanup.append(player)
        session_name = info.name if info is not None else request.session
        if info is not None:
            # -m / -s on a resumed session become its settings; a chat session resumed live without
            # -m keeps its chat model, so `mmcli chat -c` still works on it afterwards.
            if request.model is not None and str(ref) != info.model:
                store.set_model(info.name, str(ref))
            if request.system is not None and system != info.system:
                store.set_system(info.name, system)
        transcript = Transcript(config, ref, system, session_name, store)
        store = None  # the transcript owns it now
        audio, text = _outputs(request, player)
        options = LiveOptions(
            model=ref.name, system=system, voice=request.voice, history=history,
            turn_detection="manual" if request.audio_in is not None else "server",
            vad_sensitivity=_vad_sensitivity(config, ref.provider),
        )
        conversation = LiveConversation(provider, options, transcript, inputs, audio, text, media_provider=ref.provider)
        cleanup.clear()  # from here on _converse closes everything
        return _converse(conversation, inputs, request, audio, text, started)
    finally:
        if store is not None:
            store.close()
        for device in cleanup:
            device.close()


def _resume(config: Config, request: LiveRequest) -> tuple[Any, Any]:
    """The session store and the session to resume (None when new or not asked for)."""
    if not (request.session or request.continue_):
        return None, None
    from ..errors import UsageError
    from ..store.sessions import SessionStore, valid_name

    store = SessionStore(config.data_dir)
    if request.session:
        valid_name(request.session)
        return store, store.get(request.session.strip())
    info = store.most_recent()
    if info is None:
        store.close()
        raise UsageError("There is no session to continue yet; start one with mmcli live -S NAME.")
    return store, info


def _vad_sensitivity(config: Config, provider: str) -> str | None:
    """``vad_sensitivity = "low" | "high"`` under ``[providers.NAME]`` in config.toml."""
    value = config.provider_option(provider, "vad_sensitivity")
    if value is None:
        return None
    if value.lower() not in ("low", "high"):
        from ..errors import ConfigError

        raise ConfigError(f"{config.path}: [providers.{provider}] vad_sensitivity must be \"low\" or \"high\".")
    return value.lower()


def _context(history: list[Any], ref: Any, system: str | None) -> list[Any]:
    """The earlier turns that fit the live model's context window, oldest left out first (with a note)."""
    if not history:
        return []
    from ..context_window import fit_to_model
    from ..conversation import Message, Part, Request

    # fit_to_model always keeps the newest turn: stand in for the one still to come.
    role = "assistant" if history[-1].role == "user" else "user"
    placeholder = Message(role=role, parts=[Part.of_text("")])
    fitted = fit_to_model(Request(model=ref, messages=[*history, placeholder], system=system), notify=report)
    return fitted.messages[:-1]


def _inputs(request: LiveRequest, provider: str, input_rate: int) -> Any:
    """Images and audio loaded and converted before connecting: a bad file is exit 2 at once."""
    from .. import media
    from ..media import pcm
    from ..providers.registry import media_limits_of
    from .conversation import Inputs

    inputs = Inputs(fast=request.fast)
    if request.images:
        limits = media_limits_of(provider)
        inputs.images = [media.prepare(media.load(source, expect="image"), limits) for source in request.images]
    if request.audio_in is not None:
        inputs.audio = media.load(request.audio_in, expect="audio")
        inputs.audio_pcm = pcm.to_pcm(inputs.audio, input_rate)
        if not inputs.audio_pcm:
            from ..errors import UsageError

            raise UsageError(f"{request.audio_in} holds no audio.")
    return inputs


def _outputs(request: LiveRequest, player: Any) -> tuple[Any, Any]:
    from .output import AudioOutput, TextOutput, WavWriter

    wav = WavWriter(Path(request.audio_out)) if request.audio_out else None
    typing_at_prompt = request.audio_in is None and not request.mic and _stdin_is_terminal() and _stderr_is_terminal()
    text = TextOutput(
        None if request.json_output else sys.stdout,
        sys.stderr if _stderr_is_terminal() else None,
        prompt="> " if typing_at_prompt else None,
    )
    return AudioOutput(wav, player), text


def _converse(conversation: Any, inputs: Any, request: LiveRequest, audio: Any, text: Any, started: float) -> int:
    finish_reason, error, code = "stop", None, EXIT_OK
    try:
        asyncio.run(_main(conversation, inputs, request, text))
    except KeyboardInterrupt as exc:  # Ctrl-C, and SIGTERM or SIGHUP (errors.Terminated): 130, 143, 129
        finish_reason, code = "interrupted", interrupt_exit_code(exc)
    except MmcliError as exc:
        finish_reason, error, code = "error", exc.message, exc.exit_code
    transcript = conversation.transcript
    try:
        # An answer still arriving when the server closed the session was cut short: an error ending.
        conversation.finish("error" if conversation.ended_by_server and code == EXIT_OK else finish_reason)
    finally:
        audio.close(drain=code == EXIT_OK)
        text.close()
        if inputs.device is not None:
            inputs.device.close()
    if conversation.ended_by_server and code == EXIT_OK:
        report(f"{transcript.model.provider} ended the live session.")
    if error is not None:
        report(error)
    elif finish_reason == "interrupted":
        report("Interrupted.")
    if request.json_output:
        from ..stdio import print_json

        first_audio = audio.latencies[0] if audio.latencies else None
        print_json(
            transcript.document(
                audio_out=os.path.abspath(request.audio_out) if request.audio_out else None,
                total_s=time.monotonic() - started, first_audio_s=first_audio,
                finish_reason=finish_reason, error=error,
            )
        )
    transcript.close()
    return code


async def _main(conversation: Any, inputs: Any, request: LiveRequest, text: Any) -> None:
    """Inside the event loop: start the readers that feed it, then converse."""
    from .inputs import LineSource, MicrophonePump

    loop = asyncio.get_running_loop()
    if inputs.device is not None:
        inputs.microphone = MicrophonePump(loop, inputs.device)
        if _stdin_is_terminal():
            inputs.lines = LineSource(loop, STDIN_FD, on_prompt=None)
    elif inputs.audio is None:
        prompt = text.show_prompt if _stdin_is_terminal() and _stderr_is_terminal() else None
        inputs.lines = LineSource(loop, STDIN_FD, on_prompt=prompt)
    await conversation.run()
