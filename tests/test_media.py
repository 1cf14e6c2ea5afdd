"""Tests for mmcli.media: every input is generated here, nothing touches the network."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import io
import os
import struct
import subprocess
import sys
import threading
import time
import wave
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from mmcli import media
from mmcli.conversation import Part
from mmcli.errors import EXIT_USAGE, UsageError
from mmcli.media import limits as media_limits
from mmcli.providers.media_limits import BY_PROVIDER as PROVIDER_LIMITS
from mmcli.providers.media_limits import OPENAI_TRANSCRIPTION
from mmcli.providers.registry import media_limits_of as limits_of
from tests.media_samples import AUDIO_FORMATS, audio_file

PROVIDERS = sorted(PROVIDER_LIMITS)


# --------------------------------------------------------------------------
# Generated media


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: object) -> bytes:
    color = {"RGB": (200, 80, 20), "RGBA": (200, 80, 20, 128), "L": 90, "CMYK": (0, 80, 200, 10)}[mode]
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (32, 32), (80 * i, 0, 0)) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return buffer.getvalue()


# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417-byte frames.
MP3_FRAME = b"\xff\xfb\x90\x00" + bytes(413)


def mp3_bytes(id3: bool = True) -> bytes:
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10) if id3 else b""
    return tag + MP3_FRAME * 3


def flac_bytes() -> bytes:
    streaminfo = struct.pack(">HH", 4096, 4096) + bytes(30)
    return b"fLaC" + b"\x80" + (34).to_bytes(3, "big") + streaminfo + b"\xff\xf8\x69\x08" + bytes(32)


def ogg_bytes(packet: bytes) -> bytes:
    header = b"OggS\x00\x02" + bytes(8) + b"\x01\x00\x00\x00" + bytes(8) + bytes([1, len(packet)])
    return header + packet


def opus_bytes() -> bytes:
    return ogg_bytes(b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00")


def vorbis_bytes() -> bytes:
    return ogg_bytes(b"\x01vorbis" + bytes(23))


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def m4a_bytes(brand: bytes = b"M4A ", handler: bytes = b"soun", moov: bool = True) -> bytes:
    ftyp = box(b"ftyp", brand + b"\x00\x00\x00\x00isom")
    hdlr = box(b"hdlr", bytes(8) + handler + bytes(12))
    index = box(b"moov", box(b"trak", box(b"mdia", hdlr))) if moov else b""
    return ftyp + index + box(b"mdat", bytes(64))


def adts_bytes() -> bytes:
    length = 32
    header = bytes([0xFF, 0xF1, 0x50, 0x80 | (length >> 11), (length >> 3) & 0xFF, ((length & 7) << 5) | 0x1F, 0xFC])
    return (header + bytes(length - 7)) * 2


def webm_bytes(codec: bytes = b"A_OPUS") -> bytes:
    ebml = b"\x1a\x45\xdf\xa3\x8f\x42\x86\x81\x01\x42\x82\x84webm\x42\x87\x81\x04"
    return ebml + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + b"\x86\x86" + codec + bytes(64)


def aiff_bytes() -> bytes:
    comm = b"COMM" + struct.pack(">I", 18) + bytes(18)
    ssnd = b"SSND" + struct.pack(">I", 16) + bytes(16)
    body = b"AIFF" + comm + ssnd
    return b"FORM" + struct.pack(">I", len(body)) + body


PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height``: a decompression bomb in 60 bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def jpeg_with_orientation(size: tuple[int, int], orientation: int) -> bytes:
    image = Image.new("RGB", size, (10, 120, 240))
    exif = image.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, bytes], str]:
    def _write(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return _write


def assert_usage_error(error: pytest.ExceptionInfo[UsageError], *needles: str) -> None:
    message = str(error.value)
    assert error.value.exit_code == EXIT_USAGE == 2
    assert "\n" not in message and message.endswith("."), message
    for needle in needles:
        assert needle in message, message


# --------------------------------------------------------------------------
# Sniffing from bytes, whatever the name says

SNIFF_CASES = [
    ("photo.png", lambda: image_bytes("JPEG"), "image", "image/jpeg"),
    ("photo.jpg", lambda: image_bytes("PNG"), "image", "image/png"),
    ("photo.gif", lambda: image_bytes("WEBP"), "image", "image/webp"),
    ("anim.webp", lambda: image_bytes("GIF"), "image", "image/gif"),
    ("scan.jpg", lambda: image_bytes("BMP"), "image", "image/bmp"),
    ("scan.png", lambda: image_bytes("TIFF"), "image", "image/tiff"),
    ("icon.png", lambda: image_bytes("ICO", (32, 32)), "image", "image/x-icon"),
    ("voice.mp3", wav_bytes, "audio", "audio/wav"),
    ("song.wav", mp3_bytes, "audio", "audio/mpeg"),
    ("song.ogg", lambda: mp3_bytes(id3=False), "audio", "audio/mpeg"),
    ("track.mp3", flac_bytes, "audio", "audio/flac"),
    ("note.wav", opus_bytes, "audio", "audio/ogg"),
    ("note.flac", vorbis_bytes, "audio", "audio/ogg"),
    ("memo.mp3", m4a_bytes, "audio", "audio/mp4"),
    ("memo.mp4", lambda: m4a_bytes(brand=b"isom"), "audio", "audio/mp4"),
    ("raw.mp3", adts_bytes, "audio", "audio/aac"),
    ("clip.ogg", webm_bytes, "audio", "audio/webm"),
    ("sound.wav", aiff_bytes, "audio", "audio/aiff"),
    ("paper.txt", lambda: PDF_BYTES, "document", "application/pdf"),
]


@pytest.mark.parametrize(("name", "make", "kind", "mime"), SNIFF_CASES, ids=[c[0] for c in SNIFF_CASES])
def test_load_detects_kind_from_bytes_not_extension(write, name, make, kind, mime) -> None:
    part = media.load(write(name, make()))
    assert (part.kind, part.mime_type) == (kind, mime)
    assert part.source.endswith(name)


def test_load_with_expect_accepts_the_right_kind(write) -> None:
    assert media.load(write("a.bin", wav_bytes()), expect="audio").kind == "audio"
    assert media.load(write("b.bin", PDF_BYTES), expect="document").kind == "document"


@pytest.mark.parametrize(
    ("data", "expect", "needles"),
    [
        (b"just some notes\n", "image", ("is not an image", "plain text")),
        (wav_bytes(), "image", ("is not an image", "WAV audio")),
        (image_bytes("PNG"), "audio", ("is not an audio file", "PNG image")),
        (mp3_bytes(), "document", ("is not a PDF document", "MP3 audio")),
    ],
)
def test_expect_mismatch_names_what_the_file_looks_like(write, data, expect, needles) -> None:
    path = write("notes.txt", data)
    with pytest.raises(UsageError) as error:
        media.load(path, expect=expect)
    assert_usage_error(error, path, *needles)


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (b"hello, this is text pretending to be a picture\n", "plain text"),
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "HTML page"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"PK\x03\x04" + bytes(40), "ZIP archive"),
        (b"\x7fELF" + bytes(60), "executable"),
        (bytes(range(256)) * 4, "unknown type"),
    ],
)
def test_unsupported_types_are_refused_with_what_they_look_like(write, data, label) -> None:
    path = write("picture.png", data)
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, label)


# --------------------------------------------------------------------------
# Unreadable and broken inputs


def test_missing_file(tmp_path) -> None:
    path = str(tmp_path / "nowhere.png")
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, "does not exist")


def test_directory(tmp_path) -> None:
    with pytest.raises(UsageError) as error:
        media.load(str(tmp_path))
    assert_usage_error(error, str(tmp_path), "directory")


def test_unreadable_file(write, monkeypatch) -> None:
    path = write("secret.png", image_bytes("PNG"))
    if os.geteuid() != 0:
        os.chmod(path, 0)
    else:  # root reads anything: make the open fail the way a permission problem does

        def refuse(self, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, "permission denied")


def test_empty_file(write) -> None:
    path = write("empty.jpg", b"")
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, "is empty")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"])
def test_truncated_image(write, fmt) -> None:
    noisy = Image.effect_noise((120, 90), 60).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, fmt)
    data = buffer.getvalue()
    path = write(f"cut.{fmt.lower()}", data[: len(data) * 2 // 3])
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, "truncated")


def test_corrupt_png_fails_its_checksum(write) -> None:
    data = bytearray(image_bytes("PNG", (50, 50)))
    idat = data.find(b"IDAT")
    data[idat + 6] ^= 0xFF
    path = write("flipped.png", bytes(data))
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, "corrupt")


def test_corrupt_image_header(write) -> None:
    path = write("garbage.jpg", b"\xff\xd8\xff\xe0" + b"\x00\x02" + b"\x13" * 200)
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path)


def test_decompression_bomb_is_refused_from_the_header_alone(write) -> None:
    import tracemalloc

    path = write("bomb.png", png_declaring(50_000, 50_000))
    tracemalloc.start()
    with pytest.raises(UsageError) as error:
        media.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert_usage_error(error, path, "too large")
    # Decoding 50,000 x 50,000 pixels would need gigabytes: a small peak shows only the header was read.
    assert peak < 5 * 1024 * 1024


def test_image_between_pillow_warning_and_error_thresholds_is_refused_too(write) -> None:
    path = write("big.png", png_declaring(10_000, 10_000))  # 100 MP: a warning in Pillow
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, "too large")


def test_heic_needs_a_plugin(write) -> None:
    data = box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + box(b"meta", bytes(32))
    path = write("photo.heic", data)
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, "HEIC")


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("cut-riff.wav", wav_bytes()[:10], "truncated"),
        ("cut-header.wav", wav_bytes()[:20], "truncated"),
        ("no-data.wav", wav_bytes()[:36], "no audio data"),
        ("short-data.wav", wav_bytes()[:400], "shorter than the header declares"),
        ("tag-only.mp3", mp3_bytes()[:20], "no audio"),
        ("no-moov.m4a", m4a_bytes(moov=False), "moov"),
        ("cut.m4a", audio_file("m4a", 2.0)[:3000], "truncated"),
    ],
)
def test_broken_audio_is_refused_when_loaded(write, name, data, needle) -> None:
    """WAV, MP3 and M4A, the commonest, are checked from their headers at load time (no PyAV import)."""
    path = write(name, data)
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, needle)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("cut.flac", lambda: audio_file("flac")[:60]),
        ("cut.ogg", lambda: audio_file("ogg")[:30]),
        ("headers-only.webm", lambda: webm_bytes()),
        ("fake.aiff", aiff_bytes),
    ],
)
def test_broken_audio_is_refused_by_pyav_when_prepared(write, name, make) -> None:
    """Other formats load on their magic number; PyAV refuses them, one sentence, before anything is sent."""
    part = media.load(write(name, make()), expect="audio")
    with pytest.raises(UsageError) as error:
        media.prepare(part, limits_of("gemini"))
    assert_usage_error(error, name, "could not be decoded as audio")


def test_wav_with_streaming_placeholder_size_is_accepted(write) -> None:
    data = bytearray(wav_bytes())
    data[40:44] = b"\xff\xff\xff\xff"  # what a writer to a pipe leaves behind
    assert media.load(write("live.wav", bytes(data))).mime_type == "audio/wav"


def test_text_that_mentions_pdf_is_not_a_pdf(write) -> None:
    path = write("notes.md", b"# Notes\nEvery PDF starts with %PDF-1.x, then objects.\n")
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, "plain text")


def test_legacy_8bit_text_is_text() -> None:
    assert media.sniff("Grüße aus Köln\n".encode("latin-1") * 20).label == "plain text"


def test_file_over_the_input_cap(write, monkeypatch) -> None:
    monkeypatch.setattr(media_limits, "MAX_INPUT_BYTES", 1000)
    path = write("huge.wav", wav_bytes())
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, "too large")
    with pytest.raises(UsageError) as error:
        media.load("-", stdin=io.BytesIO(wav_bytes()))
    assert_usage_error(error, "stdin", "larger than")


# --------------------------------------------------------------------------
# stdin and URLs


def test_stdin_dash() -> None:
    data = image_bytes("PNG")
    part = media.load("-", stdin=io.BytesIO(data), expect="image")
    assert (part.source, part.mime_type, part.data) == ("-", "image/png", data)


def test_empty_stdin_names_stdin() -> None:
    with pytest.raises(UsageError) as error:
        media.load("-", stdin=io.BytesIO(b""))
    assert_usage_error(error, "stdin", "empty")


def test_stdin_that_is_a_terminal_is_refused() -> None:
    class Terminal(io.BytesIO):
        def isatty(self) -> bool:
            return True

    with pytest.raises(UsageError) as error:
        media.load("-", stdin=Terminal(b""))
    assert_usage_error(error, "stdin", "terminal")


@pytest.fixture
def http_root(tmp_path, monkeypatch) -> Iterator[tuple[str, Path]]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_load_from_url(http_root) -> None:
    base, root = http_root
    data = image_bytes("JPEG")
    (root / "cat").write_bytes(data)
    part = media.load(f"{base}/cat", expect="image")
    assert (part.kind, part.mime_type, part.data, part.source) == ("image", "image/jpeg", data, f"{base}/cat")


def test_url_404_is_a_clear_error(http_root) -> None:
    base, _ = http_root
    url = f"{base}/missing.png"
    with pytest.raises(UsageError) as error:
        media.load(url)
    assert_usage_error(error, url, "404")


def test_url_over_the_input_cap(http_root, monkeypatch) -> None:
    base, root = http_root
    (root / "big.wav").write_bytes(wav_bytes())
    monkeypatch.setattr(media_limits, "MAX_INPUT_BYTES", 1000)
    with pytest.raises(UsageError) as error:
        media.load(f"{base}/big.wav")
    assert_usage_error(error, f"{base}/big.wav", "too large")


def test_url_that_nothing_answers(monkeypatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with socket_bound_but_closed() as port:
        url = f"http://127.0.0.1:{port}/x.png"
        with pytest.raises(UsageError) as error:
            media.load(url)
    assert_usage_error(error, url, "Could not download")


class socket_bound_but_closed:
    """A port that refuses connections: bound, never listening."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


