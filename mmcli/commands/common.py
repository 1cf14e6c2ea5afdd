"""Options and input handling shared by several commands, so `-m`, `-t`,
`-i` ... mean the same thing and read the same way everywhere."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..completion import complete_models

# The one way from flags to a Request lives below the commands (and the REPL), in request_options;
# these names stay here for the commands that import them.
from ..request_options import (
    MAX_TEMPERATURE,
    check_temperature,
    parse_schema,
    user_message,
    video_options,
)
from ..stdio import MAX_PIPED_TEXT_BYTES, print_json, read_piped_text, stdin_is_piped

ModelOption = Annotated[
    str | None,
    typer.Option(
        "-m",
        "--model",
        metavar="MODEL",
        help="provider:model, a bare model name, or an alias from config.toml.",
        autocompletion=complete_models,
    ),
]
SystemOption = Annotated[str | None, typer.Option("-s", "--system", metavar="TEXT", help="System prompt.")]
TemperatureOption = Annotated[
    float | None, typer.Option("-t", "--temperature", metavar="TEMP", help="Sampling temperature, 0 to 2.")
]
MaxTokensOption = Annotated[
    int | None, typer.Option("--max-tokens", min=1, metavar="N", help="Upper bound on the answer's length in tokens.")
]
ImageOption = Annotated[
    list[str] | None,
    typer.Option("-i", "--image", metavar="PATH", help="Image (path, URL or - for stdin); repeatable."),
]
AudioOption = Annotated[list[str] | None, typer.Option("-a", "--audio", metavar="PATH", help="Audio file; repeatable.")]
FileOption = Annotated[
    list[str] | None,
    typer.Option("--file", metavar="PATH", help="Document such as a PDF; repeatable (text files go with -f)."),
]
FragmentOption = Annotated[
    list[str] | None,
    typer.Option(
        "-f", "--fragment", metavar="PATH",
        help="Text context (path, directory, URL or - for stdin): files, a tree honouring .gitignore, a web page; "
        "repeatable.",
    ),
]
VideoOption = Annotated[
    list[str] | None,
    typer.Option(
        "-v", "--video", metavar="PATH",
        help="Video (path, URL or - for stdin): Gemini watches it, other models get frames.",
    ),
]
FpsOption = Annotated[
    float | None,
    typer.Option(
        "--fps", metavar="N", min=0.01, max=30, help="Video frames a second for image-only models (default 1)."
    ),
]
MaxFramesOption = Annotated[
    int | None,
    typer.Option("--max-frames", metavar="N", min=1, max=100, help="Most frames sent of a video (default 60)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of the answer.")]
NoStreamOption = Annotated[bool, typer.Option("--no-stream", help="Wait for the whole answer, then print it.")]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the response cache.")]
FallbackOption = Annotated[
    list[str] | None,
    typer.Option(
        "--fallback",
        metavar="MODEL",
        help="Model to try when the first fails (auth, rate limit, server); repeatable.",
        autocompletion=complete_models,
    ),
]


def _finite_seconds(value: float | None) -> float | None:
    # Click's FloatRange lets nan through (every comparison with nan is false) and inf
    # would mean "wait forever"; both are refused like any other out-of-range value.
    import math

    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number of seconds; give one such as 30.")
    return value


TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        callback=_finite_seconds,
        metavar="SECONDS",
        help="Seconds per request attempt (default: timeout in config.toml, else 60).",
    ),
]

__all__ = [
    "MAX_PIPED_TEXT_BYTES", "MAX_TEMPERATURE", "check_temperature", "combine_prompt", "parse_schema", "print_json",
    "read_piped_text", "stdin_is_piped", "user_message", "video_options",
]


def combine_prompt(prompt: str | None, piped: str | None) -> str:
    """The prompt first, then the piped text as its subject (`git diff | mmcli chat "..."`)."""
    parts = [p for p in (prompt, piped) if p and p.strip()]
    return "\n\n".join(p.rstrip("\n") if p is piped else p for p in parts)


# --- structured output, extraction, roles (DESIGN.md, "More inputs and everyday options") -------------

SchemaOption = Annotated[
    str | None,
    typer.Option(
        "--schema", metavar="SCHEMA",
        help="Answer as JSON fitting a JSON Schema: a file, inline JSON, or fields like 'name, age int, "
             "score float: description'. stdout is the JSON document.",
    ),
]
ExtractOption = Annotated[
    bool, typer.Option("-x", "--extract", help="Print only the first fenced code block of the answer, raw.")
]
ExtractAllOption = Annotated[
    bool, typer.Option("--extract-all", help="Print only the fenced code blocks of the answer, all of them.")
]
RoleOption = Annotated[
    str | None,
    typer.Option(
        "-r", "--role", metavar="NAME",
        help="A saved role (system prompt, model, temperature, schema, template); see mmcli roles list.",
    ),
]


def check_output_modes(schema: object, extract: bool, extract_all: bool) -> None:
    from ..errors import UsageError

    if schema is not None and (extract or extract_all):
        raise UsageError("--schema prints a JSON document; leave out -x/--extract-all.")


def print_data(data: object) -> None:
    """A --schema answer on stdout: the JSON document, on one line (JSON Lines for several)."""
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def print_extracted(text: str, *, every: bool) -> None:
    """-x / --extract-all: the code, raw; an answer without any is exit 1 with a note."""
    from ..errors import MmcliError
    from ..extract import extracted

    code = extracted(text, every=every)
    if code is None:
        raise MmcliError("The answer holds no fenced code block to extract; it is kept in the session.")
    sys.stdout.write(code)
    sys.stdout.flush()
