"""What a batch asks: the lines of a REQUESTS.jsonl file, or the images of
`analyze-image --batch`, as items that build the same ``Request`` chat and
analyze-image would.

Lines are read one at a time and each item loads its images only when built,
so ten thousand requests never sit in memory together.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from ..conversation import Message, Part, Request
from ..errors import UsageError
from ..request_options import RequestOptions

KEYS = ("id", "prompt", "images", "system")


@dataclass(frozen=True)
class Item:
    request_id: str
    paths: list[str] | None  # the images as given, for the results' "path"
    build: Callable[[], Request]  # loads and checks the media; raises UsageError
    label: str | None  # prefixed to a failure's sentence ("prompts.jsonl line 3"), None when it names itself


def _request(options: RequestOptions, parts: list[Part], system: str | None) -> Request:
    """One line's Request: the batch's options, with the line's own system prompt when it has one."""
    from ..request_options import build_request

    if system != options.system:
        options = replace(options, system=system)
    return build_request(options, [Message(role="user", parts=parts)])


def from_file(source: str, options: RequestOptions) -> Iterator[Item]:
    """The requests of REQUESTS.jsonl (or - for stdin): one JSON object per line, blank lines skipped."""
    name = "stdin" if source == "-" else source
    base = Path.cwd() if source == "-" else Path(source).expanduser().parent
    stream = _open(source)
    seen: dict[str, int] = {}
    try:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            label = f"{name} line {number}"
            fields = _parse(raw, label)
            request_id = _request_id(fields, number, label)
            if request_id in seen:
                raise UsageError(
                    f"{label}: the id '{request_id}' is already used on line {seen[request_id]}; ids must be unique."
                )
            seen[request_id] = number
            yield _line_item(fields, request_id, label, base, options)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def from_images(sources: list[str], prompt: str, options: RequestOptions) -> Iterator[Item]:
    """One request per image (`analyze-image --batch`): the prompt, then the image, as analyze-image asks."""
    for number, source in enumerate(sources, start=1):

        def build(source: str = source) -> Request:
            from .. import media

            return _request(options, [Part.of_text(prompt), media.load(source, expect="image")], options.system)

        yield Item(request_id=str(number), paths=[source], build=build, label=None)


def _open(source: str) -> IO[bytes]:
    if source == "-":
        return sys.stdin.buffer
    path = Path(source).expanduser()
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise UsageError(f"{source} does not exist; give a JSONL file of requests, one per line.") from None
    except IsADirectoryError:
        raise UsageError(f"{source} is a directory; give a JSONL file of requests, one per line.") from None
    except OSError as exc:
        raise UsageError(f"Cannot read {source}: {exc.strerror or exc}.") from None


def _parse(raw: bytes, label: str) -> dict[str, object]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{label} is not valid UTF-8 (byte {exc.start}); save the file as UTF-8.") from None
    try:
        fields = json.loads(text)
    except ValueError as exc:
        detail = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise UsageError(
            f'{label} is not valid JSON ({detail}); each line is an object like {{"prompt": "..."}}.'
        ) from None
    if not isinstance(fields, dict):
        raise UsageError(f'{label} is not a JSON object; each line is an object like {{"prompt": "..."}}.')
    unknown = [key for key in fields if key not in KEYS]
    if unknown:
        raise UsageError(f"{label} has an unknown key '{unknown[0]}'; a line takes {', '.join(KEYS)}.")
    return fields


def _request_id(fields: dict[str, object], number: int, label: str) -> str:
    value = fields.get("id")
    if value is None:
        return str(number)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UsageError(f"{label}: 'id' must be a string (or a number), not {json.dumps(value)}.")
    request_id = str(value)
    if not request_id.strip():
        raise UsageError(f"{label}: 'id' is empty; leave it out to use the line number.")
    return request_id


def _line_item(fields: dict[str, object], request_id: str, label: str, base: Path, options: RequestOptions) -> Item:
    prompt = fields.get("prompt")
    images = fields.get("images")
    system = fields.get("system")
    if prompt is not None and not isinstance(prompt, str):
        raise UsageError(f"{label}: 'prompt' must be a string.")
    if images is not None and not (isinstance(images, list) and all(isinstance(i, str) for i in images)):
        raise UsageError(f"{label}: 'images' must be a list of paths or URLs.")
    if system is not None and not isinstance(system, str):
        raise UsageError(f"{label}: 'system' must be a string.")
    paths = list(images or [])
    if not (prompt or "").strip() and not paths:
        raise UsageError(f'{label} has no prompt; give "prompt" (and "images" if any).')
    if "-" in paths:
        raise UsageError(f"{label}: an image cannot be - (stdin) in a requests file; give its path.")

    def build() -> Request:
        from ..request_options import user_message

        text = prompt or ""
        if text:
            text = options.prompt(text)  # a role's template, around each line's prompt
        message = user_message(text, images=[_located(p, base) for p in paths])
        return _request(options, message.parts, system if system is not None else options.system)

    return Item(request_id=request_id, paths=paths or None, build=build, label=label)


def _located(path: str, base: Path) -> str:
    """A relative image path as given when it exists from here, else next to the requests file."""
    if "://" in path or Path(path).expanduser().is_absolute() or Path(path).expanduser().exists():
        return path
    beside = base / path
    return str(beside) if beside.exists() else path