# --------------------------------------------------------------------------
# prepare: images


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_accepted_small_images_pass_through_unchanged(provider, fmt) -> None:
    data = image_bytes(fmt, (320, 240))
    part = Part(kind="image", data=data, mime_type=media.sniff(data).mime_type, source="x")
    prepared = media.prepare(part, limits_of(provider))
    if part.mime_type in PROVIDER_LIMITS[provider].image_types:
        assert prepared is part
    else:
        assert prepared is not part and prepared.mime_type in PROVIDER_LIMITS[provider].image_types
        assert prepared.source == "x"


@pytest.mark.parametrize(
    ("fmt", "mode", "expected"),
    [("BMP", "RGB", "image/jpeg"), ("TIFF", "RGB", "image/jpeg"), ("TIFF", "RGBA", "image/png")],
)
def test_other_formats_are_converted(write, fmt, mode, expected) -> None:
    part = media.load(write(f"scan.{fmt.lower()}", image_bytes(fmt, (100, 80), mode)))
    prepared = media.prepare(part, limits_of("anthropic"))
    assert prepared.mime_type == expected and prepared.source == part.source
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.size == (100, 80)
        assert ("A" in image.mode) == (mode == "RGBA")


def test_gif_becomes_png_for_gemini_and_animated_gif_for_openai() -> None:
    still = Part(kind="image", data=image_bytes("GIF"), mime_type="image/gif", source="s.gif")
    assert media.prepare(still, limits_of("gemini")).mime_type == "image/png"
    assert media.prepare(still, limits_of("openai")) is still
    moving = Part(kind="image", data=animated_gif(), mime_type="image/gif", source="m.gif")
    assert media.prepare(moving, limits_of("openai")).mime_type == "image/png"
    assert media.prepare(moving, limits_of("anthropic")) is moving


