"""`-x/--extract`: the fenced code blocks of a Markdown answer, raw, for pipelines
(`mmcli chat -x "a jq filter that sums .price" | tee f.jq`)."""

from __future__ import annotations

import re

# An opening fence: up to 3 spaces, then 3+ backticks or tildes and an optional info string.
_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})[^`]*$")


def code_blocks(text: str) -> list[str]:
    """Every fenced block's content in order; a block the answer never closed runs to the end."""
    blocks: list[str] = []
    fence: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if fence is None:
            match = _OPEN.match(line)
            if match:
                fence, lines = match.group(1), []
            continue
        stripped = line.strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            blocks.append("\n".join(lines))
            fence = None
        else:
            lines.append(line)
    if fence is not None:
        blocks.append("\n".join(lines))
    return blocks


def extracted(text: str, *, every: bool) -> str | None:
    """What -x (the first block) or --extract-all (all, a blank line between) prints; None when there is none."""
    blocks = code_blocks(text)
    if not blocks:
        return None
    chosen = blocks if every else blocks[:1]
    return "\n\n".join(block.rstrip("\n") for block in chosen) + "\n"
