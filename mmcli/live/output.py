"""Where the model's reply goes, off the receive loop: audio to the WAV file and the
speaker in one thread, text to the terminal or pipe in another, so neither a slow
terminal nor a disk stalls the socket (or the other)."""

from __future__ import annotations

import queue
import sys
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .. import terminal
from ..errors import UsageError
from ..providers.live_base import OUTPUT_RATE
from .devices import Player

_STOP = object()


class WavWriter:
    """A 24 kHz mono 16-bit WAV written as the audio arrives; the header is completed on close."""

    def __init__(self, path: Path):
        try:
            self._wave = wave.open(str(path), "wb")
        except OSError as exc:
            raise UsageError(f"Cannot write {path} ({exc.strerror or exc}); choose another --audio-out.") from None
        self._wave.setnchannels(1)
        self._wave.setsampwidth(2)
        self._wave.setframerate(OUTPUT_RATE)

    def write(self, pcm: bytes) -> None:
        self._wave.writeframesraw(pcm)

    def close(self) -> None:
        self._wave.close()


class AudioOutput:
    """Every reply's audio: written to the WAV file and handed to the player, in its own thread.

    ``interrupt()`` silences the player from the caller's thread at once (it does not
    wait behind queued audio), and drops what was queued for it.
    """

    def __init__(self, wav: WavWriter | None, player: Player | None, clock: Callable[[], float] = time.monotonic):
        self._wav = wav
        self._player = player
        self._clock = clock
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._generation = 0  # bumped by interrupt(): queued audio of an older generation is not played
        self._turn_ended_at: float | None = None
        self.latencies: list[float] = []  # end of the user's turn -> first reply audio byte written
        self.bytes_written = 0
        self._reply_played = 0  # bytes of the current reply handed to the player
        self._thread = threading.Thread(target=self._run, name="mmcli-live-audio", daemon=True)
        self._thread.start()

    def user_turn_ended(self) -> None:
        """The user's turn is over (last chunk or text sent): the next audio byte is the reply's first."""
        self._queue.put(("mark", self._clock()))

    def put(self, pcm: bytes) -> None:
        self._queue.put((self._generation, pcm))

    def reply_ended(self) -> None:
        self._queue.put(("reply_ended", None))

    def interrupt(self) -> float | None:
        """Silence the player now; the seconds of the current reply the user heard (None: no player)."""
        self._generation += 1
        if self._player is None:
            return None
        dropped = self._player.clear()
        heard = max(0, self._reply_played - dropped)
        return heard / (2 * OUTPUT_RATE)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            tag, value = item
            if tag == "mark":
                self._turn_ended_at = value
                continue
            if tag == "reply_ended":
                self._reply_played = 0
                continue
            if self._wav is not None:
                self._wav.write(value)
            if self._player is not None and tag == self._generation:
                self._player.write(value)
                self._reply_played += len(value)
            self.bytes_written += len(value)
            if self._turn_ended_at is not None:
                self.latencies.append(self._clock() - self._turn_ended_at)
                self._turn_ended_at = None

    def close(self, *, drain: bool) -> None:
        """Write out what is queued; with ``drain`` let the player finish playing it."""
        self._queue.put(_STOP)
        self._thread.join(timeout=10)
        if self._wav is not None:
            self._wav.close()
        if self._player is not None:
            if drain:
                self._player.drain(timeout=60)
            self._player.close()


class TextOutput:
    """The reply text on stdout as it streams, and what the user said on stderr in a terminal.

    Each reply's text ends with a newline and replies are separated by a blank line,
    in a terminal and in a pipe alike, so a transcript reads the same in both.
    """

    def __init__(self, out: IO[str] | None, notes: IO[str] | None, *, prompt: str | None = None):
        self._out = out  # None with --json: nothing streams to stdout
        self._notes = notes  # stderr when it is a terminal, else None
        self._prompt = prompt
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._replies = 0
        self._in_reply = False
        self._ends_with_newline = True
        self._heard = ""
        self._thread = threading.Thread(target=self._run, name="mmcli-live-text", daemon=True)
        self._thread.start()

    def reply_text(self, text: str) -> None:
        self._queue.put(("text", text))

    def heard(self, text: str) -> None:
        self._queue.put(("heard", text))

    def reply_done(self) -> None:
        self._queue.put(("done", None))

    def note(self, text: str) -> None:
        self._queue.put(("note", text))

    def show_prompt(self) -> None:
        self._queue.put(("prompt", None))

    def input_ended(self) -> None:
        """Ctrl-D at the prompt: end its line, so the shell's prompt starts on a fresh one."""
        self._queue.put(("input_ended", None))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                self._end_reply()
                return
            kind, value = item
            try:
                getattr(self, f"_on_{kind}")(value)
            except (BrokenPipeError, ValueError):
                self._out = None  # the reader went away: keep the conversation, stop printing
            except OSError:
                pass

    def _on_text(self, text: str) -> None:
        self._flush_heard()
        if self._out is None:
            return
        if not self._in_reply:
            if self._replies and self._prompt is None:
                self._out.write("\n")  # a blank line between replies
            self._in_reply = True
            self._replies += 1
        self._out.write(text)
        self._out.flush()
        self._ends_with_newline = text.endswith("\n")

    def _on_heard(self, text: str) -> None:
        self._heard += text

    def _flush_heard(self) -> None:
        if self._heard.strip() and self._notes is not None:
            line = f"you: {self._heard.strip()}"
            self._notes.write(f"{line}\n" if terminal.current().no_color else f"\x1b[2m{line}\x1b[0m\n")
            self._notes.flush()
        self._heard = ""

    def _on_done(self, _: None) -> None:
        self._flush_heard()
        self._end_reply()

    def _end_reply(self) -> None:
        if self._in_reply and self._out is not None:
            if not self._ends_with_newline:
                self._out.write("\n")
            if self._prompt is not None:
                self._out.write("\n")  # typing at a prompt: the blank line comes before it
            self._out.flush()
        self._in_reply = False
        self._ends_with_newline = True

    def _on_note(self, text: str) -> None:
        self._end_reply()
        print(f"mmcli: {text}", file=sys.stderr, flush=True)

    def _on_input_ended(self, _: None) -> None:
        if self._prompt is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def _on_prompt(self, _: None) -> None:
        if self._prompt is not None:
            sys.stderr.write(self._prompt)
            sys.stderr.flush()

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=10)