def test_exif_orientation_is_applied() -> None:
    part = Part(kind="image", data=jpeg_with_orientation((300, 200), 6), mime_type="image/jpeg", source="r")
    assert media.image_size(part) == (300, 200)
    prepared = media.prepare(part, limits_of("anthropic"))
    assert prepared is not part
    assert media.image_size(prepared) == (200, 300)
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.getexif().get(0x0112, 1) == 1


def test_exif_orientation_and_downscaling_together() -> None:
    part = Part(kind="image", data=jpeg_with_orientation((4000, 3000), 8), mime_type="image/jpeg", source="r")
    width, height = media.image_size(media.prepare(part, limits_of("openai")))
    assert height > width and max(width, height) <= 2048 and min(width, height) <= 768


@pytest.fixture(scope="module")
def big_jpeg() -> Part:
    data = image_bytes("JPEG", (6000, 4000), quality=90)
    return Part(kind="image", data=data, mime_type="image/jpeg", source="big.jpg")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_big_jpeg_is_downscaled_within_each_provider_limits(big_jpeg, provider) -> None:
    limits = PROVIDER_LIMITS[provider]
    prepared = media.prepare(big_jpeg, limits_of(provider))
    width, height = media.image_size(prepared)
    assert prepared.mime_type == "image/jpeg"
    assert max(width, height) <= limits.max_long_edge
    assert abs(width / height - 1.5) < 0.01
    if limits.max_short_edge:
        assert min(width, height) <= limits.max_short_edge
    if limits.max_pixels:
        assert width * height <= limits.max_pixels
    assert len(prepared.data) <= limits.max_image_bytes
    # Never shrunk far below what the provider would have kept.
    assert max(width, height) >= 0.85 * min(limits.max_long_edge, 6000 * _scale_cap(limits))


