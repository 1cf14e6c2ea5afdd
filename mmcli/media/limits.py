"""The vocabulary of media limits, and mmcli's own caps on what it reads.

What each provider accepts is written down by the provider itself
(``mmcli/providers/media_limits.py``, referenced as each provider class's
``media_limits``); this module only defines the shape. It imports nothing of
mmcli's, so both ``mmcli.media`` and ``mmcli.providers`` stand on it: media is
handed a provider's limits by its caller and never looks a provider up.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
GIF = "image/gif"
HEIC = "image/heic"
HEIF = "image/heif"
AVIF = "image/avif"


@dataclass(frozen=True)
class ProviderLimits:
    """Media limits of one provider's chat endpoint."""

    label: str  # how messages name the provider
    image_types: frozenset[str]  # MIME types sent as they are
    animated_gif: bool  # whether an animated GIF may be sent as is
    max_long_edge: int  # pixels; larger images are downscaled
    max_short_edge: int | None  # pixels; the model rescales beyond this anyway
    max_pixels: int | None  # pixel budget; the model rescales beyond this anyway
    max_image_bytes: int  # per image, raw bytes
    max_request_bytes: int | None  # all inline media of one request, raw bytes
    audio_types: frozenset[str]  # MIME types accepted as they are
    # Some providers document another spelling of the same MIME type.
    audio_spelling: tuple[tuple[str, str], ...] = ()
    # Video taken natively (empty: the video is sent as sampled frames).
    video_types: frozenset[str] = frozenset()
    video_spelling: tuple[tuple[str, str], ...] = ()
    # Whether a video too large to go inline can be uploaded (Gemini's Files API).
    video_upload: bool = False
    # Images one request may carry (frames of a video count).
    max_images: int | None = None


# Inputs larger than this are refused before they are read in full: no
# provider takes more inline, and it bounds memory for a mistaken path or URL.
MAX_INPUT_BYTES = 100 * MB
# Long recordings for `transcribe` (split, or uploaded to Gemini's file API,
# which takes 2 GB) and videos (Gemini's Files API takes 2 GB as well).
MAX_AUDIO_INPUT_BYTES = 2048 * MB
MAX_VIDEO_INPUT_BYTES = 2048 * MB

# Seconds to wait for a URL's server between bytes, and for the whole download
# when the command gives no request timeout of its own.
DOWNLOAD_READ_TIMEOUT_S = 30.0
DOWNLOAD_TIMEOUT_S = 60.0
# Redirects followed for one URL before giving up.
MAX_REDIRECTS = 5
