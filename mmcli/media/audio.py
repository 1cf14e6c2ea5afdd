"""Audio: decoding, resampling and encoding through PyAV (FFmpeg's libraries,
bundled in its wheels, so no system ffmpeg is needed), and shaping audio for
one provider.

PyAV costs ~65 ms to import, so it is imported only inside the functions that
decode or encode: ``load`` (and so a cache hit) uses only ``quick_problem``,
which reads headers by hand. Anything PyAV cannot decode is refused with one
``UsageError`` sentence naming the file.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..conversation import Part
from ..errors import UsageError
from .describe import display_name, reason_text
from .limits import ProviderLimits
from .sniff import id3_end, iso_media_problem, mpeg_frame_length

__all__ = ["MIME_TO_AUDIO_FORMAT", "audio_format", "duration", "encode", "pcm_chunks", "to_pcm"]

# OpenAI's ``input_audio`` needs a format word, and file names a matching suffix.
MIME_TO_AUDIO_FORMAT: dict[str, str] = {
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/flac": "flac",
    "audio/ogg": "ogg",
    "audio/aac": "aac",
    "audio/x-aac": "aac",
    "audio/mp4": "m4a",
    "audio/webm": "webm",
    "audio/x-matroska": "mka",
    "audio/aiff": "aiff",
}

# Converted audio: MP3 is the one format every audio-taking provider accepts;
# mono at 16 kHz is what speech models work at, and 64 kbit/s keeps speech
# clear at 8 KB a second (25 MB is 54 minutes).
CONVERTED_RATE = 16_000
CONVERTED_BITRATE = 64_000
# Samples handed to the encoder at a time (a second at 16 kHz).
_PCM_BLOCK = 16_000


def audio_format(part: Part) -> str:
    """The short format name ("wav", "mp3", ...) of an audio part, as OpenAI's ``input_audio`` wants."""
    try:
        return MIME_TO_AUDIO_FORMAT[part.mime_type]
    except KeyError:
        raise ValueError(f"not an audio MIME type mmcli knows: {part.mime_type!r}") from None


# -- decoding ----------------------------------------------------------------------------------------------------


def _open(source: Part | str | Path) -> tuple[Any, str]:
    """An open PyAV container and the name messages use; UsageError when it is not media at all."""
    import av

    if isinstance(source, Part):
        name, target = display_name(source.source) or "the audio", io.BytesIO(source.data)
    else:
        name, target = str(source), str(source)
    try:
        return av.open(target, "r"), name
    except FileNotFoundError:
        raise UsageError(f"{name} does not exist.") from None
    except (av.FFmpegError, OSError, ValueError) as error:
        raise UsageError(f"{name} could not be decoded as audio ({_why(error)}).") from None


def _why(error: BaseException) -> str:
    """FFmpeg's reason without its errno and file name decorations."""
    text = getattr(error, "strerror", None) or str(error)
    return reason_text(text.split(": '")[0]) if isinstance(text, str) else reason_text(error)


def duration(source: Part | str | Path) -> float:
    """Seconds of audio (or video), from the container's header; decodes when the header does not say."""
    container, name = _open(source)
    with container:
        if container.duration:
            return container.duration / 1_000_000
        streams = container.streams.audio or container.streams.video
        if streams and streams[0].duration and streams[0].time_base:
            return float(streams[0].duration * streams[0].time_base)
    return sum(len(chunk) for chunk in pcm_chunks(source, 8000)) / 2 / 8000


def pcm_chunks(source: Part | str | Path, rate: int) -> Iterator[bytes]:
    """The first audio track as 16-bit little-endian mono PCM at ``rate``, in decoded pieces.

    A damaged packet here and there is skipped, as players do; a file with no
    decodable audio at all is a UsageError.
    """
    import av

    container, name = _open(source)
    with container:
        if not container.streams.audio:
            raise UsageError(f"{name} has no audio track.")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        produced = failures = 0
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.FFmpegError:
                    failures += 1
                    continue
                for frame in frames:
                    for out in resampler.resample(frame):
                        produced += out.samples
                        yield bytes(out.planes[0])[: out.samples * 2]
            for out in resampler.resample(None):
                produced += out.samples
                yield bytes(out.planes[0])[: out.samples * 2]
        except av.FFmpegError as error:
            if not produced:
                raise UsageError(f"{name} could not be decoded as audio ({_why(error)}).") from None
        if not produced:
            detail = "every audio packet is damaged" if failures else "it holds no audio samples"
            raise UsageError(f"{name} could not be decoded as audio ({detail}).")


def to_pcm(source: Part | str | Path, rate: int) -> bytes:
    """Any audio mmcli reads as 16-bit mono PCM at ``rate`` (what live audio input sends)."""
    return b"".join(pcm_chunks(source, rate))


# -- encoding ----------------------------------------------------------------------------------------------------