def _scale_cap(limits) -> float:
    scale = 1.0
    if limits.max_short_edge:
        scale = min(scale, limits.max_short_edge / 4000)
    if limits.max_pixels:
        scale = min(scale, (limits.max_pixels / 24e6) ** 0.5)
    return scale


def test_anthropic_long_edge(big_jpeg) -> None:
    assert max(media.image_size(media.prepare(big_jpeg, limits_of("anthropic")))) <= 1568


def test_png_with_alpha_stays_png_with_alpha_when_downscaled() -> None:
    data = image_bytes("PNG", (2400, 1600), "RGBA")
    part = Part(kind="image", data=data, mime_type="image/png", source="logo.png")
    prepared = media.prepare(part, limits_of("anthropic"))
    assert prepared.mime_type == "image/png"
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.mode == "RGBA" and max(image.size) <= 1568
        assert image.getpixel((5, 5))[3] == 128


def test_webp_with_alpha_for_a_provider_without_webp_becomes_png() -> None:
    data = image_bytes("WEBP", (200, 100), "RGBA")
    part = Part(kind="image", data=data, mime_type="image/webp", source="a.webp")
    prepared = media.prepare(part, limits_of("ollama"))
    assert prepared.mime_type == "image/png"
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.mode == "RGBA"


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    part = Part(kind="image", data=image_bytes("JPEG", (80, 60), "CMYK"), mime_type="image/jpeg", source="c")
    prepared = media.prepare(part, limits_of("openai"))
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.mode == "RGB"


