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
import wave
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from mmcli import media
from mmcli.conversation import Part
from mmcli.errors import EXIT_USAGE, UsageError
from mmcli.media_limits import PROVIDER_LIMITS

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
        (m4a_bytes(brand=b"isom", handler=b"vide"), "MP4 video"),
        (webm_bytes(b"V_VP9"), "WebM video"),
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
        ("cut.flac", flac_bytes()[:20], "truncated"),
        ("no-frames.flac", flac_bytes()[:42], "no audio frames"),
        ("tag-only.mp3", mp3_bytes()[:20], "no audio"),
        ("no-moov.m4a", m4a_bytes(moov=False), "moov"),
        ("cut.ogg", opus_bytes()[:30], "truncated"),
    ],
)
def test_broken_audio(write, name, data, needle) -> None:
    path = write(name, data)
    with pytest.raises(UsageError) as error:
        media.load(path)
    assert_usage_error(error, path, needle)


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
    monkeypatch.setattr(media, "MAX_INPUT_BYTES", 1000)
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
    monkeypatch.setattr(media, "MAX_INPUT_BYTES", 1000)
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
    prepared = media.prepare(part, provider)
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
    prepared = media.prepare(part, "anthropic")
    assert prepared.mime_type == expected and prepared.source == part.source
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.size == (100, 80)
        assert ("A" in image.mode) == (mode == "RGBA")


def test_gif_becomes_png_for_gemini_and_animated_gif_for_openai() -> None:
    still = Part(kind="image", data=image_bytes("GIF"), mime_type="image/gif", source="s.gif")
    assert media.prepare(still, "gemini").mime_type == "image/png"
    assert media.prepare(still, "openai") is still
    moving = Part(kind="image", data=animated_gif(), mime_type="image/gif", source="m.gif")
    assert media.prepare(moving, "openai").mime_type == "image/png"
    assert media.prepare(moving, "anthropic") is moving


def test_exif_orientation_is_applied() -> None:
    part = Part(kind="image", data=jpeg_with_orientation((300, 200), 6), mime_type="image/jpeg", source="r")
    assert media.image_size(part) == (300, 200)
    prepared = media.prepare(part, "anthropic")
    assert prepared is not part
    assert media.image_size(prepared) == (200, 300)
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.getexif().get(0x0112, 1) == 1


def test_exif_orientation_and_downscaling_together() -> None:
    part = Part(kind="image", data=jpeg_with_orientation((4000, 3000), 8), mime_type="image/jpeg", source="r")
    width, height = media.image_size(media.prepare(part, "openai"))
    assert height > width and max(width, height) <= 2048 and min(width, height) <= 768


@pytest.fixture(scope="module")
def big_jpeg() -> Part:
    data = image_bytes("JPEG", (6000, 4000), quality=90)
    return Part(kind="image", data=data, mime_type="image/jpeg", source="big.jpg")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_big_jpeg_is_downscaled_within_each_provider_limits(big_jpeg, provider) -> None:
    limits = PROVIDER_LIMITS[provider]
    prepared = media.prepare(big_jpeg, provider)
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
    assert max(media.image_size(media.prepare(big_jpeg, "anthropic"))) <= 1568


def test_png_with_alpha_stays_png_with_alpha_when_downscaled() -> None:
    data = image_bytes("PNG", (2400, 1600), "RGBA")
    part = Part(kind="image", data=data, mime_type="image/png", source="logo.png")
    prepared = media.prepare(part, "anthropic")
    assert prepared.mime_type == "image/png"
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.mode == "RGBA" and max(image.size) <= 1568
        assert image.getpixel((5, 5))[3] == 128


def test_webp_with_alpha_for_a_provider_without_webp_becomes_png() -> None:
    data = image_bytes("WEBP", (200, 100), "RGBA")
    part = Part(kind="image", data=data, mime_type="image/webp", source="a.webp")
    prepared = media.prepare(part, "ollama")
    assert prepared.mime_type == "image/png"
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.mode == "RGBA"


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    part = Part(kind="image", data=image_bytes("JPEG", (80, 60), "CMYK"), mime_type="image/jpeg", source="c")
    prepared = media.prepare(part, "openai")
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
    monkeypatch.setitem(PROVIDER_LIMITS, "anthropic", tight)
    part = Part(kind="image", data=noise_png((300, 200), mode), mime_type="image/png", source="noise.png")
    assert len(part.data) > limit
    prepared = media.prepare(part, "anthropic")
    assert len(prepared.data) <= limit and prepared.mime_type == expected


def test_16_bit_grayscale_keeps_its_tones() -> None:
    ramp = Image.linear_gradient("L").resize((256, 256)).convert("I").point(lambda v: v * 257)
    buffer = io.BytesIO()
    ramp.convert("I;16").save(buffer, "TIFF")
    part = Part(kind="image", data=buffer.getvalue(), mime_type="image/tiff", source="scan.tif")
    with Image.open(io.BytesIO(media.prepare(part, "openai").data)) as image:
        low, high = image.convert("L").getextrema()
    assert low < 10 and high > 245


