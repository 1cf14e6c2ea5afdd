"""Microphone and speaker through ``sounddevice`` (PortAudio): the optional extra ``mmcli[audio]``.

Importing this module imports sounddevice, which raises ImportError without the
extra and OSError without the PortAudio library; ``devices.backend`` turns both
into one sentence.
"""

from __future__ import annotations

import queue
import threading
import time

import sounddevice  # noqa: F401 - imported here so a missing extra fails at once, with a sentence

# 20 ms device blocks: a cleared player falls silent within one block plus the device latency.
BLOCK_S = 0.02


class SoundDevicePlayer:
    def __init__(self, rate: int):
        import sounddevice as sd

        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._stream = sd.RawOutputStream(
            samplerate=rate, channels=1, dtype="int16", blocksize=int(rate * BLOCK_S),
            latency="low", callback=self._fill,
        )
        self._stream.start()

    def _fill(self, out: memoryview, frames: int, time_info: object, status: object) -> None:
        wanted = len(out)
        with self._lock:
            piece = bytes(self._buffer[:wanted])
            del self._buffer[:wanted]
        out[: len(piece)] = piece
        if len(piece) < wanted:
            out[len(piece) :] = bytes(wanted - len(piece))

    def write(self, pcm: bytes) -> None:
        with self._lock:
            self._buffer += pcm

    def clear(self) -> int:
        with self._lock:
            dropped = len(self._buffer)
            self._buffer.clear()
        return dropped

    def drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._buffer:
                    return
            time.sleep(BLOCK_S)

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


class SoundDeviceMicrophone:
    def __init__(self, rate: int, chunk_s: float):
        import sounddevice as sd

        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._stream = sd.RawInputStream(
            samplerate=rate, channels=1, dtype="int16", blocksize=int(rate * chunk_s),
            callback=lambda data, frames, info, status: self._chunks.put(bytes(data)),
        )
        self._stream.start()

    def read(self) -> bytes | None:
        return self._chunks.get()

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
        self._chunks.put(None)


def open_player(rate: int) -> SoundDevicePlayer:
    return SoundDevicePlayer(rate)


def open_microphone(rate: int, chunk_s: float) -> SoundDeviceMicrophone:
    return SoundDeviceMicrophone(rate, chunk_s)