def noise_png(size: tuple[int, int], mode: str) -> bytes:
    bands = len(mode)
    noise = Image.frombytes(mode, size, os.urandom(size[0] * size[1] * bands))  # incompressible
    buffer = io.BytesIO()
    noise.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


@pytest.mark.parametrize(("mode", "expected"), [("RGB", "image/jpeg"), ("RGBA", "image/png")])
def test_image_over_the_byte_limit_is_reencoded_smaller(monkeypatch, mode, expected) -> None:
    limit = 150_000
    tight = dataclasses.replace(PROVIDER_LIMITS["anthropic"], max_image_bytes=limit)
    part = Part(kind="image", data=noise_png((300, 200), mode), mime_type="image/png", source="noise.png")
    assert len(part.data) > limit
    prepared = media.prepare(part, tight)
    assert len(prepared.data) <= limit and prepared.mime_type == expected


def test_16_bit_grayscale_keeps_its_tones() -> None:
    ramp = Image.linear_gradient("L").resize((256, 256)).convert("I").point(lambda v: v * 257)
    buffer = io.BytesIO()
    ramp.convert("I;16").save(buffer, "TIFF")
    part = Part(kind="image", data=buffer.getvalue(), mime_type="image/tiff", source="scan.tif")
    with Image.open(io.BytesIO(media.prepare(part, limits_of("openai")).data)) as image:
        low, high = image.convert("L").getextrema()
    assert low < 10 and high > 245


def test_undecodable_stored_part_is_a_usage_error() -> None:
    part = Part(kind="image", data=b"\x89PNG\r\n\x1a\nnot really", mime_type="image/png", source="old.png")
    with pytest.raises(UsageError) as error:
        media.prepare(part, limits_of("openai"))
    assert_usage_error(error, "old.png")


def test_pdf_passes_through() -> None:
    part = Part(kind="document", data=PDF_BYTES, mime_type="application/pdf", source="p.pdf")
    for provider in PROVIDERS:
        assert media.prepare(part, limits_of(provider)) is part


# --------------------------------------------------------------------------
# prepare: audio


def audio_part(data: bytes) -> Part:
    return Part(kind="audio", data=data, mime_type=media.sniff(data).mime_type, source="clip")


