"""The one small audio interface: a microphone that yields PCM chunks and a player
that plays PCM and can be silenced at once (barge-in).

The real backend is ``sounddevice`` (the optional extra ``mmcli[audio]``); tests and
other hosts plug in their own backend module through ``MMCLI_AUDIO_BACKEND``, a
module path whose ``open_player(rate)`` and ``open_microphone(rate, chunk_s)``
return objects with the methods below.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Protocol

from ..errors import UsageError

BACKEND_VARIABLE = "MMCLI_AUDIO_BACKEND"
INSTALL_HINT = "pip install 'mmcli[audio]'"


class Player(Protocol):
    def write(self, pcm: bytes) -> None:
        """Queue 16-bit mono PCM for playback; returns at once."""
        ...

    def clear(self) -> int:
        """Drop everything not yet played (the user interrupted the model); how many bytes that was."""
        ...

    def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until the queued audio has been played."""
        ...

    def close(self) -> None: ...


class Microphone(Protocol):
    def read(self) -> bytes | None:
        """The next chunk of 16-bit mono PCM (blocking); None once the device has ended."""
        ...

    def close(self) -> None: ...


def backend() -> Any:
    """The audio backend module; one sentence and exit 2 when the extra or PortAudio is missing."""
    name = os.environ.get(BACKEND_VARIABLE) or f"{__package__}.sounddevice_backend"
    try:
        module = importlib.import_module(name)
    except ImportError:
        raise UsageError(f"--mic and --speak need the audio extra: {INSTALL_HINT}.") from None
    except OSError:  # sounddevice is there but the PortAudio library is not
        raise UsageError(
            f"--mic and --speak need the PortAudio library: install it (apt install libportaudio2) "
            f"and the audio extra ({INSTALL_HINT})."
        ) from None
    return module


def open_player(rate: int) -> Player:
    return backend().open_player(rate)


def open_microphone(rate: int, chunk_s: float) -> Microphone:
    return backend().open_microphone(rate, chunk_s)
