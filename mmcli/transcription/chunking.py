"""Cutting long audio into pieces a provider takes in one request.

Pieces carry their offset in the recording, so the transcripts can be joined
with their timestamps shifted into place. Each cut is made near its boundary
at the quietest moment, when that moment is clearly a pause, so that no word
is cut in two. WAV is cut sample-exact with the standard ``wave`` module; any
other format is decoded with PyAV (no system ffmpeg needed) and each piece
re-encoded as compact mono MP3 at 16 kHz, the rate speech models work at.

The limits can be lowered (or raised) through the environment, for tests and
tuning: ``MMCLI_TRANSCRIBE_MAX_BYTES`` and ``MMCLI_TRANSCRIBE_MAX_SECONDS``.
"""

from __future__ import annotations

import io
import math
import os
import wave
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from ..conversation import Part
from ..errors import UsageError

MAX_BYTES_ENV = "MMCLI_TRANSCRIBE_MAX_BYTES"
MAX_SECONDS_ENV = "MMCLI_TRANSCRIBE_MAX_SECONDS"

# Room for container overhead and bitrate wobble when sizing re-encoded pieces.
_SIZE_MARGIN = 0.9
_WAV_HEADER_BYTES = 44
# Where a cut may move to: at most this far before its boundary (and a fifth of a piece).
SEARCH_BACK_S = 30.0
# Levels are compared over windows this long (seconds)...
_LEVEL_WINDOW_S = 0.02
# ...and a window is a pause when its RMS level is below this (about -36 dBFS),
# or below this fraction of the search range's median (speech over background noise).
_PAUSE_RMS = 520
_PAUSE_OF_MEDIAN = 0.25


@dataclass(frozen=True)
class Limits:
    """What one request may carry. ``max_bytes`` None: any size (the provider uploads
    audio above ``upload_above`` bytes through its file API)."""

    max_bytes: int | None
    max_seconds: float | None
    label: str
    upload_above: int | None = None


def limits_for(provider: str, model: str) -> Limits:
    """The provider's per-request limits for transcription (as it declares them), after
    environment overrides."""
    from ..providers import speech

    cls = speech.transcribing_class(provider)
    if cls is None:
        raise UsageError(f"{provider}:{model} cannot take audio; transcribe with {speech.SUGGESTIONS['text']}.")
    declared = cls.transcription_limits_of(model)
    max_bytes, max_seconds, upload_above = declared.max_bytes, declared.max_seconds, declared.upload_above
    override_bytes = _env_number(MAX_BYTES_ENV)
    if override_bytes is not None:
        # Where the provider uploads large audio, the byte limit decides between inline data
        # and the file API, not splitting.
        if upload_above is not None:
            upload_above = int(override_bytes)
        else:
            max_bytes = int(override_bytes)
    override_seconds = _env_number(MAX_SECONDS_ENV)
    if override_seconds is not None:
        max_seconds = override_seconds
    return Limits(max_bytes, max_seconds, declared.label, upload_above)


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
    """The pieces of one recording (a context manager, so that callers need not
    change if pieces are ever spooled to disk)."""

    pieces: list[Piece]
    duration_s: float | None

    def close(self) -> None:
        self.pieces = []

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
    if fits_size and limits.max_seconds is None:
        return Plan([whole], None)
    if part.mime_type == "audio/wav":
        duration = wav_duration(part.data)
        if duration is not None:
            whole.duration_s = duration
            if fits_size and (limits.max_seconds is None or duration <= limits.max_seconds):
                return Plan([whole], duration)
            return _split_wav(part, limits, duration)
    from ..media import audio

    duration = audio.duration(part)
    if fits_size and (limits.max_seconds is None or duration <= limits.max_seconds):
        whole.duration_s = duration
        return Plan([whole], duration)
    return _split_decoded(part, limits)


def _name(part: Part) -> str:
    return "stdin" if part.source == "-" else part.source or "The audio"


def _too_short(part: Part) -> UsageError:
    return UsageError(
        f"The transcription limits ({MAX_BYTES_ENV}/{MAX_SECONDS_ENV}) leave less than a second "
        f"of {_name(part)} per request; raise them."
    )


# -- where to cut