def test_openai_takes_wav_and_mp3_as_they_are() -> None:
    for data in (audio_file("wav"), audio_file("mp3")):
        part = audio_part(data)
        assert media.prepare(part, limits_of("openai")) is part


def test_gemini_takes_its_formats_with_its_spelling() -> None:
    for ext in ("wav", "flac", "ogg", "aac", "aiff"):
        part = audio_part(audio_file(ext))
        assert media.prepare(part, limits_of("gemini")) is part, ext
    mp3 = audio_part(audio_file("mp3"))
    prepared = media.prepare(mp3, limits_of("gemini"))
    assert (prepared.mime_type, prepared.data) == ("audio/mp3", mp3.data)
    assert media.prepare(audio_part(audio_file("aac")), limits_of("vertex")).mime_type == "audio/x-aac"
    m4a = audio_part(audio_file("m4a"))
    assert media.prepare(m4a, limits_of("vertex")) is m4a


@pytest.mark.parametrize("ext", ["m4a", "webm", "flac", "ogg", "mka", "aiff", "aac"])
def test_conversion_needs_no_system_ffmpeg(ext, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg, nor anything else, on PATH
    part = Part(kind="audio", data=audio_file(ext, 2.0), mime_type=AUDIO_FORMATS[ext][3], source=f"memo.{ext}")
    prepared = media.prepare(part, limits_of("openai"))
    assert (prepared.mime_type, prepared.source) == ("audio/mpeg", f"memo.{ext}")
    assert media.sniff(prepared.data).mime_type == "audio/mpeg"
    from tests.media_samples import decoded_seconds

    assert abs(decoded_seconds(prepared.data) - 2.0) < 0.1
    gemini = limits_of("gemini")
    assert media.prepare(part, gemini).mime_type in ("audio/mp3", AUDIO_FORMATS[ext][3].replace("mpeg", "mp3"))


def test_to_pcm_gives_16_bit_mono_at_the_rate_asked() -> None:
    from mmcli.media import audio

    for ext in ("mp3", "m4a", "ogg", "webm", "wav"):
        part = audio_part(audio_file(ext, 1.5))
        for rate in (16_000, 24_000):
            pcm = audio.to_pcm(part, rate)
            assert abs(len(pcm) / 2 / rate - 1.5) < 0.06, (ext, rate)


def test_to_pcm_takes_a_path_too(tmp_path) -> None:
    from mmcli.media import audio

    path = tmp_path / "voice.m4a"
    path.write_bytes(audio_file("m4a", 1.0))
    assert abs(len(audio.to_pcm(path, 16_000)) / 32_000 - 1.0) < 0.06
    with pytest.raises(UsageError) as error:
        audio.to_pcm(tmp_path / "nowhere.mp3", 16_000)
    assert_usage_error(error, "nowhere.mp3", "does not exist")


def test_transcription_accepts_more_formats() -> None:
    part = audio_part(audio_file("m4a"))
    assert media.prepare(part, OPENAI_TRANSCRIPTION) is part


def test_provider_without_audio_refuses() -> None:
    with pytest.raises(UsageError) as error:
        media.prepare(audio_part(wav_bytes()), limits_of("anthropic"))
    assert_usage_error(error, "Anthropic")


def test_audio_format_names() -> None:
    assert media.audio_format(audio_part(wav_bytes())) == "wav"
    assert media.audio_format(audio_part(mp3_bytes())) == "mp3"
    assert media.MIME_TO_AUDIO_FORMAT["audio/mp4"] == "m4a"


# --------------------------------------------------------------------------
# Request size, import cost


def test_fits_request_names_the_provider() -> None:
    small = Part(kind="audio", data=b"x" * 1000, mime_type="audio/wav", source="a.wav")
    media.fits_request([Part.of_text("hi"), small], limits_of("gemini"))
    huge = Part(kind="audio", data=b"x" * (16 * 1024 * 1024), mime_type="audio/wav", source="long.wav")
    with pytest.raises(UsageError) as error:
        media.fits_request([small, huge], limits_of("gemini"))
    assert_usage_error(error, "Gemini", "long.wav")
    media.fits_request([huge], limits_of("perplexity"))  # no documented request limit


def test_unknown_provider() -> None:
    with pytest.raises(UsageError):
        media.prepare(audio_part(wav_bytes()), limits_of("nosuch"))


def test_importing_media_does_not_import_pillow_pyav_or_urllib() -> None:
    code = "import sys, mmcli.media; assert not {'PIL', 'av', 'urllib.request'} & set(sys.modules), sys.modules"
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


# --------------------------------------------------------------------------
# Phone photos: HEIC through pillow-heif, AVIF through Pillow itself


def test_heic_photo_is_read_and_converted_for_providers_without_heic(write) -> None:
    import pillow_heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (96, 64), (30, 140, 90))).save(buffer, quality=80)
    part = media.load(write("IMG_0001.HEIC", buffer.getvalue()), expect="image")
    assert part.mime_type == "image/heic"
    assert media.prepare(part, limits_of("gemini")) is part  # Gemini takes HEIC as it is
    for provider in ("openai", "anthropic"):
        prepared = media.prepare(part, limits_of(provider))
        assert prepared.mime_type == "image/jpeg"
        with Image.open(io.BytesIO(prepared.data)) as image:
            assert image.size == (96, 64)


