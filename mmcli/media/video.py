"""Video: checking it with PyAV, and, for models that take only images,
sampling frames that go out as images with their timestamps in the text.

Gemini takes video natively; every other vision model gets ``as_frames``:
by default one frame a second, at most 60, spread evenly over a longer video.
PyAV (and Pillow, for the JPEG frames) are imported inside the functions.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from typing import Any

from ..conversation import Part
from ..errors import UsageError
from .describe import display_name, mb, reason_text
from .limits import JPEG, ProviderLimits

DEFAULT_FPS = 1.0
DEFAULT_MAX_FRAMES = 60
# Beyond this gap between wanted frames, seeking to each is cheaper than decoding everything between.
_SEEK_GAP_S = 4.0
_JPEG_QUALITY = 85


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float
    width: int
    height: int


def _open(part: Part) -> tuple[Any, Any, str]:
    import av

    name = display_name(part.source) or "the video"
    try:
        container = av.open(io.BytesIO(part.data), "r")
    except (av.FFmpegError, OSError, ValueError) as error:
        raise UsageError(f"{name} could not be decoded as a video ({_why(error)}).") from None
    if not container.streams.video:
        container.close()
        raise UsageError(f"{name} has no video track.")
    return container, container.streams.video[0], name


def _why(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return reason_text(text.split(": '")[0])


def probe(part: Part) -> VideoInfo:
    """Length and frame size, and proof that the first frame decodes (UsageError otherwise)."""
    import av

    container, stream, name = _open(part)
    with container:
        seconds = _duration(container, stream)
        try:
            first = next(iter(container.decode(stream)), None)
        except av.FFmpegError as error:
            raise UsageError(f"{name} could not be decoded as a video ({_why(error)}).") from None
        if first is None:
            raise UsageError(f"{name} could not be decoded as a video (it holds no frames).")
        return VideoInfo(seconds, first.width, first.height)


def _duration(container: Any, stream: Any) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return 0.0


def sample_times(duration_s: float, fps: float, max_frames: int) -> list[float]:
    """When to take frames: every 1/fps seconds, spread wider so that at most ``max_frames`` are taken."""
    if duration_s <= 0:
        return [0.0]
    step = max(1.0 / fps, duration_s / max_frames)
    count = max(1, min(max_frames, int(duration_s / step + 1e-9) + (1 if duration_s % step > 1e-6 else 0)))
    return [round(index * step, 3) for index in range(count)]


def frames(part: Part, *, fps: float = DEFAULT_FPS, max_frames: int = DEFAULT_MAX_FRAMES,
           long_edge: int | None = None) -> list[tuple[float, bytes]]:
    """(timestamp in seconds, JPEG bytes) of the sampled frames, each no longer than ``long_edge`` pixels."""
    import av

    container, stream, name = _open(part)
    taken: list[tuple[float, bytes]] = []
    with container:
        times = sample_times(_duration(container, stream), fps, max_frames)
        stream.thread_type = "AUTO"
        try:
            if len(times) > 1 and times[1] - times[0] >= _SEEK_GAP_S:
                for wanted in times:
                    found = _frame_at(container, stream, wanted)
                    if found is not None:
                        taken.append((wanted, _jpeg(found, long_edge)))
            else:
                taken = _sequential(container, stream, times, long_edge)
        except av.FFmpegError as error:
            if not taken:
                raise UsageError(f"{name} could not be decoded as a video ({_why(error)}).") from None
    if not taken:
        raise UsageError(f"{name} could not be decoded as a video (it holds no frames).")
    return taken


def _sequential(container: Any, stream: Any, times: list[float], long_edge: int | None) -> list[tuple[float, bytes]]:
    taken: list[tuple[float, bytes]] = []
    pending = list(times)
    for frame in container.decode(stream):
        stamp = frame.time if frame.time is not None else 0.0
        if pending and stamp + 1e-3 >= pending[0]:
            taken.append((pending[0], _jpeg(frame, long_edge)))
            while pending and stamp + 1e-3 >= pending[0]:
                pending.pop(0)
        if not pending:
            break
    return taken


def _frame_at(container: Any, stream: Any, wanted: float) -> Any:
    """The first frame at or after ``wanted`` seconds: seek to the keyframe before it, decode forward."""
    target = int(wanted / stream.time_base) + (stream.start_time or 0)
    container.seek(target, stream=stream, backward=True, any_frame=False)
    last = None
    for frame in container.decode(stream):
        last = frame
        if frame.time is None or frame.time + 1e-3 >= wanted:
            return frame
    return last


def _jpeg(frame: Any, long_edge: int | None) -> bytes:
    width, height = frame.width, frame.height
    if long_edge and max(width, height) > long_edge:
        scale = long_edge / max(width, height)
        width, height = max(2, int(width * scale)), max(2, int(height * scale))
    image = frame.to_image(width=width, height=height)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=_JPEG_QUALITY)
    return buffer.getvalue()


def clock(seconds: float) -> str:
    """0:07, 1:02:03: how a timestamp reads in the text beside a frame."""
    whole, tenth = divmod(math.floor(seconds * 10 + 0.5), 10)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    tenths = f".{tenth}" if tenth else ""
    return f"{hours}:{minutes:02d}:{secs:02d}{tenths}" if hours else f"{minutes}:{secs:02d}{tenths}"


# Frames of one video for one size, kept for the process: compare asks for the
# same frames for several models at once, and history re-sends them every turn.
_frames_cache: dict[tuple[str, float, int, int | None], list[Part]] = {}
_frames_lock = threading.Lock()


def as_frames(part: Part, limits: ProviderLimits, *, fps: float = DEFAULT_FPS,
              max_frames: int = DEFAULT_MAX_FRAMES) -> list[Part]:
    """A video as parts for an image-only model: a text line saying what follows,
    then, for each sampled frame, its timestamp as text and the frame as a JPEG image."""
    if limits.max_images is not None:
        max_frames = min(max_frames, limits.max_images)
    key = (part.sha256, fps, max_frames, limits.max_long_edge)
    with _frames_lock:
        cached = _frames_cache.get(key)
        if cached is None:
            taken = frames(part, fps=fps, max_frames=max_frames, long_edge=limits.max_long_edge)
            name = display_name(part.source) or "the video"
            step = taken[1][0] - taken[0][0] if len(taken) > 1 else 0.0
            every = f", one every {step:g} s" if step else ""
            intro = (f"[Video {name}: {len(taken)} frames{every}, each after its timestamp "
                     "(minutes:seconds from the start).]")
            cached = [Part.of_text(intro)]
            for stamp, data in taken:
                cached.append(Part.of_text(f"[{clock(stamp)}]"))
                cached.append(Part(kind="image", data=data, mime_type=JPEG, source=f"{part.source}@{clock(stamp)}"))
            _frames_cache[key] = cached
    return cached


# Lowers the size above which a video is uploaded rather than sent inline (for tests and slow links).
INLINE_ENV = "MMCLI_VIDEO_INLINE_MAX_BYTES"


def inline_limit(limits: ProviderLimits) -> int:
    """The largest video sent inline in the request; larger ones are uploaded (or refused)."""
    import os

    limit = limits.max_request_bytes or 0
    override = os.environ.get(INLINE_ENV, "").strip()
    if override.isdigit():
        limit = min(limit, int(override)) if limit else int(override)
    return limit


def prepare_video(part: Part, limits: ProviderLimits) -> Part:
    """A video for a provider that takes video: respelled, checked, and within what it takes inline
    (or can upload). Callers check ``takes_natively`` first."""
    name = display_name(part.source) or "the video"
    probe(part)
    spelled = dict(limits.video_spelling).get(part.mime_type, part.mime_type)
    inline = inline_limit(limits)
    if not limits.video_upload and inline and len(part.data) > inline:
        raise UsageError(
            f"{name} is {mb(len(part.data))}, more than the {mb(inline)} {limits.label} takes inline, "
            "and mmcli cannot upload videos there; trim or compress the video, or use a gemini: model."
        )
    if spelled == part.mime_type:
        return part
    return Part(kind="video", data=part.data, mime_type=spelled, source=part.source)


def takes_natively(part: Part, limits: ProviderLimits) -> bool:
    spelled = dict(limits.video_spelling).get(part.mime_type, part.mime_type)
    return spelled in limits.video_types
