"""Options and input handling shared by several commands, so `-m`, `-t`,
`-i` ... mean the same thing and read the same way everywhere."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ..completion import complete_models

if TYPE_CHECKING:
    from ..config import Config
    from ..conversation import Message, ModelRef

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

MAX_TEMPERATURE = 2.0
# Text piped into a prompt: far beyond any model's context window, small enough
# that `mmcli chat hi </dev/zero` is refused after a moment instead of filling memory.
MAX_PIPED_TEXT_BYTES = 20 * 1024 * 1024
_READ_CHUNK = 1024 * 1024


def check_temperature(value: float | None) -> None:
    from ..errors import UsageError

    if value is not None and not 0.0 <= value <= MAX_TEMPERATURE:
        raise UsageError(f"Temperature {value:g} is out of range; use a value from 0 to {MAX_TEMPERATURE:g}.")


def stdin_is_piped() -> bool:
    # No stdin at all (a closed descriptor under some CI runners) counts as nothing piped.
    return sys.stdin is not None and not sys.stdin.isatty()


def read_piped_text() -> str:
    """Piped stdin as text; binary or non-UTF-8 input is a usage error, not a crash."""
    from ..errors import UsageError

    data = _read_at_most(sys.stdin.buffer, MAX_PIPED_TEXT_BYTES)
    if data is None:
        raise UsageError(
            f"Standard input holds more than {MAX_PIPED_TEXT_BYTES // (1024 * 1024)} MB of text; "
            "pipe in less, or attach large documents with --file."
        )
    if b"\x00" in data:
        raise UsageError("Standard input looks binary, not text; pass images, audio or PDFs with -i, -a or --file.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"Standard input is not valid UTF-8 (byte {exc.start}); convert it to UTF-8 text first."
        ) from None


def _read_at_most(stream, limit: int) -> bytes | None:  # type: ignore[no-untyped-def]
    """Up to ``limit`` bytes of ``stream``; None as soon as there are more (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def combine_prompt(prompt: str | None, piped: str | None) -> str:
    """The prompt first, then the piped text as its subject (`git diff | mmcli chat "..."`)."""
    parts = [p for p in (prompt, piped) if p and p.strip()]
    return "\n\n".join(p.rstrip("\n") if p is piped else p for p in parts)


def user_message(
    text: str,
    *,
    images: list[str] | None = None,
    audio: list[str] | None = None,
    files: list[str] | None = None,
    videos: list[str] | None = None,
    fragments: list[str] | None = None,
    timeout: float | None = None,
) -> Message:
    """A user turn: the fragments (text context, `-f`), then the text, then every attachment,
    loaded and checked (a URL's download within ``timeout``)."""
    from ..conversation import Message, Part

    parts = []
    if fragments:
        from .. import fragments as fragment_module
        from ..engine import warn

        parts += fragment_module.load(fragments, timeout=timeout, notify=warn)
    parts += [Part.of_text(text)] if text else []
    sources = [("image", s) for s in images or ()] + [("audio", s) for s in audio or ()]
    sources += [("document", s) for s in files or ()] + [("video", s) for s in videos or ()]
    if sources:
        from .. import media

        parts += [_attachment(media, kind, source, timeout) for kind, source in sources]
    return Message(role="user", parts=parts)


def _attachment(media, kind: str, source: str, timeout: float | None = None):  # type: ignore[no-untyped-def]
    """-a, -v and --file take one kind; -i takes an image or a PDF (`mmcli chat -i report.pdf`)."""
    from ..errors import UsageError

    if kind == "document":
        try:
            return media.load(source, expect=kind, timeout=timeout)
        except UsageError as error:
            if "looks like text" in str(error) or "looks like plain text" in str(error):
                name = media.sources.display_name(source)
                raise UsageError(
                    f"{name} is text, not a PDF document; add text files as context with -f {source}."
                ) from None
            raise
    if kind != "image":
        return media.load(source, expect=kind, timeout=timeout)
    part = media.load(source, timeout=timeout)
    if part.kind not in ("image", "document"):
        name = media.sources.display_name(source)
        flag = "-v" if part.kind == "video" else "-a"
        raise UsageError(
            f"{name} is not an image or a PDF document (it looks like {part.kind}); attach it with {flag}."
        )
    return part


def video_options(fps: float | None, max_frames: int | None) -> dict[str, object]:
    """How videos become frames, as request options (so the cache key covers them)."""
    if fps is None and max_frames is None:
        return {}  # the common case: no need to import the media package
    from ..media import FPS_OPTION, MAX_FRAMES_OPTION

    options: dict[str, object] = {}
    if fps is not None:
        options[FPS_OPTION] = fps
    if max_frames is not None:
        options[MAX_FRAMES_OPTION] = max_frames
    return options


def resolve_models(specs: list[str] | None, config: Config) -> list[ModelRef]:
    from ..providers import registry

    return [registry.parse_model(spec, config) for spec in specs or ()]


def print_json(document: object) -> None:
    import json

    sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    sys.stdout.flush()


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


class Asking:
    """What a role and --schema settle before a request: flags beat the role."""

    def __init__(self, role: str | None, *, model: str | None, system: str | None, temperature: float | None,
                 schema: str | None) -> None:
        loaded = None
        if role:
            from .. import roles

            loaded = roles.load(role)
        self.role = loaded
        self.model = model if model is not None else (loaded.model if loaded else None)
        self.system = system if system is not None else (loaded.system if loaded else None)
        self.temperature = temperature if temperature is not None else (loaded.temperature if loaded else None)
        schema_text = schema if schema is not None else (loaded.schema if loaded else None)
        self.schema = parse_schema(schema_text)

    def prompt(self, text: str) -> str:
        return self.role.prompt(text) if self.role else text

    def options(self) -> dict[str, object]:
        from ..conversation import SCHEMA_OPTION

        return {SCHEMA_OPTION: self.schema} if self.schema is not None else {}


def parse_schema(value: str | None) -> dict[str, object] | None:
    """--schema's JSON Schema; a value that cannot be read is a usage error."""
    if value is None:
        return None
    from ..errors import UsageError
    from ..schema import SchemaError, parse

    try:
        return parse(value)
    except SchemaError as exc:
        raise UsageError(str(exc)) from None


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