def test_avif_photo_is_read_and_converted(write) -> None:
    part = media.load(write("photo.avif", image_bytes("AVIF", (80, 60))), expect="image")
    assert part.mime_type == "image/avif"
    prepared = media.prepare(part, limits_of("openai"))
    assert prepared.mime_type == "image/jpeg" and media.image_size(prepared) == (80, 60)


# --------------------------------------------------------------------------
# Video


@pytest.fixture(scope="module")
def clip() -> bytes:
    from tests.media_samples import video_file

    return video_file("mp4", seconds=3.0)


@pytest.mark.parametrize("ext", ["mp4", "webm", "mov", "mkv", "avi"])
def test_videos_load_as_video_whatever_their_name(write, ext) -> None:
    from tests.media_samples import VIDEO_FORMATS, video_file

    part = media.load(write("clip.bin", video_file(ext, seconds=2.0)), expect="video")
    assert (part.kind, part.mime_type) == ("video", VIDEO_FORMATS[ext][3])


def test_a_video_given_where_an_image_is_expected_says_so(write, clip) -> None:
    path = write("clip.png", clip)
    with pytest.raises(UsageError) as error:
        media.load(path, expect="image")
    assert_usage_error(error, path, "is not an image", "MP4 video")


def test_frames_are_sampled_once_a_second_with_their_timestamps(clip) -> None:
    from mmcli.media import video

    part = Part(kind="video", data=clip, mime_type="video/mp4", source="clip.mp4")
    taken = video.frames(part)
    assert [stamp for stamp, _ in taken] == [0.0, 1.0, 2.0]
    reds = []
    for _, data in taken:
        with Image.open(io.BytesIO(data)) as image:
            reds.append(image.convert("RGB").getpixel((10, 10))[0])
    # The clip's red channel is 40 x the second it is in: each frame is from its own second.
    assert [round(red / 40) for red in reds] == [0, 1, 2]


def test_sample_times_spread_over_long_videos() -> None:
    from mmcli.media.video import sample_times

    assert sample_times(3.0, 1.0, 60) == [0.0, 1.0, 2.0]
    assert sample_times(2.5, 2.0, 60) == [0.0, 0.5, 1.0, 1.5, 2.0]
    long = sample_times(600.0, 1.0, 60)
    assert len(long) == 60 and long[1] == 10.0 and long[-1] == 590.0
    assert sample_times(0.0, 1.0, 60) == [0.0]


def test_for_provider_turns_a_video_into_timestamped_frames_for_image_models(clip) -> None:
    from mmcli.conversation import Message, ModelRef, Request

    video_part = Part(kind="video", data=clip, mime_type="video/mp4", source="clip.mp4")
    turn = Message("user", [Part.of_text("What happens?"), video_part])
    request = Request(ModelRef("openai", "gpt-4o-mini"), [turn], options={media.MAX_FRAMES_OPTION: 2})
    sent = media.for_provider(request, limits_of("openai"))
    kinds = [p.kind for p in sent.messages[0].parts]
    assert kinds == ["text", "text", "text", "image", "text", "image"]
    texts = [p.text for p in sent.messages[0].parts if p.kind == "text"]
    assert "clip.mp4" in texts[1] and "2 frames" in texts[1]
    assert texts[2:] == ["[0:00]", "[0:01.5]"]
    assert request.messages[0].parts[1] is video_part  # the stored turn keeps the video itself
    native = Request(ModelRef("gemini", "gemini-2.5-flash"), [turn])
    assert media.for_provider(native, limits_of("gemini")) is native
    assert media.prepare(video_part, limits_of("gemini")) is video_part


