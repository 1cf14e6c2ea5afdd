"""Broken inputs, made fresh in each test's directory (nothing binary is committed)."""

from __future__ import annotations

import functools
import io
import os
import struct
import wave
import zlib
from pathlib import Path


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png_header(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny, valid-looking PNG whose header declares 2.5 gigapixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x01" * int(seconds * rate))
    return buffer.getvalue()


def _tiff() -> bytes:
    import os

    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (64, 48), os.urandom(64 * 48 * 3)).save(buffer, "TIFF")
    return buffer.getvalue()


def _media() -> dict[str, bytes]:
    """Broken audio and video, made with PyAV (tests/media_samples.py)."""
    from tests.media_samples import audio_file, video_file

    m4a, ogg, clip = audio_file("m4a", 2.0), audio_file("ogg", 2.0), video_file("mp4", 2.0)
    return {
        "truncated.m4a": m4a[: len(m4a) // 3],
        "truncated.ogg": ogg[:40],
        "truncated.mp4": clip[: len(clip) // 3],
        "garbage.webm": b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 4,
        "audio-only.m4a": m4a,
        "good.mp4": clip,
    }


@functools.cache
def _contents() -> dict[str, bytes]:
    """The bytes of every regular file, made once: encoding the media is most of a case's time."""
    good_png, good_jpeg, good_wav = _png(32, 24), _jpeg(), _wav()
    return {
        "good.png": good_png,
        "good.wav": good_wav,
        "empty.png": b"",
        "empty.wav": b"",
        "truncated.png": good_png[: len(good_png) // 2],
        "truncated.jpg": good_jpeg[: len(good_jpeg) // 2],
        "corrupt.jpg": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8,
        "text.png": b"This is a plain text file pretending to be an image.\n",
        "huge.png": huge_png_header(),
        "truncated.wav": good_wav[:30],
        "corrupt.mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 64,
        "notes.txt": b"plain text notes\n",
        "truncated.tif": _tiff()[:1200],
        **_media(),
    }


def make_all(folder: Path) -> dict[str, Path]:
    """Every file the corpus refers to, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    good_png = _contents()["good.png"]
    paths = {}
    for name, data in _contents().items():
        path = folder / name
        path.write_bytes(data)
        paths[name] = path
    for name in ("a-directory.png", "photos"):
        directory = folder / name
        directory.mkdir(exist_ok=True)
        paths[name] = directory
    fifo = folder / "fifo.png"
    if not fifo.exists():
        os.mkfifo(fifo)  # nothing ever writes to it: opening it for reading would wait forever
    paths["fifo.png"] = fifo
    unreadable = folder / "unreadable.png"
    unreadable.write_bytes(good_png)
    unreadable.chmod(0)
    paths["unreadable.png"] = unreadable
    return paths
