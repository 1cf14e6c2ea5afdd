"""What a file is, from its first bytes: magic numbers only, never the name.

Kept by hand because it answers in microseconds without importing anything
(PyAV takes ~65 ms to import and Pillow ~20 ms; see bench/bench_media.py),
and it decides which of those is needed at all. It also names what mmcli
cannot send ("a ZIP archive"), so refusals can say what the file looks like.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .limits import GIF, JPEG, PNG, WEBP

PDF = "application/pdf"


@dataclass(frozen=True)
class Sniffed:
    """What the bytes are: ``kind`` is None for anything mmcli cannot send."""

    kind: str | None
    mime_type: str
    label: str  # for messages: "a PNG image", "MP3 audio", "plain text"

    @property
    def settled(self) -> bool:
        """Whether the first bytes alone decide (a container's tracks may follow much later)."""
        return self.mime_type not in _UNSETTLED


UNKNOWN = Sniffed(None, "application/octet-stream", "binary data of an unknown type")
# Containers whose kind (audio or video) may depend on track headers beyond the first bytes.
_UNSETTLED = frozenset({"video/mp4", "audio/mp4", "video/webm", "audio/webm", "video/x-matroska",
                        "audio/x-matroska", "video/ogg", "audio/ogg", "video/quicktime"})


def sniff(data: bytes) -> Sniffed:
    """Identify ``data`` from its magic numbers; never looks at a file name."""
    head = data[:64]
    for check in (_sniff_image, _sniff_audio, _sniff_container, _sniff_other):
        found = check(data, head)
        if found is not None:
            return found
    return UNKNOWN


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
        inner = data[id3_end(data) :]
        if inner[:4] == b"fLaC":
            return Sniffed("audio", "audio/flac", "FLAC audio")
        if adts_header(inner, 0) is not None:
            return Sniffed("audio", "audio/aac", "AAC audio")
        return Sniffed("audio", "audio/mpeg", "MP3 audio")
    if mpeg_frame_length(data, 0) is not None and _confirmed_mpeg(data):
        return Sniffed("audio", "audio/mpeg", "MP3 audio")
    if adts_header(data, 0) is not None:
        return Sniffed("audio", "audio/aac", "AAC audio")
    return None


def _sniff_ogg(data: bytes) -> Sniffed:
    first_page = data[:512]
    if b"theora" in first_page or b"OVP80" in first_page:
        return Sniffed("video", "video/ogg", "an Ogg video")
    return Sniffed("audio", "audio/ogg", "Ogg audio")


def _sniff_container(data: bytes, head: bytes) -> Sniffed | None:
    """ISO media (ftyp), Matroska/WebM, AVI, FLV and MPEG streams hold images, audio or video."""
    if head[4:8] == b"ftyp":
        return _sniff_iso_media(data, head[8:12])
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return _sniff_matroska(data)
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video", "video/avi", "an AVI video")
    if head[:3] == b"FLV" and len(head) > 4 and head[3] == 1:
        return Sniffed("video", "video/x-flv", "an FLV video")
    if head[:4] == b"\x00\x00\x01\xba":
        return Sniffed("video", "video/mpeg", "an MPEG video")
    if head[:16] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c":
        return Sniffed("video", "video/wmv", "a Windows Media video")
    if len(data) > 376 and data[0] == 0x47 and data[188] == 0x47 and data[376] == 0x47:
        return Sniffed("video", "video/mp2t", "an MPEG transport stream")
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
    if brand == b"qt  ":
        return Sniffed("video", "video/quicktime", "a QuickTime video")
    if brand.startswith(b"3g"):
        return Sniffed("video", "video/3gpp", "a 3GP video")
    # Generic brands (isom, mp42, ...) carry video or audio: the handler of
    # each track says which.
    handlers = _mp4_handlers(data)
    if b"vide" in handlers or not handlers:
        return Sniffed("video", "video/mp4", "an MP4 video")
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
        if webm:
            return Sniffed("video", "video/webm", "a WebM video")
        return Sniffed("video", "video/x-matroska", "a Matroska video")
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


def id3_end(data: bytes) -> int:
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


def mpeg_frame_length(data: bytes, at: int) -> int | None:
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
    length = mpeg_frame_length(data, 0)
    if length is None:
        return False
    if len(data) <= length:
        return True  # a single frame: nothing more to confirm against
    return mpeg_frame_length(data, length) is not None


def adts_header(data: bytes, at: int) -> int | None:
    """Frame length of an ADTS (raw AAC) frame header at ``at``, or None."""
    if len(data) < at + 7 or data[at] != 0xFF or data[at + 1] & 0xF6 != 0xF0:
        return None
    if (data[at + 2] >> 2) & 0xF >= 13:
        return None
    length = ((data[at + 3] & 0x03) << 11) | (data[at + 4] << 3) | (data[at + 5] >> 5)
    return length if length >= 7 else None


_ISO_MEDIA = frozenset({"audio/mp4", "video/mp4", "video/quicktime", "video/3gpp"})


def iso_media_problem(data: bytes, mime_type: str, label: str) -> str | None:
    """A cut-off or index-less MP4/M4A/MOV, from its top-level boxes alone (no decoding)."""
    if mime_type not in _ISO_MEDIA:
        return None
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
            return f"a corrupt {label} file (a box has an impossible size)"
        at += size
    if b"moov" not in boxes:
        return f"a truncated {label} file (its index, the moov box, is missing)"
    if at > len(data):
        return f"a truncated {label} file (its last box is cut off)"
    return None
