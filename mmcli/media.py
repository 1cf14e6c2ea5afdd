"""Load, sniff, validate and prepare media attachments.

``load`` turns what the user named (a path, an http(s) URL, or ``-`` for
stdin) into a media ``Part`` whose kind and MIME type come from the bytes,
never from the file name, and refuses bad input with one ``UsageError``
sentence. ``prepare`` then shapes a part for one provider: it passes accepted
files through untouched and converts, rotates or downscales only what the
provider's limits (``media_limits``) require.

Pillow, urllib and subprocess are imported inside the functions that use
them, so importing this module costs next to nothing at CLI start-up.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mmcli.conversation import Part
from mmcli.errors import UsageError
from mmcli.media_limits import (
    DOWNLOAD_TIMEOUT_S,
    GIF,
    JPEG,
    MAX_AUDIO_INPUT_BYTES,
    MAX_INPUT_BYTES,
    OPENAI_TRANSCRIPTION_AUDIO_TYPES,
    PNG,
    PROVIDER_LIMITS,
    WEBP,
    ProviderLimits,
)

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "MIME_TO_AUDIO_FORMAT",
    "audio_format",
    "fits_request",
    "image_size",
    "load",
    "prepare",
    "sniff",
]

PDF = "application/pdf"

# OpenAI's ``input_audio`` needs a format word, and temporary files for
# ffmpeg need a matching suffix.
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

_EXPECTED_NOUN = {"image": "an image", "audio": "an audio file", "document": "a PDF document"}

# JPEG quality for re-encoded images: visually lossless for a model, and a
# third of the size of quality 95.
_JPEG_QUALITY = 85
# A JPEG is decoded at 1/2, 1/4 or 1/8 scale straight from its DCT data. When
# that scale lands within this fraction below the target size, the scaled
# decode is used as it is: it saves a whole resampling pass and loses at most
# 10% of the linear resolution the provider would have kept.
_DRAFT_SLACK = 0.9

_ORIENTATION_TAG = 0x0112


# --------------------------------------------------------------------------
# Sniffing


@dataclass(frozen=True)
class Sniffed:
    """What the bytes are: ``kind`` is None for anything mmcli cannot send."""

    kind: str | None
    mime_type: str
    label: str  # for messages: "a PNG image", "MP3 audio", "plain text"


_UNKNOWN = Sniffed(None, "application/octet-stream", "binary data of an unknown type")


def sniff(data: bytes) -> Sniffed:
    """Identify ``data`` from its magic numbers; never looks at a file name."""
    head = data[:64]
    for check in (_sniff_image, _sniff_audio, _sniff_container, _sniff_other):
        found = check(data, head)
        if found is not None:
            return found
    return _UNKNOWN


_DIB_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})


def _sniff_image(data: bytes, head: bytes) -> Sniffed | None:
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", JPEG, "a JPEG image")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", PNG, "a PNG image")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", GIF, "a GIF image")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", WEBP, "a WebP image")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image", "image/tiff", "a TIFF image")
    # "BM" alone is too weak: also require a known DIB header size.
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack_from("<I", head, 14)[0] in _DIB_HEADER_SIZES:
        return Sniffed("image", "image/bmp", "a BMP image")
    return None


def _sniff_audio(data: bytes, head: bytes) -> Sniffed | None:
    if head[:4] == b"RIFF" and (head[8:12] == b"WAVE" or len(head) < 12):
        # A RIFF file cut inside its 12-byte header is most likely a WAV; the
        # WAV check then reports it as truncated.
        return Sniffed("audio", "audio/wav", "WAV audio")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return Sniffed("audio", "audio/aiff", "AIFF audio")
    if head[:4] == b"fLaC":
        return Sniffed("audio", "audio/flac", "FLAC audio")
    if head[:4] == b"OggS":
        return _sniff_ogg(data)
    if head[:3] == b"ID3":
        # An ID3 tag may front any MPEG-family stream; what follows decides.
        inner = data[_id3_end(data) :]
        if inner[:4] == b"fLaC":
            return Sniffed("audio", "audio/flac", "FLAC audio")
        if _adts_header(inner, 0) is not None:
            return Sniffed("audio", "audio/aac", "AAC audio")
        return Sniffed("audio", "audio/mpeg", "MP3 audio")
    if _mpeg_frame_length(data, 0) is not None and _confirmed_mpeg(data):
        return Sniffed("audio", "audio/mpeg", "MP3 audio")
    if _adts_header(data, 0) is not None:
        return Sniffed("audio", "audio/aac", "AAC audio")
    return None


def _sniff_ogg(data: bytes) -> Sniffed:
    first_page = data[:512]
    if b"theora" in first_page or b"OVP80" in first_page:
        return Sniffed(None, "video/ogg", "an Ogg video")
    return Sniffed("audio", "audio/ogg", "Ogg audio")


def _sniff_container(data: bytes, head: bytes) -> Sniffed | None:
    """ISO media (ftyp) and Matroska/WebM hold images, audio or video alike."""
    if head[4:8] == b"ftyp":
        return _sniff_iso_media(data, head[8:12])
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return _sniff_matroska(data)
    return None


_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AUDIO_MP4_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A "}


def _sniff_iso_media(data: bytes, brand: bytes) -> Sniffed:
    if brand in (b"avif", b"avis"):
        return Sniffed("image", "image/avif", "an AVIF image")
    if brand in _HEIF_BRANDS:
        mime = "image/heic" if brand.startswith(b"he") else "image/heif"
        return Sniffed("image", mime, "a HEIC image")
    if brand in _AUDIO_MP4_BRANDS:
        return Sniffed("audio", "audio/mp4", "M4A audio")
    # Generic brands (isom, mp42, ...) carry video or audio: the handler of
    # each track says which.
    handlers = _mp4_handlers(data)
    if b"vide" in handlers or not handlers:
        return Sniffed(None, "video/mp4", "an MP4 video")
    return Sniffed("audio", "audio/mp4", "M4A audio")


def _mp4_handlers(data: bytes) -> set[bytes]:
    found: set[bytes] = set()
    start = data.find(b"hdlr")
    while start != -1 and len(found) < 8:
        found.add(data[start + 12 : start + 16])
        start = data.find(b"hdlr", start + 4)
    return found


_MATROSKA_VIDEO_CODECS = (b"V_VP8", b"V_VP9", b"V_AV1", b"V_MPEG", b"V_MS/", b"V_THEORA", b"V_UNCOMPRESSED")


def _sniff_matroska(data: bytes) -> Sniffed:
    # Track entries sit near the start; a bounded scan keeps this cheap.
    window = data[: 256 * 1024]
    webm = b"webm" in window[:64]
    if any(codec in window for codec in _MATROSKA_VIDEO_CODECS):
        return Sniffed(None, "video/webm", "a WebM video" if webm else "a Matroska video")
    if webm:
        return Sniffed("audio", "audio/webm", "WebM audio")
    return Sniffed("audio", "audio/x-matroska", "Matroska audio")


def _sniff_other(data: bytes, head: bytes) -> Sniffed | None:
    """Formats mmcli does not send, named so that error messages can say what they are."""
    # PDF readers allow junk before the header; a mention of "%PDF-" in a
    # text file is told apart by the end-of-file marker a real PDF carries.
    if data.startswith(b"%PDF-") or (b"%PDF-" in data[:1024] and b"%%EOF" in data[-1024:]):
        return Sniffed("document", PDF, "a PDF document")
    binary = {
        b"PK\x03\x04": "a ZIP archive (or an Office document)",
        b"\x1f\x8b": "a gzip archive",
        b"\x7fELF": "an executable program",
        b"7z\xbc\xaf": "a 7-Zip archive",
        b"Rar!": "a RAR archive",
    }
    for magic, label in binary.items():
        if head.startswith(magic):
            return Sniffed(None, "application/octet-stream", label)
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed(None, "video/x-msvideo", "an AVI video")
    text = _as_text(data)
    if text is not None:
        return _sniff_text(text)
    return None


_CONTROL_BYTES = bytes(set(range(32)) - {9, 10, 12, 13}) + b"\x7f"


def _as_text(data: bytes) -> str | None:
    """The start of ``data`` as text, or None when it looks binary."""
    sample = data[:4096]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return sample[: len(sample) // 2 * 2].decode("utf-16")
        except UnicodeDecodeError:
            return None
    # Binary formats are full of control bytes; text has next to none.
    if len(sample.translate(None, _CONTROL_BYTES)) < len(sample) * 0.98:
        return None
    try:
        return sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # The sample may end in the middle of a multi-byte character.
        if error.start >= len(sample) - 3:
            return sample[: error.start].decode("utf-8")
        return sample.decode("latin-1")  # legacy 8-bit text


def _sniff_text(text: str) -> Sniffed:
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    if "<svg" in lowered[:2048] and lowered.startswith(("<svg", "<?xml", "<!--", "<!doctype svg")):
        return Sniffed(None, "image/svg+xml", "an SVG drawing, which must be converted to PNG first")
    if lowered.startswith(("<!doctype html", "<html")):
        return Sniffed(None, "text/html", "an HTML page")
    return Sniffed(None, "text/plain", "plain text")


def _id3_end(data: bytes) -> int:
    """Offset just after an ID3v2 tag (its size is stored 7 bits per byte)."""
    if len(data) < 10:
        return len(data)
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if data[5] & 0x10 else 0
    return 10 + size + footer


_MP3_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame_length(data: bytes, at: int) -> int | None:
    """Length of the MPEG Layer III frame whose header starts at ``at``, or None."""
    if len(data) < at + 4 or data[at] != 0xFF or data[at + 1] & 0xE0 != 0xE0:
        return None
    version = (data[at + 1] >> 3) & 0x3
    layer = (data[at + 1] >> 1) & 0x3
    bitrate_index = data[at + 2] >> 4
    rate_index = (data[at + 2] >> 2) & 0x3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    padding = (data[at + 2] >> 1) & 0x1
    rate = _MPEG_RATES[version][rate_index]
    if version == 3:
        return 144_000 * _MP3_BITRATES_V1[bitrate_index] // rate + padding
    return 72_000 * _MP3_BITRATES_V2[bitrate_index] // rate + padding


def _confirmed_mpeg(data: bytes) -> bool:
    """A lone frame-sync pattern is common in random data; require the next frame too."""
    length = _mpeg_frame_length(data, 0)
    if length is None:
        return False
    if len(data) <= length:
        return True  # a single frame: nothing more to confirm against
    return _mpeg_frame_length(data, length) is not None


def _adts_header(data: bytes, at: int) -> int | None:
    """Frame length of an ADTS (raw AAC) frame header at ``at``, or None."""
    if len(data) < at + 7 or data[at] != 0xFF or data[at + 1] & 0xF6 != 0xF0:
        return None
    if (data[at + 2] >> 2) & 0xF >= 13:
        return None
    length = ((data[at + 3] & 0x03) << 11) | (data[at + 4] << 3) | (data[at + 5] >> 5)
    return length if length >= 7 else None


# --------------------------------------------------------------------------
# Loading


def load(source: str, *, stdin: BinaryIO | None = None, expect: str | None = None) -> Part:
    """Read a path, an http(s) URL or ``-`` (stdin) into a validated media Part.

    ``expect`` ("image", "audio" or "document") refuses any other kind with a
    message that says what the file looks like instead.
    """
    name = _display_name(source)
    # Audio may be hours long: transcription splits or uploads it, so it gets a larger cap.
    cap = MAX_AUDIO_INPUT_BYTES if expect == "audio" else MAX_INPUT_BYTES
    data = _read_source(source, name, stdin, cap)
    if not data:
        raise UsageError(f"{name} is empty.")
    found = sniff(data)
    if found is _UNKNOWN:
        found = _sniff_with_pillow(data) or found
    if expect is not None and found.kind != expect:
        raise UsageError(f"{name} is not {_EXPECTED_NOUN[expect]} (it looks like {found.label}).")
    if found.kind is None:
        raise UsageError(
            f"{name} is not an image, audio or PDF file that mmcli can send (it looks like {found.label})."
        )
    if found.kind == "image":
        _validate_image(data, name, found)
    elif found.kind == "audio":
        _validate_audio(data, name, found)
    return Part(kind=found.kind, data=data, mime_type=found.mime_type, source=source)  # type: ignore[arg-type]


def _display_name(source: str) -> str:
    return "stdin" if source == "-" else source


def _read_source(source: str, name: str, stdin: BinaryIO | None, cap: int) -> bytes:
    if source == "-":
        return _read_stdin(stdin, cap)
    if source.startswith(("http://", "https://")):
        return _read_url(source, cap)
    return _read_file(source, name, cap)


def _read_stdin(stream: BinaryIO | None, cap: int) -> bytes:
    if stream is None:
        stream = sys.stdin.buffer
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        raise UsageError("- means read the file from stdin, but stdin is a terminal; pipe the file in.")
    return _read_capped(stream, "stdin", cap)


def _read_file(source: str, name: str, cap: int) -> bytes:
    path = Path(source).expanduser()
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise UsageError(f"{name} is a directory, not a file.")
        if size > cap:
            raise UsageError(f"{name} is too large ({_mb(size)}; mmcli reads files up to {_mb(cap)}).")
        with path.open("rb") as stream:
            return _read_capped(stream, name, cap)
    except FileNotFoundError:
        raise UsageError(f"{name} does not exist.") from None
    except PermissionError:
        raise UsageError(f"{name} cannot be read (permission denied).") from None
    except IsADirectoryError:
        raise UsageError(f"{name} is a directory, not a file.") from None
    except OSError as error:
        raise UsageError(f"{name} cannot be read ({error.strerror or error}).") from None


def _read_capped(stream: BinaryIO, name: str, cap: int) -> bytes:
    # Chunked, because read(cap) would reserve the whole cap up front.
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(1024 * 1024):
        total += len(chunk)
        if total > cap:
            raise UsageError(f"{name} is larger than the {_mb(cap)} mmcli reads.")
        chunks.append(chunk)
    return b"".join(chunks)


def _read_url(url: str, cap: int) -> bytes:
    import socket
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "mmcli"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise UsageError(f"{url} is too large ({_mb(int(declared))}; mmcli downloads up to {_mb(cap)}).")
            return _read_capped(response, url, cap)
    except urllib.error.HTTPError as error:
        raise UsageError(f"Could not download {url} (HTTP {error.code} {error.reason}).") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise UsageError(f"Could not download {url} (no answer within {DOWNLOAD_TIMEOUT_S:.0f} s).") from None
        raise UsageError(f"Could not download {url} ({_reason_text(reason)}).") from None
    except TimeoutError:
        raise UsageError(f"Could not download {url} (no answer within {DOWNLOAD_TIMEOUT_S:.0f} s).") from None
    except (OSError, ValueError) as error:
        raise UsageError(f"Could not download {url} ({_reason_text(error)}).") from None


def _reason_text(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason).rstrip(".") or type(reason).__name__


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


# --------------------------------------------------------------------------
# Image validation


def _register_plugins() -> None:
    """Once per process: silence Pillow's decompression-bomb warning (_open_image
    refuses those images itself), and register optional plugins (HEIC) if installed.

    Not warnings.catch_warnings() around each open: that swaps process-wide
    state, and images are prepared from several threads at once.
    """
    global _plugins_registered
    if _plugins_registered:
        return
    _plugins_registered = True
    from PIL import Image

    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    try:
        from pillow_heif import register_heif_opener  # type: ignore[import-not-found]
    except ImportError:
        return
    register_heif_opener()


_plugins_registered = False


def _open_image(data: bytes, name: str) -> Image.Image:
    """Open (header only) with Pillow, refusing decompression bombs as errors."""
    from PIL import Image

    _register_plugins()
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:  # over twice Pillow's limit
        raise UsageError(_bomb_message(name, str(error))) from None
    pixels = image.width * image.height
    if Image.MAX_IMAGE_PIXELS is not None and pixels > Image.MAX_IMAGE_PIXELS:  # over the limit itself
        raise UsageError(_bomb_message(name, f"({pixels} pixels)"))
    return image


def _bomb_message(name: str, pillow_message: str) -> str:
    from PIL import Image

    match = re.search(r"\((\d+) pixels\)", pillow_message)
    declared = f" ({int(match.group(1)) / 1e6:,.0f} megapixels)" if match else ""
    limit = (Image.MAX_IMAGE_PIXELS or 0) / 1e6
    return (
        f"{name} declares an image too large to decode safely{declared}; "
        f"mmcli refuses images above {limit:,.0f} megapixels."
    )


def _sniff_with_pillow(data: bytes) -> Sniffed | None:
    """Formats without a magic number mmcli knows (ICO, TGA, PPM, ...) but Pillow reads."""
    from PIL import Image

    try:
        with _open_image(data, "") as image:
            fmt = image.format or "unknown"
    except UsageError:
        return Sniffed("image", "image/x-unknown", "an image")
    except Exception:
        return None
    mime = Image.MIME.get(fmt) or f"image/x-{fmt.lower()}"
    article = "an" if fmt[:1] in "AEIOU" else "a"
    return Sniffed("image", mime, f"{article} {fmt} image")


def _validate_image(data: bytes, name: str, found: Sniffed) -> None:
    """Cheap structural checks: header, truncation, chunk CRCs; no full decode of big images."""
    try:
        image = _open_image(data, name)
    except UsageError:
        raise
    except Exception:
        if found.mime_type in ("image/heic", "image/heif", "image/avif"):
            raise UsageError(
                f"{name} is {found.label}, which this installation cannot read; "
                "convert it to JPEG or PNG (or install pillow-heif)."
            ) from None
        raise UsageError(f"{name} is not a valid image (the {_short(found)} data is corrupt).") from None
    with image:
        problem = _image_problem(image, data)
    if problem is not None:
        raise UsageError(f"{name} is {problem}.")


def _short(found: Sniffed) -> str:
    return found.label.split()[1] if found.label.startswith(("a ", "an ")) else found.label


def _image_problem(image: Image.Image, data: bytes) -> str | None:
    fmt = image.format
    label = fmt if fmt not in (None, "MPO") else "JPEG"
    try:
        if fmt in ("JPEG", "MPO"):
            return _jpeg_problem(data)
        if fmt == "PNG":
            image.verify()  # walks every chunk and checks its CRC without decoding pixels
            return None
        if fmt == "WEBP":
            declared = struct.unpack_from("<I", data, 4)[0] + 8
            return f"a truncated {label} image" if declared > len(data) else None
        image.load()  # rarer formats: a full decode is the only check there is
    except Exception as error:
        text = str(error).lower()
        if "truncat" in text or isinstance(error, EOFError):
            return f"a truncated {label} image"
        return f"a corrupt {label} image"
    return None


_JPEG_STANDALONE = set(range(0xD0, 0xD8)) | {0x01}


def _jpeg_problem(data: bytes) -> str | None:
    """Walk the JPEG markers to the first scan, then require an end-of-image marker after it.

    Entropy-coded data escapes every 0xFF byte, so an FF D9 after the scan
    header can only be the real end of the image: its absence means the file
    was cut short. Trailing data after it (e.g. motion photos) is allowed.
    """
    at, size = 2, len(data)
    while at < size:
        if data[at] != 0xFF:
            return "a corrupt JPEG image"
        while at < size and data[at] == 0xFF:
            at += 1
        if at >= size:
            break
        marker = data[at]
        at += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD9 or at + 2 > size:
            break
        length = struct.unpack_from(">H", data, at)[0]
        if marker == 0xDA:
            scan = at + length
            return None if data.find(b"\xff\xd9", scan) != -1 else "a truncated JPEG image"
        at += length
    return "a truncated JPEG image"


# --------------------------------------------------------------------------
# Audio validation


def _validate_audio(data: bytes, name: str, found: Sniffed) -> None:
    checks = {
        "audio/wav": _wav_problem,
        "audio/aiff": _aiff_problem,
        "audio/flac": _flac_problem,
        "audio/mpeg": _mp3_problem,
        "audio/ogg": _ogg_problem,
        "audio/mp4": _mp4_problem,
    }
    check = checks.get(found.mime_type)
    problem = check(data) if check is not None else None
    if problem is not None:
        raise UsageError(f"{name} is {problem}.")


def _riff_chunks(data: bytes, start: int, little_endian: bool) -> dict[bytes, tuple[int, int]]:
    """Map each chunk id to (offset of its payload, its declared size)."""
    chunks: dict[bytes, tuple[int, int]] = {}
    fmt = "<I" if little_endian else ">I"
    at = start
    while at + 8 <= len(data):
        chunk_id = data[at : at + 4]
        size = struct.unpack_from(fmt, data, at + 4)[0]
        chunks.setdefault(chunk_id, (at + 8, size))
        at += 8 + size + (size & 1)
    return chunks


def _wav_problem(data: bytes) -> str | None:
    if len(data) < 12:
        return "a truncated WAV file (its header is cut off)"
    chunks = _riff_chunks(data, 12, little_endian=True)
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


def _aiff_problem(data: bytes) -> str | None:
    chunks = _riff_chunks(data, 12, little_endian=False)
    if b"COMM" not in chunks or b"SSND" not in chunks:
        return "a truncated or corrupt AIFF file (its COMM or SSND chunk is missing)"
    return None


def _flac_problem(data: bytes) -> str | None:
    at, last = 4, False
    while not last:
        if at + 4 > len(data):
            return "a truncated FLAC file (its metadata is cut off)"
        last = bool(data[at] & 0x80)
        block_type = data[at] & 0x7F
        length = int.from_bytes(data[at + 1 : at + 4], "big")
        if at == 4 and (block_type != 0 or length != 34):
            return "a corrupt FLAC file (it does not start with a stream-info block)"
        at += 4 + length
    if at >= len(data):
        return "a truncated FLAC file (it has no audio frames)"
    return None


def _mp3_problem(data: bytes) -> str | None:
    start = _id3_end(data) if data[:3] == b"ID3" else 0
    if start >= len(data):
        return "a truncated MP3 file (it holds only a tag, no audio)"
    # Some encoders pad between the tag and the first frame; look a little ahead.
    window = data[start : start + 64 * 1024]
    for at in range(min(len(window), 4096)):
        if window[at] == 0xFF and _mpeg_frame_length(window, at) is not None:
            return None
    return "a corrupt MP3 file (no MPEG audio frame was found)"


def _ogg_problem(data: bytes) -> str | None:
    if len(data) < 27:
        return "a truncated Ogg file (its first page is cut off)"
    segments = data[26]
    body = 27 + segments + sum(data[27 : 27 + segments])
    if len(data) < body or 27 + segments > len(data):
        return "a truncated Ogg file (its first page is cut off)"
    return None


def _mp4_problem(data: bytes) -> str | None:
    boxes: set[bytes] = set()
    at = 0
    while at + 8 <= len(data):
        size = struct.unpack_from(">I", data, at)[0]
        boxes.add(data[at + 4 : at + 8])
        if size == 1 and at + 16 <= len(data):
            size = struct.unpack_from(">Q", data, at + 8)[0]
        elif size == 0:
            size = len(data) - at
        if size < 8:
            return "a corrupt M4A file (a box has an impossible size)"
        at += size
    if b"moov" not in boxes:
        return "a truncated M4A file (its index, the moov box, is missing)"
    if at > len(data):
        return "a truncated M4A file (its last box is cut off)"
    return None


# --------------------------------------------------------------------------
# Preparing for a provider


def prepare(part: Part, provider: str, *, purpose: str = "chat") -> Part:
    """Return ``part`` as ``provider`` should receive it.

    The same object when it is acceptable as it is; otherwise a new Part
    (same ``source``) converted, rotated upright or downscaled to the
    provider's documented limits. ``purpose="transcription"`` applies the
    OpenAI transcription endpoint's wider list of audio formats.
    """
    limits = _limits(provider)
    if part.kind == "image":
        return _prepare_image(part, limits)
    if part.kind == "audio":
        return _prepare_audio(part, provider, limits, purpose)
    return part


def _limits(provider: str) -> ProviderLimits:
    try:
        return PROVIDER_LIMITS[provider]
    except KeyError:
        raise UsageError(f"mmcli does not know the media limits of provider {provider!r}.") from None


def fits_request(parts: Iterable[Part], provider: str) -> None:
    """Raise UsageError when the inline media of one request exceed what ``provider`` takes."""
    limits = _limits(provider)
    attached = [p for p in parts if p.is_media]
    if limits.max_request_bytes is None or not attached:
        return
    total = sum(len(p.data) for p in attached)
    if total <= limits.max_request_bytes:
        return
    largest = max(attached, key=lambda p: len(p.data))
    raise UsageError(
        f"The attached files add up to {_mb(total)}, more than the {_mb(limits.max_request_bytes)} "
        f"{limits.label} accepts in one request (the largest is {_display_name(largest.source)}, "
        f"{_mb(len(largest.data))}); attach fewer or smaller files."
    )


def image_size(part: Part) -> tuple[int, int]:
    """Width and height in pixels as stored (before any EXIF rotation), read from the header."""
    with _open_stored(part) as image:
        return image.size


def audio_format(part: Part) -> str:
    """The short format name ("wav", "mp3", ...) of an audio part, as OpenAI's ``input_audio`` wants."""
    try:
        return MIME_TO_AUDIO_FORMAT[part.mime_type]
    except KeyError:
        raise ValueError(f"not an audio MIME type mmcli knows: {part.mime_type!r}") from None


