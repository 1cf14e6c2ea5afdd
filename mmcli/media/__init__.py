"""Media attachments: reading them (``load``), shaping them for a provider
(``prepare``, ``fits_request``, ``for_provider`` for video), and the audio
conversion transcription and live audio use (``audio.to_pcm``).

One job per module: ``sources`` reads paths, URLs and stdin; ``sniff`` names
formats from magic numbers; ``images`` (Pillow), ``audio`` and ``video``
(PyAV) validate and convert; ``limits`` is the vocabulary of provider limits
and ``describe`` the wording of sources and sizes, the two at the bottom. The
imports run one way: reading calls down into converting, never back, and
nothing here imports a provider (callers pass the provider's limits in).
Importing this package imports neither Pillow nor PyAV nor urllib: those load
only when an image, a recording or a URL needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .limits import MAX_AUDIO_INPUT_BYTES, MAX_INPUT_BYTES, MAX_VIDEO_INPUT_BYTES
from .prepare import FPS_OPTION, MAX_FRAMES_OPTION, fits_request, for_provider, prepare
from .sniff import Sniffed, sniff
from .sources import load

if TYPE_CHECKING:
    from ..conversation import Part

__all__ = [
    "FPS_OPTION",
    "MAX_AUDIO_INPUT_BYTES",
    "MAX_FRAMES_OPTION",
    "MAX_INPUT_BYTES",
    "MAX_VIDEO_INPUT_BYTES",
    "MIME_TO_AUDIO_FORMAT",
    "Sniffed",
    "audio_format",
    "fits_request",
    "for_provider",
    "image_size",
    "load",
    "prepare",
    "sniff",
]


def audio_format(part: Part) -> str:
    """The short format name ("wav", "mp3", ...) of an audio part, as OpenAI's ``input_audio`` wants."""
    from .audio import audio_format as format_of

    return format_of(part)


def image_size(part: Part) -> tuple[int, int]:
    """Width and height in pixels as stored (before any EXIF rotation)."""
    from .images import image_size as size_of

    return size_of(part)


def __getattr__(name: str) -> object:
    if name == "MIME_TO_AUDIO_FORMAT":
        from .audio import MIME_TO_AUDIO_FORMAT

        return MIME_TO_AUDIO_FORMAT
    raise AttributeError(name)