def test_vertex_refuses_a_video_beyond_its_inline_limit(clip) -> None:
    small = dataclasses.replace(PROVIDER_LIMITS["vertex"], max_request_bytes=1000)
    part = Part(kind="video", data=clip, mime_type="video/mp4", source="clip.mp4")
    with pytest.raises(UsageError) as error:
        media.prepare(part, small)
    assert_usage_error(error, "clip.mp4", "Vertex AI", "inline")
    large = dataclasses.replace(PROVIDER_LIMITS["gemini"], max_request_bytes=1000)
    assert media.prepare(part, large) is part  # Gemini uploads it instead
    media.fits_request([part], large)


def test_broken_video_is_one_sentence(clip) -> None:
    from mmcli.media import video

    part = Part(kind="video", data=clip[: len(clip) // 3], mime_type="video/mp4", source="cut.mp4")
    with pytest.raises(UsageError) as error:
        video.frames(part)
    assert_usage_error(error, "cut.mp4", "could not be decoded as a video")


# --------------------------------------------------------------------------
# Hostile sources: pipes, devices, directories, slow or redirecting servers, tokens in URLs


def test_named_fifo_is_refused_without_blocking(tmp_path) -> None:
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    with pytest.raises(UsageError) as error:
        media.load(str(fifo))  # would block forever in open() if it were opened
    assert_usage_error(error, "photo.png", "named pipe")


def test_devices_are_refused_at_once() -> None:
    with pytest.raises(UsageError) as error:
        media.load("/dev/zero", expect="audio")
    assert_usage_error(error, "/dev/zero", "device")


def test_process_substitution_is_read(tmp_path) -> None:
    data = image_bytes("PNG")
    reader, writer = os.pipe()
    threading.Thread(target=lambda: (os.write(writer, data), os.close(writer)), daemon=True).start()
    try:
        part = media.load(f"/dev/fd/{reader}", expect="image")
    finally:
        os.close(reader)
    assert part.data == data


def test_an_endless_stream_of_non_media_is_refused_after_its_first_bytes() -> None:
    class Endless(io.RawIOBase):
        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            buffer[:] = bytes(len(buffer))
            self.served += len(buffer)
            return len(buffer)

    stream = Endless()
    with pytest.raises(UsageError) as error:
        media.load("-", stdin=io.BufferedReader(stream), expect="audio")
    assert_usage_error(error, "stdin", "is not an audio file")
    assert stream.served < 1024 * 1024


def test_a_directory_suggests_its_files(tmp_path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    with pytest.raises(UsageError) as error:
        media.load(str(photos), expect="image")
    assert_usage_error(error, f"give {photos}/* instead")


def test_malformed_url_is_a_sentence() -> None:
    with pytest.raises(UsageError) as error:
        media.load("http://[::1/x.png")
    assert_usage_error(error, "not a valid URL")


class ScriptedHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/loop"):
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif self.path.startswith("/to-ftp"):
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/secret.png")
            self.end_headers()
        elif self.path.startswith("/slow"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                for byte in image_bytes("PNG"):
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
        else:
            body = image_bytes("PNG")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture
def scripted(monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ScriptedHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_trickling_server_is_cut_at_the_overall_deadline(scripted) -> None:
    with pytest.raises(UsageError) as error:
        media.load(f"{scripted}/slow.png", timeout=0.5)
    assert_usage_error(error, "did not arrive within 0.5 s")


def test_a_redirect_loop_is_one_sentence(scripted) -> None:
    with pytest.raises(UsageError) as error:
        media.load(f"{scripted}/loop")
    assert_usage_error(error, "redirects in a loop")


def test_a_redirect_to_ftp_is_not_followed(scripted) -> None:
    with pytest.raises(UsageError) as error:
        media.load(f"{scripted}/to-ftp")
    assert_usage_error(error, "ftp", "only http(s)")


def test_query_strings_never_reach_the_part(scripted) -> None:
    url = f"{scripted}/cat.png?X-Amz-Signature=abc123&token=s3cr3t#frag"
    part = media.load(url, expect="image")
    assert part.source == f"{scripted}/cat.png"
    with pytest.raises(UsageError) as error:
        media.load(f"{scripted}/loop?sig=s3cr3t")
    assert "s3cr3t" not in str(error.value)