def encode(pcm: Iterator[bytes] | bytes, rate: int, *, fmt: str = "mp3", bitrate: int = CONVERTED_BITRATE) -> bytes:
    """16-bit mono PCM at ``rate`` encoded as ``fmt`` ("mp3", or "wav")."""
    if fmt == "wav":
        return wav_bytes(pcm if isinstance(pcm, bytes) else b"".join(pcm), rate)
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as out:
        # LAME's quality 7 ("fast"): twice the speed of its default, and no loss a speech model would hear.
        options = {"compression_level": "7"} if fmt == "mp3" else {}
        stream = out.add_stream(fmt, rate=rate, layout="mono", options=options)
        stream.bit_rate = bitrate
        written = 0
        pending = bytearray()
        for chunk in [pcm] if isinstance(pcm, bytes) else pcm:
            pending += chunk
            whole = len(pending) // (_PCM_BLOCK * 2) * (_PCM_BLOCK * 2)
            for at in range(0, whole, _PCM_BLOCK * 2):
                written = _encode_block(out, stream, bytes(pending[at : at + _PCM_BLOCK * 2]), rate, written)
            del pending[:whole]
        if pending:
            written = _encode_block(out, stream, bytes(pending), rate, written)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def _encode_block(out: Any, stream: Any, block: bytes, rate: int, written: int) -> int:
    import av

    samples = len(block) // 2
    frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
    frame.planes[0].update(block[: samples * 2])
    frame.rate = rate
    frame.pts = written
    frame.time_base = Fraction(1, rate)
    for packet in stream.encode(frame):
        out.mux(packet)
    return written + samples


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    """A 16-bit mono WAV file around ``pcm`` (the standard ``wave`` module does the header)."""
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


def to_mp3(part: Part) -> Part:
    """``part`` converted to mono MP3 at 16 kHz, the source name kept."""
    data = encode(pcm_chunks(part, CONVERTED_RATE), CONVERTED_RATE)
    return Part(kind="audio", data=data, mime_type="audio/mpeg", source=part.source)


# -- checks ------------------------------------------------------------------------------------------------------


def quick_problem(data: bytes, mime_type: str) -> str | None:
    """What is visibly wrong with the commonest formats, from their headers alone.

    Microseconds and no import, so that loading audio (and a cache hit) never
    pays for PyAV; every other format, and any damage past the headers, is
    found by PyAV when the audio is decoded or checked in ``prepare``.
    """
    if mime_type == "audio/wav":
        return _wav_problem(data)
    if mime_type == "audio/mpeg":
        return _mp3_problem(data)
    return iso_media_problem(data, mime_type, "M4A")


def check_decodes(part: Part) -> None:
    """Refuse (UsageError) audio that PyAV cannot decode, before it is sent as it is.

    Decodes the first second or so only: enough to tell a damaged or
    mislabelled file from a real one without paying for the whole recording.
    """
    for _ in zip(range(4), pcm_chunks(part, 8000), strict=False):
        pass


def _riff_chunks(data: bytes, start: int) -> dict[bytes, tuple[int, int]]:
    """Map each chunk id to (offset of its payload, its declared size)."""
    chunks: dict[bytes, tuple[int, int]] = {}
    at = start
    while at + 8 <= len(data):
        chunk_id = data[at : at + 4]
        size = struct.unpack_from("<I", data, at + 4)[0]
        chunks.setdefault(chunk_id, (at + 8, size))
        at += 8 + size + (size & 1)
    return chunks


def _wav_problem(data: bytes) -> str | None:
    if len(data) < 12:
        return "a truncated WAV file (its header is cut off)"
    chunks = _riff_chunks(data, 12)
    fmt = chunks.get(b"fmt ")
    if fmt is None or fmt[1] < 16 or fmt[0] + 16 > len(data):
        return "a truncated or corrupt WAV file (it has no complete format header)"
    if b"data" not in chunks:
        return "a truncated WAV file (it has no audio data chunk)"
    offset, declared = chunks[b"data"]
    # Streaming writers leave 0 or 0xFFFFFFFF as the size; anything else must fit.
    if declared not in (0, 0xFFFFFFFF) and offset + declared > len(data):
        return "a truncated WAV file (its audio data is shorter than the header declares)"
    return None


def _mp3_problem(data: bytes) -> str | None:
    start = id3_end(data) if data[:3] == b"ID3" else 0
    if start >= len(data):
        return "a truncated MP3 file (it holds only a tag, no audio)"
    # Some encoders pad between the tag and the first frame; look a little ahead.
    window = data[start : start + 64 * 1024]
    for at in range(min(len(window), 4096)):
        if window[at] == 0xFF and mpeg_frame_length(window, at) is not None:
            return None
    return "a corrupt MP3 file (no MPEG audio frame was found)"


# -- preparing for a provider ------------------------------------------------------------------------------------


def prepare_audio(part: Part, limits: ProviderLimits) -> Part:
    """``part`` as the provider takes it: as it is (respelled) when accepted, else converted to MP3."""
    accepted = limits.audio_types
    if not accepted:
        raise UsageError(f"{limits.label} does not take audio input.")
    spelled = _respell(part.mime_type, limits)
    if spelled in accepted:
        check_decodes(part)
        if spelled == part.mime_type:
            return part
        return Part(kind="audio", data=part.data, mime_type=spelled, source=part.source)
    converted = to_mp3(part)
    return Part(kind="audio", data=converted.data, mime_type=_respell("audio/mpeg", limits), source=part.source)


def _respell(mime_type: str, limits: ProviderLimits) -> str:
    return dict(limits.audio_spelling).get(mime_type, mime_type)
