"""The user's side, brought into the event loop: typed or piped lines, and microphone chunks.

Blocking reads happen in daemon threads that hand each item to the loop, so the
loop never waits on a terminal or a device, and Ctrl-C never waits on them either.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import threading
from collections.abc import Callable

from .devices import Microphone


class LineSource:
    """Lines of stdin as they are typed or piped; ``None`` at the end (Ctrl-D, end of input).

    In a terminal the next line is read only once ``ready()`` is called (after the
    previous reply), so the prompt is shown at the right time; piped input is read ahead.
    The thread reads the descriptor with ``os.read``: a daemon thread blocked inside
    ``sys.stdin`` would hold its lock and make the interpreter abort at exit.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, *, on_prompt: Callable[[], None] | None):
        self._loop = loop
        self._fd = fd
        self._on_prompt = on_prompt
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._may_read = threading.Event()
        self._may_read.set()
        threading.Thread(target=self._run, name="mmcli-live-stdin", daemon=True).start()

    def _run(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        ended = False
        while True:
            self._may_read.wait()
            if self._on_prompt is not None:
                self._may_read.clear()
                self._on_prompt()
            while "\n" not in pending and not ended:
                try:
                    data = os.read(self._fd, 65536)
                except OSError:
                    data = b""
                ended = not data
                pending += decoder.decode(data, final=ended)
            line, newline, pending = pending.partition("\n")
            if newline or line:
                self._put(line + newline)
            if ended and not pending:
                self._put(None)
                return

    def _put(self, line: str | None) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, line)

    def ready(self) -> None:
        """The previous reply ended: in a terminal, prompt for and read the next line."""
        self._may_read.set()

    async def next(self) -> str | None:
        return await self._queue.get()


class MicrophonePump:
    """Chunks from the microphone into the loop; ``None`` when the device ends."""

    def __init__(self, loop: asyncio.AbstractEventLoop, microphone: Microphone):
        self._loop = loop
        self._microphone = microphone
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        threading.Thread(target=self._run, name="mmcli-live-mic", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                chunk = self._microphone.read()
            except Exception:  # a device error ends the capture like an unplugged microphone
                chunk = None
            self._loop.call_soon_threadsafe(self._queue.put_nowait, chunk)
            if chunk is None:
                return

    async def next(self) -> bytes | None:
        return await self._queue.get()

    def close(self) -> None:
        try:
            self._microphone.close()
        except Exception:
            pass

