"""Subtitle cues: reading and writing SRT and WebVTT, shifting cues in time and
building them from timestamped segments.

Cues are the common currency of every timestamped transcript: an SRT or VTT
file from a provider is parsed into cues, a chunk's cues are shifted by the
chunk's offset in the whole recording, and the joined list is written out
again, numbered afresh. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

__all__ = [
    "Cue",
    "cues_from_segments",
    "format_srt",
    "format_timestamp",
    "format_vtt",
    "parse_srt",
    "parse_timestamp",
    "parse_vtt",
    "shift",
]

# A cue with no usable end is shown this long (seconds).
_DEFAULT_CUE_S = 2.0
_ARROW = re.compile(r"^\s*(?P<start>[0-9:.,]+)\s*-->\s*(?P<end>[0-9:.,]+)(?P<settings>.*)$")


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from ``start`` to ``end`` seconds into the recording."""

    start: float
    end: float
    text: str


def parse_timestamp(value: object) -> float:
    """Seconds from ``HH:MM:SS,mmm``, ``HH:MM:SS.mmm``, ``MM:SS.mmm``, ``SS.mmm`` or a number.

    Raises ValueError for anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        if value != value or value < 0:  # NaN or negative
            raise ValueError(f"not a timestamp: {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip().replace(",", ".")
    fields = text.split(":")
    if not text or len(fields) > 3 or any(not f for f in fields):
        raise ValueError(f"not a timestamp: {value!r}")
    seconds = 0.0
    for field in fields:
        if not re.fullmatch(r"\d+(\.\d+)?", field):
            raise ValueError(f"not a timestamp: {value!r}")
        seconds = seconds * 60 + float(field)
    return seconds


def format_timestamp(seconds: float, *, separator: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT) or, with ``separator="."``, ``HH:MM:SS.mmm`` (WebVTT)."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def shift(cues: Iterable[Cue], offset: float) -> list[Cue]:
    """The cues moved ``offset`` seconds later (a chunk's place in the whole recording)."""
    return [replace(cue, start=cue.start + offset, end=cue.end + offset) for cue in cues]


def _tidy(cues: Iterable[Cue]) -> list[Cue]:
    """Cues in time order, without empty text, each ending after it starts.

    Players reject or hide a cue whose end is not after its start; such a cue
    is given until the next cue starts, or a default length.
    """
    ordered = sorted((c for c in cues if c.text.strip()), key=lambda c: c.start)
    tidy: list[Cue] = []
    for index, cue in enumerate(ordered):
        start = max(0.0, cue.start)
        end = cue.end
        if end <= start:
            following = ordered[index + 1].start if index + 1 < len(ordered) else None
            end = following if following is not None and following > start else start + _DEFAULT_CUE_S
        tidy.append(Cue(start, end, _clean_text(cue.text)))
    return tidy


def _clean_text(text: str) -> str:
    # A blank line ends a cue in both formats, so a cue's text may not contain one.
    lines = [line.strip() for line in text.strip().splitlines()]
    return "\n".join(line for line in lines if line)


def format_srt(cues: Iterable[Cue]) -> str:
    """SubRip: cues numbered from 1, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, a blank line after each."""
    blocks = [
        f"{number}\n{format_timestamp(cue.start)} --> {format_timestamp(cue.end)}\n{cue.text}\n"
        for number, cue in enumerate(_tidy(cues), start=1)
    ]
    return "\n".join(blocks)


def format_vtt(cues: Iterable[Cue]) -> str:
    """WebVTT: the ``WEBVTT`` header, then cues with ``HH:MM:SS.mmm`` times."""
    blocks = ["WEBVTT\n"]
    for cue in _tidy(cues):
        # "-->" inside cue text would be read as a timing line.
        text = cue.text.replace("-->", "->")
        start, end = format_timestamp(cue.start, separator="."), format_timestamp(cue.end, separator=".")
        blocks.append(f"{start} --> {end}\n{text}\n")
    return "\n".join(blocks)


def _blocks(text: str) -> list[list[str]]:
    """Blank-line separated blocks of lines, line endings and a BOM normalised away."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _cue_of(block: Sequence[str]) -> Cue | None:
    """The cue in a block whose timing line is its first or second line (after an id)."""
    for position in (0, 1):
        if position >= len(block):
            return None
        match = _ARROW.match(block[position])
        if match:
            try:
                start, end = parse_timestamp(match["start"]), parse_timestamp(match["end"])
            except ValueError:
                return None
            return Cue(start, end, "\n".join(block[position + 1 :]))
    return None


def parse_srt(text: str) -> list[Cue]:
    """Cues of an SRT document; blocks without a timing line are skipped."""
    return [cue for cue in map(_cue_of, _blocks(text)) if cue is not None]


def parse_vtt(text: str) -> list[Cue]:
    """Cues of a WebVTT document; the header, NOTE, STYLE and REGION blocks are skipped."""
    cues: list[Cue] = []
    for block in _blocks(text):
        first = block[0]
        if first.startswith(("WEBVTT", "NOTE", "STYLE", "REGION")) and "-->" not in first:
            continue
        cue = _cue_of(block)
        if cue is not None:
            cues.append(cue)
    return cues


def cues_from_segments(segments: Iterable[dict[str, object]]) -> list[Cue]:
    """Cues from ``{"start", "end", "text"}`` segments (seconds or timestamp strings).

    A segment whose times cannot be read is kept with the previous cue's end
    as its start, so no words are dropped.
    """
    cues: list[Cue] = []
    for segment in segments:
        text = str(segment.get("text") or "").strip()
        if not text:
            continue
        previous_end = cues[-1].end if cues else 0.0
        try:
            start = parse_timestamp(segment.get("start"))
        except ValueError:
            start = previous_end
        try:
            end = parse_timestamp(segment.get("end"))
        except ValueError:
            end = start
        cues.append(Cue(start, end, text))
    return cues
