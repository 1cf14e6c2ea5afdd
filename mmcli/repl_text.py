"""How the REPL reads a message out of what was typed: \"\"\" blocks, pastes.

Below the REPL, its slash commands and its line editor, which all need it.
"""

from __future__ import annotations

BLOCK_QUOTES = '"""'


def open_block(text: str) -> bool:
    """Whether ``text`` is a \"\"\" message still waiting for its closing \"\"\"."""
    stripped = text.strip()
    if not stripped.startswith(BLOCK_QUOTES):
        return False
    return not stripped[len(BLOCK_QUOTES) :].endswith(BLOCK_QUOTES)


def message_of(text: str) -> str:
    """The message an accepted input stands for: a \"\"\" block without its quotes; a paste
    without the line end it was copied with."""
    stripped = text.strip()
    if stripped.startswith(BLOCK_QUOTES):
        inner = stripped[len(BLOCK_QUOTES) :]
        if inner.endswith(BLOCK_QUOTES):
            inner = inner[: -len(BLOCK_QUOTES)]
        return inner.strip("\n")
    return text.rstrip("\r\n")