# -- images


def _prepare_image(part: Part, limits: ProviderLimits) -> Part:
    name = _display_name(part.source)
    with _open_stored(part) as image:
        orientation = _orientation(image)
        swapped = orientation in (5, 6, 7, 8)
        upright = (image.height, image.width) if swapped else image.size
        target = _fit(upright, limits)
        if _passes_through(part, image, limits, target, orientation):
            return part
        out_type = _output_type(part.mime_type, image, limits)
        stored_target = None if target is None else ((target[1], target[0]) if swapped else target)
        # A CMYK or grayscale profile would mislabel the RGB pixels written out.
        icc = image.info.get("icc_profile") if image.mode in ("RGB", "RGBA", "P", "PA") else None
        try:
            picture = _decode_scaled(image, stored_target)
        except Exception as error:
            raise UsageError(f"{name} could not be decoded ({_reason_text(error)}).") from None
    picture = _apply_orientation(picture, orientation)
    data, out_type = _encode_within(picture, out_type, limits, name, icc)
    return Part(kind="image", data=data, mime_type=out_type, source=part.source)


def _open_stored(part: Part) -> Image.Image:
    """Open a part that was loaded earlier (perhaps in another run, from a session)."""
    name = _display_name(part.source)
    try:
        return _open_image(part.data, name)
    except UsageError:
        raise
    except Exception as error:
        raise UsageError(f"{name} could not be decoded as an image ({_reason_text(error)}).") from None


