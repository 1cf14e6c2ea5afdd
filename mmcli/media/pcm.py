"""Audio as the live APIs take it: 16-bit little-endian mono PCM at one rate.

WAV is read with the standard library (no PyAV import for the common case);
other formats go through ``mmcli.media.audio``, the conversion ``transcribe`` uses. Resampling is linear
interpolation in pure Python (no numpy, and ``audioop`` is gone in Python 3.13):
speech at 16-24 kHz needs no better, and an hour of audio converts in seconds.
"""

from __future__ import annotations

import array
import io
import sys
import wave

from ..conversation import Part

SAMPLE_WIDTH = 2  # bytes: 16-bit samples


def to_pcm(part: Part, rate: int) -> bytes:
    """The whole audio of ``part`` as 16-bit mono PCM at ``rate``."""
    if part.mime_type in ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"):
        decoded = _wav_pcm(part)
        if decoded is not None:
            samples, source_rate = decoded
            return resample(samples, source_rate, rate)
    return _decoded_pcm(part, rate)


def _wav_pcm(part: Part) -> tuple[bytes, int] | None:
    """Mono 16-bit samples and their rate; None for WAV encodings ``wave`` cannot read (float, say)."""
    try:
        with wave.open(io.BytesIO(part.data)) as reader:
            channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError):
        return None
    return _mono16(frames, channels, width), rate


def _mono16(frames: bytes, channels: int, width: int) -> bytes:
    if width == 1:  # unsigned 8-bit
        samples = array.array("h", ((b - 128) << 8 for b in frames))
    elif width == 2:
        samples = array.array("h")
        samples.frombytes(frames[: len(frames) - len(frames) % 2])
        if sys.byteorder == "big":
            samples.byteswap()
    else:  # 24- or 32-bit: keep the top 16 bits
        samples = array.array(
            "h", (int.from_bytes(frames[i + width - 2 : i + width], "little", signed=True)
                  for i in range(0, len(frames) - width + 1, width))
        )
    if channels > 1:
        usable = len(samples) - len(samples) % channels
        samples = array.array(
            "h", (sum(samples[i : i + channels]) // channels for i in range(0, usable, channels))
        )
    return _to_bytes(samples)


def _decoded_pcm(part: Part, rate: int) -> bytes:
    """Any other format: the same PyAV conversion `transcribe` uses (mmcli.media.audio)."""
    from .audio import to_pcm as decoded_pcm

    return decoded_pcm(part, rate)


def resample(pcm: bytes, source_rate: int, target_rate: int) -> bytes:
    """16-bit mono PCM from ``source_rate`` to ``target_rate`` by linear interpolation."""
    if source_rate == target_rate or not pcm:
        return pcm
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    count = len(samples)
    out_count = max(1, count * target_rate // source_rate)
    step = source_rate / target_rate
    last = count - 1
    out = array.array("h", bytes(2 * out_count))
    for i in range(out_count):
        position = i * step
        left = int(position)
        if left >= last:
            out[i] = samples[last]
            continue
        frac = position - left
        a = samples[left]
        out[i] = int(a + (samples[left + 1] - a) * frac)
    return _to_bytes(out)


def _to_bytes(samples: array.array) -> bytes:
    if sys.byteorder == "big":
        samples = array.array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def chunks(pcm: bytes, rate: int, seconds: float) -> list[bytes]:
    """``pcm`` cut into pieces of ``seconds`` of audio (the last one shorter)."""
    size = max(SAMPLE_WIDTH, int(rate * seconds) * SAMPLE_WIDTH)
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def duration(pcm: bytes, rate: int) -> float:
    return len(pcm) / (rate * SAMPLE_WIDTH)
