"""A fake microphone and speaker for ``mmcli live --mic --speak``, plugged in through
``MMCLI_AUDIO_BACKEND=tests.fakes.audio_device`` (mmcli's one audio interface).

- The microphone plays the WAV file named by ``MMCLI_FAKE_MIC`` (already at the rate
  asked for) in chunks at real-time pace, then ends.
- The speaker "plays" in real time, 20 ms at a time, and logs to the JSON-lines file
  named by ``MMCLI_FAKE_SPEAKER`` what it was given, played and dropped on ``clear()``,
  each with a ``time.monotonic()`` stamp.
"""

from __future__ import annotations

import json
import os
import threading
import time
import wave

BLOCK_S = 0.02


class FakeMicrophone:
    def __init__(self, rate: int, chunk_s: float):
        with wave.open(os.environ["MMCLI_FAKE_MIC"]) as reader:
            assert reader.getframerate() == rate and reader.getnchannels() == 1, "the fake mic file must match"
            self._pcm = reader.readframes(reader.getnframes())
        self._size = int(rate * chunk_s) * 2
        self._chunk_s = chunk_s
        self._at = 0
        self._next = time.monotonic()
        self._closed = False

    def read(self) -> bytes | None:
        if self._closed or self._at >= len(self._pcm):
            return None
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next += self._chunk_s
        chunk = self._pcm[self._at : self._at + self._size]
        self._at += self._size
        return chunk

    def close(self) -> None:
        self._closed = True


class FakeSpeaker:
    def __init__(self, rate: int):
        self._rate = rate
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._log = open(os.environ["MMCLI_FAKE_SPEAKER"], "a", encoding="utf-8")  # noqa: SIM115
        self._running = True
        self._thread = threading.Thread(target=self._play, daemon=True)
        self._thread.start()

    def _record(self, event: str, size: int) -> None:
        self._log.write(json.dumps({"event": event, "bytes": size, "t": time.monotonic()}) + "\n")
        self._log.flush()

    def _play(self) -> None:
        block = int(self._rate * BLOCK_S) * 2
        next_at = time.monotonic()
        while self._running:
            with self._lock:
                piece = bytes(self._buffer[:block])
                del self._buffer[:block]
                if piece:
                    self._record("played", len(piece))
            next_at += BLOCK_S
            time.sleep(max(0.0, next_at - time.monotonic()))

    def write(self, pcm: bytes) -> None:
        with self._lock:
            self._buffer += pcm
            self._record("queued", len(pcm))

    def clear(self) -> int:
        with self._lock:
            dropped = len(self._buffer)
            self._record("cleared", dropped)
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
        self._running = False
        self._thread.join(timeout=2)
        with self._lock:
            self._record("closed", len(self._buffer))
        self._log.close()


def open_player(rate: int) -> FakeSpeaker:
    return FakeSpeaker(rate)


def open_microphone(rate: int, chunk_s: float) -> FakeMicrophone:
    return FakeMicrophone(rate, chunk_s)