def _orientation(image: Image.Image) -> int:
    # A PNG's getexif() decodes the whole image when the eXIf chunk comes
    # after the pixels; such files are rare enough to skip.
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _fit(size: tuple[int, int], limits: ProviderLimits) -> tuple[int, int] | None:
    """The largest size within the provider's limits, or None when ``size`` already fits."""
    width, height = size
    scale = min(1.0, limits.max_long_edge / max(width, height))
    if limits.max_short_edge is not None:
        scale = min(scale, limits.max_short_edge / min(width, height))
    if limits.max_pixels is not None:
        scale = min(scale, (limits.max_pixels / (width * height)) ** 0.5)
    if scale >= 1.0:
        return None
    return max(1, int(width * scale)), max(1, int(height * scale))


def _passes_through(
    part: Part, image: Image.Image, limits: ProviderLimits, target: tuple[int, int] | None, orientation: int
) -> bool:
    if target is not None or orientation != 1 or len(part.data) > limits.max_image_bytes:
        return False
    if part.mime_type not in limits.image_types or image.mode == "CMYK":
        return False
    if part.mime_type == GIF and not limits.animated_gif:
        return not getattr(image, "is_animated", False)
    return True


def _output_type(source_type: str, image: Image.Image, limits: ProviderLimits) -> str:
    """Keep JPEG, PNG and WebP when accepted; otherwise PNG for transparency, JPEG for the rest."""
    if source_type in (JPEG, PNG, WEBP) and source_type in limits.image_types:
        return source_type
    if source_type == GIF or image.has_transparency_data:
        return PNG  # lossless for palette graphics, and keeps alpha
    return JPEG


