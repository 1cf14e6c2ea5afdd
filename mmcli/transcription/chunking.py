"""Cutting long audio into pieces a provider takes in one request.

Pieces are cut on time boundaries and carry their offset in the recording, so
the transcripts can be joined with their timestamps shifted into place. WAV
is cut here with the standard ``wave`` module, sample-exact; any other format
needs ffmpeg, which re-encodes each piece to compact mono MP3 (16 kHz, the
rate speech models work at, so nothing they would use is lost).

The limits can be lowered (or raised) through the environment, for tests and
tuning: ``MMCLI_TRANSCRIBE_MAX_BYTES`` and ``MMCLI_TRANSCRIBE_MAX_SECONDS``.
"""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass, field

from ..conversation import Part
from ..errors import UsageError
from ..media_limits import GEMINI, OPENAI_TRANSCRIPTION_MAX_BYTES, VERTEX

MAX_BYTES_ENV = "MMCLI_TRANSCRIBE_MAX_BYTES"
MAX_SECONDS_ENV = "MMCLI_TRANSCRIBE_MAX_SECONDS"

# gpt-4o-transcribe and its siblings refuse audio longer than 1500 s whatever
# its size; pieces stay a little below that.
GPT4O_TRANSCRIBE_MAX_SECONDS = 1400.0
# Pieces made by ffmpeg: mono MP3 at this bitrate (bits per second).
_FFMPEG_BITRATE = 64_000
# Room for container overhead and bitrate wobble when sizing ffmpeg pieces.
_FFMPEG_SIZE_MARGIN = 0.9
_WAV_HEADER_BYTES = 44
_FFMPEG_TIMEOUT_S = 600


@dataclass(frozen=True)
class Limits:
    """What one request may carry. ``max_bytes`` None: any size (the Gemini file API)."""

    max_bytes: int | None
    max_seconds: float | None
    label: str


def limits_for(provider: str, model: str) -> Limits:
    """The provider's per-request limits for transcription, after environment overrides."""
    max_bytes: int | None
    max_seconds: float | None = None
    if provider == "gemini":
        # Above the inline limit the file API takes the audio whole: no size limit.
        max_bytes, label = None, "Gemini"
    elif provider == "vertex":
        max_bytes, label = VERTEX.max_request_bytes, "Vertex AI inline"
    else:
        max_bytes, label = OPENAI_TRANSCRIPTION_MAX_BYTES, "the transcription endpoint"
        if "whisper" not in model:
            max_seconds = GPT4O_TRANSCRIBE_MAX_SECONDS
    override_bytes = _env_number(MAX_BYTES_ENV)
    # For Gemini the byte limit decides between inline data and the file API, not splitting.
    if override_bytes is not None and provider != "gemini":
        max_bytes = int(override_bytes)
    override_seconds = _env_number(MAX_SECONDS_ENV)
    if override_seconds is not None:
        max_seconds = override_seconds
    return Limits(max_bytes, max_seconds, label)


def inline_limit(provider: str) -> int:
    """Gemini: the largest audio sent inline; larger files go through the file API."""
    override = _env_number(MAX_BYTES_ENV)
    if override is not None:
        return int(override)
    return int(GEMINI.max_request_bytes or 0) if provider == "gemini" else int(VERTEX.max_request_bytes or 0)


def _env_number(name: str) -> float | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0 or math.isinf(number):
        raise UsageError(f"{name} must be a positive number, not {value!r}.")
    return number


@dataclass
class Piece:
    """One request's worth of audio: where it starts in the recording, and how to get its bytes."""

    index: int
    offset_s: float
    duration_s: float | None
    read: Callable[[], Part]


