"""Shaping media for one provider: each kind goes to its own module, and a
whole request is checked against the provider's limit for one request.

Callers pass the provider's ``ProviderLimits`` (a provider class's
``media_limits``; ``providers.registry.media_limits_of`` by name): media sits
below the providers and never looks one up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ..conversation import Message, Part, Request
from ..errors import UsageError
from .describe import display_name, mb
from .limits import ProviderLimits

# Request options that choose how a video becomes frames (part of the cache key).
FPS_OPTION = "video_fps"
MAX_FRAMES_OPTION = "video_max_frames"


def prepare(part: Part, limits: ProviderLimits) -> Part:
    """Return ``part`` as the provider whose ``limits`` these are should receive it.

    The same object when it is acceptable as it is; otherwise a new Part
    (same ``source``) converted, rotated upright or downscaled to the
    provider's documented limits. An endpoint with limits of its own (OpenAI's
    transcription endpoint takes more audio formats) has its own ``ProviderLimits``.
    """
    if part.kind == "image":
        from .images import prepare_image

        return prepare_image(part, limits)
    if part.kind == "audio":
        from .audio import prepare_audio

        return prepare_audio(part, limits)
    if part.kind == "video":
        from .video import prepare_video, takes_natively

        if not takes_natively(part, limits):
            raise UsageError(f"{limits.label} does not take video itself; mmcli sends it frames instead.")
        return prepare_video(part, limits)
    return part


def fits_request(parts: Iterable[Part], limits: ProviderLimits) -> None:
    """Raise UsageError when the inline media of one request exceed what the provider (its ``limits``) takes."""
    attached = [p for p in parts if p.is_media]
    images = sum(1 for p in attached if p.kind == "image")
    if limits.max_images is not None and images > limits.max_images:
        raise UsageError(
            f"The request holds {images} images, more than the {limits.max_images} {limits.label} takes at once; "
            "attach fewer, or lower --max-frames."
        )
    if limits.video_upload:  # videos too large to go inline are uploaded, not sent in the request
        from .video import inline_limit

        inline = inline_limit(limits)
        attached = [p for p in attached if p.kind != "video" or len(p.data) <= inline]
    if limits.max_request_bytes is None or not attached:
        return
    total = sum(len(p.data) for p in attached)
    if total <= limits.max_request_bytes:
        return
    largest = max(attached, key=lambda p: len(p.data))
    raise UsageError(
        f"The attached files add up to {mb(total)}, more than the {mb(limits.max_request_bytes)} "
        f"{limits.label} accepts in one request (the largest is {display_name(largest.source)}, "
        f"{mb(len(largest.data))}); attach fewer or smaller files."
    )


def for_provider(request: Request, limits: ProviderLimits) -> Request:
    """The request as its provider (whose ``limits`` these are) can take it: each video
    that the provider does not take natively replaced by sampled frames with their
    timestamps (the same request when there is nothing to replace). Sessions and the
    cache key keep the video."""
    if not any(p.kind == "video" for m in request.messages for p in m.parts):
        return request
    from . import video

    fps = float(request.options.get(FPS_OPTION) or video.DEFAULT_FPS)  # type: ignore[arg-type]
    max_frames = int(request.options.get(MAX_FRAMES_OPTION) or video.DEFAULT_MAX_FRAMES)  # type: ignore[call-overload]
    messages = []
    changed = False
    for message in request.messages:
        if not any(p.kind == "video" and not video.takes_natively(p, limits) for p in message.parts):
            messages.append(message)
            continue
        changed = True
        parts: list[Part] = []
        for part in message.parts:
            if part.kind == "video" and not video.takes_natively(part, limits):
                parts += video.as_frames(part, limits, fps=fps, max_frames=max_frames)
            else:
                parts.append(part)
        messages.append(Message(role=message.role, parts=parts, incomplete=message.incomplete))
    return replace(request, messages=messages) if changed else request
