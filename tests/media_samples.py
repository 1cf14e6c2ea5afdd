"""Real media made on the spot with PyAV (nothing binary is committed): audio in
every container/codec pair mmcli reads, short videos, and broken variants.

Audio is a 440 Hz tone with silent pauses where a test wants them, so that a
test can tell where a recording was cut.
"""

from __future__ import annotations

import io
import math
from array import array
from fractions import Fraction

import av

# (container format, codec, sample rate, MIME type mmcli should see)
AUDIO_FORMATS = {
    "mp3": ("mp3", "mp3", 44_100, "audio/mpeg"),
    "m4a": ("ipod", "aac", 44_100, "audio/mp4"),
    "ogg": ("ogg", "libopus", 48_000, "audio/ogg"),
    "opus": ("opus", "libopus", 48_000, "audio/ogg"),
    "webm": ("webm", "libopus", 48_000, "audio/webm"),
    "mka": ("matroska", "flac", 44_100, "audio/x-matroska"),
    "flac": ("flac", "flac", 44_100, "audio/flac"),
    "wav": ("wav", "pcm_s16le", 16_000, "audio/wav"),
    "aiff": ("aiff", "pcm_s16be", 16_000, "audio/aiff"),
    "aac": ("adts", "aac", 44_100, "audio/aac"),
}

# (container format, codec, pixel format, MIME type mmcli should see)
VIDEO_FORMATS = {
    "mp4": ("mp4", "h264", "yuv420p", "video/mp4"),
    "webm": ("webm", "libvpx", "yuv420p", "video/webm"),
    "mov": ("mov", "mpeg4", "yuv420p", "video/quicktime"),
    "mkv": ("matroska", "mpeg4", "yuv420p", "video/x-matroska"),
    "avi": ("avi", "mpeg4", "yuv420p", "video/avi"),
}


def tone(seconds: float, rate: int, pauses: tuple[tuple[float, float], ...] = (), amplitude: int = 8000) -> bytes:
    """16-bit mono PCM: a 440 Hz tone, silent during each (start, end) pause."""
    samples = array("h", bytes(int(seconds * rate) * 2))
    for index in range(len(samples)):
        t = index / rate
        if not any(start <= t < end for start, end in pauses):
            samples[index] = int(amplitude * math.sin(2 * math.pi * 440 * t))
    return samples.tobytes()


def encode_audio(pcm: bytes, rate: int, ext: str) -> bytes:
    """16-bit mono PCM at ``rate`` as a file of type ``ext`` (a key of AUDIO_FORMATS)."""
    container, codec, out_rate, _ = AUDIO_FORMATS[ext]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=out_rate, layout="mono")
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm)
        frame.rate = rate
        frame.pts = 0
        frame.time_base = Fraction(1, rate)
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=out_rate)
        for converted in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def audio_file(ext: str, seconds: float = 1.0, pauses: tuple[tuple[float, float], ...] = ()) -> bytes:
    rate = 16_000
    return encode_audio(tone(seconds, rate, pauses), rate, ext)


def decoded_seconds(data: bytes) -> float:
    """How long ``data`` plays, decoded (what a transcription server would hear)."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16_000)
        samples = 0
        for frame in container.decode(stream):
            samples += sum(f.samples for f in resampler.resample(frame))
        samples += sum(f.samples for f in resampler.resample(None))
    return samples / 16_000


def video_file(ext: str = "mp4", seconds: float = 3.0, fps: int = 10, size: tuple[int, int] = (160, 120),
               with_audio: bool = False) -> bytes:
    """A video whose colour says the time: red is 40 x the second it is in (frame at 2.x s: red 80)."""
    container, codec, pix_fmt, _ = VIDEO_FORMATS[ext]
    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        sound = out.add_stream("aac" if ext in ("mp4", "mov") else "libopus", rate=48_000) if with_audio else None
        for index in range(int(seconds * fps)):
            second = index // fps
            frame = av.VideoFrame(width, height, "rgb24")
            frame.planes[0].update(bytes([min(255, 40 * second), 90, 160]) * (width * height))
            frame = frame.reformat(format=pix_fmt)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if sound is not None:
            pcm = tone(seconds, 48_000)
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
            frame.planes[0].update(pcm)
            frame.rate, frame.pts, frame.time_base = 48_000, 0, Fraction(1, 48_000)
            resampler = av.AudioResampler(format=sound.codec_context.format.name, layout=sound.layout.name,
                                          rate=48_000)
            for converted in resampler.resample(frame) + resampler.resample(None):
                for packet in sound.encode(converted):
                    out.mux(packet)
            for packet in sound.encode(None):
                out.mux(packet)
    return buffer.getvalue()
