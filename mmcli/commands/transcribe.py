"""`mmcli transcribe`: speech to text, subtitles included, from audio of any length."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import exits_cleanly
from .common import ModelOption, NoCacheOption, NoStreamOption, TemperatureOption, _finite_seconds

if TYPE_CHECKING:
    from ..transcription.result import Transcript

EXAMPLES = """
Examples:

  mmcli transcribe interview.mp3

  mmcli transcribe talk.m4a --format srt -o talk.srt

  mmcli transcribe call.wav --format vtt --language de

  mmcli transcribe lecture.mp3 -m gemini:gemini-2.5-flash --format json

  mmcli transcribe memo.ogg --prompt "Names: Ngozi, Siobhán, Xiaoming"

  cat voice.wav | mmcli transcribe -
"""

# Transcribing a long file takes a while; unless --timeout says otherwise a
# request attempt may take at least this long (seconds).
MIN_TRANSCRIBE_TIMEOUT_S = 300.0

# Not common.TimeoutOption: the default differs, and the help says what it is.
TranscribeTimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        callback=_finite_seconds,
        metavar="SECONDS",
        help=f"Seconds per request attempt (default: timeout in config.toml, at least {MIN_TRANSCRIBE_TIMEOUT_S:g}).",
    ),
]


class Format(str, Enum):
    text = "text"
    json = "json"
    verbose_json = "verbose_json"
    srt = "srt"
    vtt = "vtt"


@exits_cleanly
def transcribe(
    audio: Annotated[str, typer.Argument(help="Audio file: a path, an http(s) URL, or - for stdin.", metavar="AUDIO")],
    model: ModelOption = None,
    format_: Annotated[
        Format,
        typer.Option(
            "-f",
            "--format",
            metavar="|".join(f.value for f in Format),
            case_sensitive=False,
            help="Transcript format: text, json (text + timestamped segments), verbose_json (whisper-1), "
            "srt or vtt subtitles.",
        ),
    ] = Format.text,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            help="Write the transcript to this file (new files 0600, written atomically).",
        ),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option("-l", "--language", metavar="CODE", help="Spoken language as an ISO 639-1 code (en, de, ...)."),
    ] = None,
    prompt: Annotated[
        str | None,
        typer.Option("-p", "--prompt", metavar="TEXT", help="Context or vocabulary hints: names, terms, spellings."),
    ] = None,
    temperature: TemperatureOption = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON document: the transcript with model, duration, usage and timings.",
        ),
    ] = False,
    no_stream: NoStreamOption = False,
    no_cache: NoCacheOption = False,
    timeout: TranscribeTimeoutOption = None,
) -> None:
    """Transcribe speech to text or subtitles; long recordings are split and transcribed in parallel."""
    import sys

    from .. import config as config_module
    from .. import media, terminal
    from ..errors import UsageError
    from ..providers.registry import parse_model
    from ..request_options import check_temperature
    from ..transcription import models
    from ..transcription.job import Options

    check_temperature(temperature)  # any provider's range, as compare checks it; then the model's own
    fmt = format_.value
    config = config_module.load()
    ref = models.choose(model, config, fmt)
    models.check_format(ref, fmt)
    models.fit_temperature(ref, temperature)  # the chosen model's own range, checked as chat checks it
    if language is not None and not language.strip():
        raise UsageError("The language is empty; give an ISO 639-1 code such as en or de.")
    # config.toml's fallbacks; those that cannot transcribe are skipped, with a note
    fallbacks = [parse_model(spec, config) for spec in config.fallback]
    part = media.load(audio, expect="audio")
    options = Options(fmt, language.strip() if language else None, prompt or None, temperature)
    stream = not (output or json_output or no_stream)
    transcript = _transcribe(part, ref, config, options, audio, timeout, stream=stream, fallbacks=fallbacks,
                             use_cache=not no_cache)

    if output:
        from ..output_file import write_output

        write_output(output, transcript.rendered())
        if terminal.current().stderr_isatty and not json_output:
            print(f"Wrote {output}.", file=sys.stderr)
    elif not json_output and not transcript.extra.get("streamed"):
        sys.stdout.write(transcript.rendered())
        sys.stdout.flush()
    if json_output:
        from .common import print_json

        print_json(transcript.to_json(audio, output))


transcribe.__doc__ = (transcribe.__doc__ or "") + "\n" + EXAMPLES


def _transcribe(part, ref, config, options, label: str, timeout: float | None, *, stream: bool, fallbacks, use_cache: bool) -> Transcript:  # type: ignore[no-untyped-def]  # noqa: E501
    import sys

    from ..transcription import models
    from ..transcription.job import Progress, transcribe

    if timeout is None:
        timeout = max(config.timeout, MIN_TRANSCRIBE_TIMEOUT_S)
    on_delta = None
    if stream and models.streams(ref, options.format):

        def on_delta(text: str) -> None:
            sys.stdout.write(text)
            sys.stdout.flush()

    name = "stdin" if label == "-" else label.rsplit("/", 1)[-1]
    transcript = transcribe(part, ref, config, options, fallbacks=fallbacks, use_cache=use_cache, timeout=timeout,
                            progress=Progress(name), on_delta=on_delta)
    if transcript.extra.get("streamed"):
        sys.stdout.write("\n")
        sys.stdout.flush()
    return transcript