@dataclass
class Plan:
    """The pieces of one recording; ``close()`` removes any temporary files."""

    pieces: list[Piece]
    duration_s: float | None
    _folder: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> Plan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wav_duration(data: bytes) -> float | None:
    """Seconds of PCM WAV audio, or None when ``wave`` cannot read it."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            rate = reader.getframerate()
            return reader.getnframes() / rate if rate else None
    except (wave.Error, EOFError, ValueError):
        return None


def plan(part: Part, limits: Limits) -> Plan:
    """Split ``part`` into pieces within ``limits``; a part that fits is one piece, untouched."""
    size = len(part.data)
    whole = Piece(0, 0.0, None, lambda: part)
    fits_size = limits.max_bytes is None or size <= limits.max_bytes
    if part.mime_type == "audio/wav":
        duration = wav_duration(part.data)
        if duration is not None:
            whole.duration_s = duration
            if fits_size and (limits.max_seconds is None or duration <= limits.max_seconds):
                return Plan([whole], duration)
            return _split_wav(part, limits, duration)
    if fits_size and limits.max_seconds is None:
        return Plan([whole], None)
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        if fits_size:
            return Plan([whole], None)  # the length is unknown without ffmpeg; let the provider judge
        raise UsageError(
            f"{_name(part)} is {_mb(size)}, more than the {_mb(limits.max_bytes or 0)} {limits.label} takes "
            "in one request, and splitting it needs ffmpeg; install ffmpeg (or convert the file to WAV, "
            "which mmcli splits itself)."
        )
    return _split_with_ffmpeg(part, limits, ffmpeg, fits_size)


def _name(part: Part) -> str:
    return "stdin" if part.source == "-" else part.source or "The audio"


def _mb(size: float) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


# -- WAV, with the wave module


def _split_wav(part: Part, limits: Limits, duration: float) -> Plan:
    with wave.open(io.BytesIO(part.data)) as reader:
        params = reader.getparams()
        frames = reader.readframes(params.nframes)
    frame_bytes = params.sampwidth * params.nchannels
    total = len(frames) // frame_bytes
    per_piece = total
    if limits.max_bytes is not None:
        per_piece = min(per_piece, (limits.max_bytes - _WAV_HEADER_BYTES) // frame_bytes)
    if limits.max_seconds is not None:
        per_piece = min(per_piece, int(limits.max_seconds * params.framerate))
    if per_piece < params.framerate:  # under a second per request cannot be transcribed usefully
        raise UsageError(
            f"The transcription limits ({MAX_BYTES_ENV}/{MAX_SECONDS_ENV}) leave less than a second "
            f"of {_name(part)} per request; raise them."
        )
    pieces = []
    for index, first in enumerate(range(0, total, per_piece)):
        count = min(per_piece, total - first)
        payload = frames[first * frame_bytes : (first + count) * frame_bytes]
        pieces.append(
            Piece(
                index,
                first / params.framerate,
                count / params.framerate,
                _wav_reader(payload, params, part.source),
            )
        )
    return Plan(pieces, duration)


def _wav_reader(payload: bytes, params: wave._wave_params, source: str) -> Callable[[], Part]:
    def read() -> Part:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as writer:
            writer.setnchannels(params.nchannels)
            writer.setsampwidth(params.sampwidth)
            writer.setframerate(params.framerate)
            writer.writeframes(payload)
        return Part(kind="audio", data=buffer.getvalue(), mime_type="audio/wav", source=source)

    return read


# -- everything else, with ffmpeg


def _split_with_ffmpeg(part: Part, limits: Limits, ffmpeg: str, fits_size: bool) -> Plan:
    folder = tempfile.TemporaryDirectory(prefix="mmcli-transcribe-")
    try:
        source = os.path.join(folder.name, "input")
        with open(source, "wb") as stream:
            stream.write(part.data)
        duration = _probe_duration(ffmpeg, source, _name(part))
        if fits_size and (limits.max_seconds is None or duration <= limits.max_seconds):
            folder.cleanup()
            return Plan([Piece(0, 0.0, duration, lambda: part)], duration)
        piece_s = duration
        if limits.max_bytes is not None:
            piece_s = min(piece_s, limits.max_bytes * _FFMPEG_SIZE_MARGIN / (_FFMPEG_BITRATE / 8))
        if limits.max_seconds is not None:
            piece_s = min(piece_s, limits.max_seconds)
        if piece_s < 1.0:
            raise UsageError(
                f"The transcription limits ({MAX_BYTES_ENV}/{MAX_SECONDS_ENV}) leave less than a second "
                f"of {_name(part)} per request; raise them."
            )
        count = max(1, math.ceil(duration / piece_s))
        pieces = [
            Piece(
                index,
                index * piece_s,
                min(piece_s, duration - index * piece_s),
                _ffmpeg_reader(ffmpeg, source, index * piece_s, piece_s, part),
            )
            for index in range(count)
        ]
    except BaseException:
        folder.cleanup()
        raise
    return Plan(pieces, duration, folder)


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")


def _probe_duration(ffmpeg: str, source: str, name: str) -> float:
    """The recording's length in seconds, from ffmpeg's report on its input."""
    try:
        result = subprocess.run(
            [ffmpeg, "-nostdin", "-hide_banner", "-i", source],
            capture_output=True,
            timeout=_FFMPEG_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UsageError(f"ffmpeg could not read {name} ({error}).") from None
    match = _DURATION.search(result.stderr.decode(errors="replace"))
    if match is None:
        raise UsageError(f"ffmpeg could not tell how long {name} is, so it cannot be split; convert it to WAV.")
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _ffmpeg_reader(ffmpeg: str, source: str, start: float, length: float, part: Part) -> Callable[[], Part]:
    def read() -> Part:
        command = [
            *(ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"),
            *("-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", source),
            *("-vn", "-map_metadata", "-1", "-ac", "1", "-ar", "16000"),
            *("-codec:a", "libmp3lame", "-b:a", str(_FFMPEG_BITRATE), "-f", "mp3", "pipe:1"),
        ]
        try:
            result = subprocess.run(command, capture_output=True, timeout=_FFMPEG_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise UsageError(f"ffmpeg could not cut {_name(part)} ({error}).") from None
        if result.returncode != 0 or not result.stdout:
            detail = result.stderr.decode(errors="replace").strip().splitlines()
            reason = detail[-1].rstrip(".") if detail else f"exit status {result.returncode}"
            raise UsageError(f"ffmpeg could not cut {_name(part)} ({reason}).")
        return Part(kind="audio", data=result.stdout, mime_type="audio/mpeg", source=part.source)

    return read