def test_undecodable_stored_part_is_a_usage_error() -> None:
    part = Part(kind="image", data=b"\x89PNG\r\n\x1a\nnot really", mime_type="image/png", source="old.png")
    with pytest.raises(UsageError) as error:
        media.prepare(part, "openai")
    assert_usage_error(error, "old.png")


def test_pdf_passes_through() -> None:
    part = Part(kind="document", data=PDF_BYTES, mime_type="application/pdf", source="p.pdf")
    for provider in PROVIDERS:
        assert media.prepare(part, provider) is part


# --------------------------------------------------------------------------
# prepare: audio


def audio_part(data: bytes) -> Part:
    return Part(kind="audio", data=data, mime_type=media.sniff(data).mime_type, source="clip")


def test_openai_takes_wav_and_mp3_as_they_are() -> None:
    for data in (wav_bytes(), mp3_bytes()):
        part = audio_part(data)
        assert media.prepare(part, "openai") is part


def test_gemini_takes_its_formats_with_its_spelling() -> None:
    for data in (wav_bytes(), flac_bytes(), opus_bytes(), adts_bytes(), aiff_bytes()):
        part = audio_part(data)
        assert media.prepare(part, "gemini") is part
    mp3 = audio_part(mp3_bytes())
    prepared = media.prepare(mp3, "gemini")
    assert (prepared.mime_type, prepared.data) == ("audio/mp3", mp3.data)
    assert media.prepare(audio_part(adts_bytes()), "vertex").mime_type == "audio/x-aac"
    m4a = audio_part(m4a_bytes())
    assert media.prepare(m4a, "vertex") is m4a


def test_conversion_without_ffmpeg_says_ffmpeg_is_needed(monkeypatch) -> None:
    monkeypatch.setattr(media.shutil, "which", lambda name: None)
    part = Part(kind="audio", data=flac_bytes(), mime_type="audio/flac", source="talk.flac")
    with pytest.raises(UsageError) as error:
        media.prepare(part, "openai")
    assert_usage_error(error, "talk.flac", "ffmpeg", "OpenAI")


def test_conversion_runs_ffmpeg_when_present(tmp_path, monkeypatch) -> None:
    converted = tmp_path / "converted.mp3"
    converted.write_bytes(mp3_bytes())
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nfor last; do :; done\ncp "{converted}" "$last"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    part = Part(kind="audio", data=webm_bytes(), mime_type="audio/webm", source="memo.webm")
    prepared = media.prepare(part, "openai")
    assert (prepared.mime_type, prepared.data, prepared.source) == ("audio/mpeg", converted.read_bytes(), "memo.webm")
    assert media.prepare(part, "gemini").mime_type == "audio/mp3"


def test_failing_ffmpeg_is_a_usage_error(tmp_path, monkeypatch) -> None:
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Invalid data found when processing input' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    part = Part(kind="audio", data=flac_bytes(), mime_type="audio/flac", source="bad.flac")
    with pytest.raises(UsageError) as error:
        media.prepare(part, "openai")
    assert_usage_error(error, "bad.flac", "Invalid data")


def test_transcription_accepts_more_formats() -> None:
    part = audio_part(m4a_bytes())
    assert media.prepare(part, "openai", purpose="transcription") is part


def test_provider_without_audio_refuses() -> None:
    with pytest.raises(UsageError) as error:
        media.prepare(audio_part(wav_bytes()), "anthropic")
    assert_usage_error(error, "Anthropic")


def test_audio_format_names() -> None:
    assert media.audio_format(audio_part(wav_bytes())) == "wav"
    assert media.audio_format(audio_part(mp3_bytes())) == "mp3"
    assert media.MIME_TO_AUDIO_FORMAT["audio/mp4"] == "m4a"


# --------------------------------------------------------------------------
# Request size, import cost


def test_fits_request_names_the_provider() -> None:
    small = Part(kind="audio", data=b"x" * 1000, mime_type="audio/wav", source="a.wav")
    media.fits_request([Part.of_text("hi"), small], "gemini")
    huge = Part(kind="audio", data=b"x" * (16 * 1024 * 1024), mime_type="audio/wav", source="long.wav")
    with pytest.raises(UsageError) as error:
        media.fits_request([small, huge], "gemini")
    assert_usage_error(error, "Gemini", "long.wav")
    media.fits_request([huge], "perplexity")  # no documented request limit


def test_unknown_provider() -> None:
    with pytest.raises(UsageError):
        media.prepare(audio_part(wav_bytes()), "nosuch")


def test_importing_media_does_not_import_pillow() -> None:
    code = "import sys, mmcli.media; assert 'PIL' not in sys.modules and 'urllib.request' not in sys.modules"
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
