"""`mmcli live`: a real-time conversation over Gemini Live or OpenAI Realtime."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import exits_cleanly
from .common import JsonOption, ModelOption, SystemOption

DETAILS = """
Type at the prompt and read the answers as they stream; /image PATH shows the model a picture;
Ctrl-D ends the conversation. With --mic, talk over the model to interrupt it (use headphones).
"""

EXAMPLES = """
Examples:

  mmcli live

  mmcli live --speak -m gemini:gemini-3.1-flash-live-preview

  mmcli live --mic --speak

  mmcli live --audio-in question.m4a --audio-out answer.wav --json

  cat questions.txt | mmcli live -m openai:gpt-realtime-2 > transcript.txt

  mmcli live -S kitchen -i fridge.jpg
"""


@exits_cleanly
def live(
    model: ModelOption = None,
    system: SystemOption = None,
    session: Annotated[
        str | None,
        typer.Option("-S", "--session", help="Named session: created, or resumed with its turns as context."),
    ] = None,
    continue_: Annotated[
        bool, typer.Option("-c", "--continue", help="Continue the most recently used session.")
    ] = False,
    image: Annotated[
        list[str] | None,
        typer.Option("-i", "--image", metavar="PATH", help="Image to show the model first (path, URL, -); repeatable."),
    ] = None,
    audio_in: Annotated[
        str | None,
        typer.Option("--audio-in", metavar="FILE", help="Say this audio file (- for stdin) as one turn, then end."),
    ] = None,
    mic: Annotated[bool, typer.Option("--mic", help="Talk through the microphone (needs mmcli[audio]).")] = False,
    speak: Annotated[bool, typer.Option("--speak", help="Play the replies aloud (needs mmcli[audio]).")] = False,
    audio_out: Annotated[
        str | None, typer.Option("--audio-out", metavar="FILE", help="Write every reply's audio to this WAV file.")
    ] = None,
    voice: Annotated[str | None, typer.Option("--voice", metavar="NAME", help="The provider's voice name.")] = None,
    fast: Annotated[
        bool, typer.Option("--fast", help="Send --audio-in as fast as the socket takes it, not at real-time pace.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Talk with a model in real time: typed or piped lines, an audio file, or the microphone."""
    from .. import config as config_module
    from ..errors import UsageError

    if session and continue_:
        raise UsageError("Give either -S NAME (a named session) or -c (the most recent one), not both.")
    if audio_in is not None and mic:
        raise UsageError("Give either --audio-in FILE or --mic, not both.")
    if "-" in (image or []) and audio_in == "-":
        raise UsageError("Only one of -i and --audio-in can read stdin.")
    config = config_module.load()
    from ..live.run import LiveRequest, run_live

    request = LiveRequest(
        model=model, system=system, session=session, continue_=continue_, images=image or [],
        audio_in=audio_in, mic=mic, speak=speak, audio_out=audio_out, voice=voice, fast=fast,
        json_output=json_output,
    )
    raise typer.Exit(run_live(config, request))


live.__doc__ = (live.__doc__ or "") + "\n" + DETAILS + EXAMPLES