def _decode_scaled(image: Image.Image, target: tuple[int, int] | None) -> Image.Image:
    """Decode at no more than ``target`` size, as cheaply as the format allows."""
    from PIL import Image

    if target is not None and image.format in ("JPEG", "MPO"):
        # Ask libjpeg for a DCT-domain reduction a little below the target, so
        # that a scale landing within _DRAFT_SLACK needs no resampling at all.
        wanted = (max(1, int(target[0] * _DRAFT_SLACK)), max(1, int(target[1] * _DRAFT_SLACK)))
        image.draft("RGB" if image.mode == "RGB" else None, wanted)
    image.load()
    picture = _displayable(image)
    if target is None or (picture.width <= target[0] and picture.height <= target[1]):
        return picture
    return picture.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _displayable(image: Image.Image) -> Image.Image:
    """Convert to one of the 8-bit modes every encoder and model handles."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I;16"):
        # A plain convert would clip 16-bit values to white; scale them down instead.
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _apply_orientation(picture: Image.Image, orientation: int) -> Image.Image:
    from PIL import Image

    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return picture if method is None else picture.transpose(method)


def _encode(picture: Image.Image, mime_type: str, quality: int, icc: bytes | None) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc  # keeps wide-gamut (Display P3) photos' colours right
    if mime_type == JPEG:
        if picture.mode not in ("RGB", "L"):
            picture = picture.convert("RGB")
        picture.save(buffer, "JPEG", quality=quality, **options)
    elif mime_type == WEBP:
        picture.save(buffer, "WEBP", quality=quality, **options)
    else:
        picture.save(buffer, "PNG", **options)
    return buffer.getvalue()


def _encode_within(
    picture: Image.Image, mime_type: str, limits: ProviderLimits, name: str, icc: bytes | None
) -> tuple[bytes, str]:
    """Encode, then trade quality, format and finally size until the bytes fit."""
    from PIL import Image

    if mime_type == JPEG and picture.mode in ("RGBA", "LA"):
        mime_type = PNG  # never drop transparency into a JPEG
    quality = _JPEG_QUALITY
    for _ in range(10):
        data = _encode(picture, mime_type, quality, icc)
        if len(data) <= limits.max_image_bytes:
            return data, mime_type
        if mime_type == PNG and not picture.has_transparency_data and JPEG in limits.image_types:
            mime_type = JPEG
        elif mime_type in (JPEG, WEBP) and quality > 60:
            quality -= 10
        else:
            shrink = max(0.5, (limits.max_image_bytes / len(data)) ** 0.5 * 0.9)
            size = (max(1, int(picture.width * shrink)), max(1, int(picture.height * shrink)))
            picture = picture.resize(size, Image.Resampling.LANCZOS)
    raise UsageError(f"{name} cannot be made smaller than the {_mb(limits.max_image_bytes)} {limits.label} accepts.")


# -- audio


def _prepare_audio(part: Part, provider: str, limits: ProviderLimits, purpose: str) -> Part:
    accepted = limits.audio_types
    if purpose == "transcription" and provider == "openai":
        accepted = OPENAI_TRANSCRIPTION_AUDIO_TYPES
    if not accepted:
        raise UsageError(f"{limits.label} does not take audio input.")
    spelled = _respell(part.mime_type, limits)
    if spelled in accepted:
        if spelled == part.mime_type:
            return part
        return Part(kind="audio", data=part.data, mime_type=spelled, source=part.source)
    converted = _convert_to_mp3(part, limits)
    return Part(kind="audio", data=converted, mime_type=_respell("audio/mpeg", limits), source=part.source)


def _respell(mime_type: str, limits: ProviderLimits) -> str:
    return dict(limits.audio_spelling).get(mime_type, mime_type)


def _convert_to_mp3(part: Part, limits: ProviderLimits) -> bytes:
    """Transcode with ffmpeg; MP3 is the one format every audio-taking provider accepts."""
    import subprocess
    import tempfile

    name = _display_name(part.source)
    kind = MIME_TO_AUDIO_FORMAT.get(part.mime_type, "this").upper()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise UsageError(
            f"{name} is {kind} audio, which {limits.label} does not accept, and converting it needs ffmpeg; "
            "install ffmpeg or convert the file to MP3 or WAV."
        )
    with tempfile.TemporaryDirectory(prefix="mmcli-audio-") as folder:
        source = os.path.join(folder, "input." + MIME_TO_AUDIO_FORMAT.get(part.mime_type, "bin"))
        target = os.path.join(folder, "output.mp3")
        with open(source, "wb") as stream:
            stream.write(part.data)
        command = [
            *(ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", source),
            *("-vn", "-map_metadata", "-1", "-codec:a", "libmp3lame", "-q:a", "4", target),
        ]
        try:
            result = subprocess.run(command, capture_output=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise UsageError(f"ffmpeg could not convert {name} to MP3 ({_reason_text(error)}).") from None
        if result.returncode != 0 or not os.path.exists(target):
            detail = result.stderr.decode(errors="replace").strip().splitlines()
            reason = detail[-1].rstrip(".") if detail else f"exit status {result.returncode}"
            raise UsageError(f"ffmpeg could not convert {name} to MP3 ({reason}).")
        with open(target, "rb") as stream:
            return stream.read()
