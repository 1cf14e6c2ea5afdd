"""What Gemini's chat and speech-to-text code share (``gemini`` and ``gemini_speech``
both import it; neither imports the other): the answer text of a streamed
candidate, and the file API (Developer API only), through which audio or video
too large to go inline is uploaded, used by its URI, and deleted afterwards (it
would expire in 48 hours)."""

from __future__ import annotations

import io
import time
from typing import Any

from ..conversation import Part
from ..errors import ProviderError

# Seconds between polls while the file API processes an upload, and the most to wait.
_POLL_S = 1.0
_MAX_PROCESSING_S = 600.0


def answer_texts(candidate: Any) -> list[str]:
    """The answer text of a streamed candidate; thought parts are the model's reasoning, not its answer."""
    parts = (candidate.content.parts if candidate.content else None) or ()
    return [part.text for part in parts if part.text and not part.thought]


def upload(client: Any, part: Part, timeout: float) -> Any:
    """The audio (or video) through the file API, once it is ready to be used."""
    name = part.source.rsplit("/", 1)[-1] if part.source not in ("", "-") else "stdin"
    uploaded = client.files.upload(
        file=io.BytesIO(part.data), config={"mime_type": part.mime_type, "display_name": name[:100] or "audio"}
    )
    deadline = time.monotonic() + max(timeout, _MAX_PROCESSING_S)
    while _state(uploaded) == "PROCESSING" and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        uploaded = client.files.get(name=uploaded.name)
    state = _state(uploaded)
    if state == "FAILED":
        raise ProviderError(f"gemini could not process the uploaded {part.kind}; check that the file plays.")
    if state == "PROCESSING":
        raise ProviderError(f"gemini was still processing the uploaded {part.kind} after 10 minutes; try again later.")
    return uploaded


def _state(file: Any) -> str:
    state = getattr(file, "state", None)
    return str(getattr(state, "value", state) or "ACTIVE")


def forget(client: Any, uploaded: Any) -> None:
    """Delete the upload; it would expire in 48 hours anyway, so a failure here is no error."""
    try:
        client.files.delete(name=uploaded.name)
    except Exception:
        pass