def quiet_cut(levels: array, rate: int, first: int, last: int) -> int | None:
    """The sample (between ``first`` and ``last``) in the middle of the longest pause, or None.

    ``levels`` holds 16-bit mono samples. A pause is a run of windows whose
    level is clearly low; None when there is none (steady music or noise):
    then the boundary itself is used.
    """
    step = max(1, int(rate * _LEVEL_WINDOW_S))
    first = max(0, first)
    last = min(last, len(levels))
    if last - first < 2 * step:
        return None
    starts = range(first, last - step + 1, step)
    # Every fourth sample is plenty to tell a pause from speech, at a quarter of the cost.
    energies = [sum(x * x for x in levels[start : start + step : 4]) / len(range(0, step, 4)) for start in starts]
    median = sorted(energies)[len(energies) // 2]
    quiet = max(_PAUSE_RMS**2, _PAUSE_OF_MEDIAN**2 * median)
    best: tuple[int, int] | None = None  # (length, index of the run's first window)
    run = 0
    for index, energy in enumerate(energies):
        run = run + 1 if energy <= quiet else 0
        if run and (best is None or run >= best[0]):  # the latest of equal pauses: longer pieces
            best = (run, index - run + 1)
    if best is None:
        return None
    length, begin = best
    return starts[begin] + (length * step) // 2


def _samples(pcm: bytes | bytearray | memoryview) -> array:
    levels = array("h")
    levels.frombytes(bytes(pcm[: len(pcm) // 2 * 2]))
    return levels


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
        raise _too_short(part)
    back = int(min(SEARCH_BACK_S, per_piece / params.framerate / 5) * params.framerate)
    pieces = []
    first = 0
    while first < total:
        end = min(total, first + per_piece)
        if end < total and params.sampwidth == 2:  # levels of 16-bit audio, first channel, near the boundary only
            since = max(first, end - back)
            levels = _samples(frames[since * frame_bytes : end * frame_bytes])[:: params.nchannels]
            cut = quiet_cut(levels, params.framerate, 0, len(levels))
            end = end if cut is None else since + cut
        payload = frames[first * frame_bytes : end * frame_bytes]
        pieces.append(
            Piece(len(pieces), first / params.framerate, (end - first) / params.framerate,
                  _wav_reader(payload, params, part.source))
        )
        first = end
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


# -- everything else, with PyAV


def _split_decoded(part: Part, limits: Limits) -> Plan:
    """Decode once to 16 kHz mono, cut at pauses near each boundary, encode each piece as MP3.

    Only one piece of PCM is held at a time (a 25-minute piece is 48 MB).
    """
    from ..media import audio

    rate = audio.CONVERTED_RATE
    piece_s = float("inf")
    if limits.max_bytes is not None:
        piece_s = limits.max_bytes * _SIZE_MARGIN / (audio.CONVERTED_BITRATE / 8)
    if limits.max_seconds is not None:
        piece_s = min(piece_s, limits.max_seconds)
    if piece_s < 1.0:
        raise _too_short(part)
    per_piece = int(piece_s * rate)
    back = int(min(SEARCH_BACK_S, piece_s / 5) * rate)
    encoded: list[tuple[int, int, bytes]] = []  # (first sample, samples, MP3 bytes)
    buffer = bytearray()
    start = 0

    def emit(count: int) -> None:
        nonlocal start
        pcm = bytes(buffer[: count * 2])
        del buffer[: count * 2]
        encoded.append((start, count, audio.encode(pcm, rate)))
        start += count

    for chunk in audio.pcm_chunks(part, rate):
        buffer += chunk
        while len(buffer) // 2 > per_piece:
            levels = _samples(memoryview(buffer)[(per_piece - back) * 2 : per_piece * 2])
            cut = quiet_cut(levels, rate, 0, len(levels))
            emit(per_piece if cut is None else per_piece - back + cut)
    if buffer:
        emit(len(buffer) // 2)
    pieces = [
        Piece(index, first / rate, count / rate, _mp3_reader(data, part.source))
        for index, (first, count, data) in enumerate(encoded)
    ]
    return Plan(pieces, (start) / rate)


def _mp3_reader(data: bytes, source: str) -> Callable[[], Part]:
    return lambda: Part(kind="audio", data=data, mime_type="audio/mpeg", source=source)
