"""Standard input read as a prompt's text, and JSON documents written to stdout:
shared by the commands, the fragments (`-f -`) and the live conversation, so it
sits below all of them."""

from __future__ import annotations

import sys

# Text piped into a prompt: far beyond any model's context window, small enough
# that `mmcli chat hi </dev/zero` is refused after a moment instead of filling memory.
MAX_PIPED_TEXT_BYTES = 20 * 1024 * 1024
_READ_CHUNK = 1024 * 1024


def stdin_is_piped() -> bool:
    # No stdin at all (a closed descriptor under some CI runners) counts as nothing piped.
    from . import terminal

    return sys.stdin is not None and not terminal.current().stdin_isatty


def read_piped_text() -> str:
    """Piped stdin as text; binary or non-UTF-8 input is a usage error, not a crash."""
    from .errors import UsageError

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


def print_json(document: object) -> None:
    import json

    sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    sys.stdout.flush()
