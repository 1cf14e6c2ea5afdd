"""Audio made in the tests: sine tones and silence as 16-bit mono PCM, and WAV files of them."""

from __future__ import annotations

import array
import io
import math
import sys
import wave
from pathlib import Path


def tone(seconds: float, rate: int, *, frequency: float = 440.0, amplitude: int = 8000) -> bytes:
    count = int(seconds * rate)
    samples = array.array("h", (int(amplitude * math.sin(2 * math.pi * frequency * i / rate)) for i in range(count)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def silence(seconds: float, rate: int) -> bytes:
    return bytes(2 * int(seconds * rate))


def wav_bytes(pcm: bytes, rate: int, *, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


def write_wav(path: Path, pcm: bytes, rate: int, *, channels: int = 1) -> Path:
    path.write_bytes(wav_bytes(pcm, rate, channels=channels))
    return path


def loudness(pcm: bytes) -> float:
    """Root mean square of 16-bit samples: tells speech (a tone) from silence."""
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))
