"""Showing an answer as it arrives.

On a terminal, Markdown is rendered incrementally the way aichat does it:
each top-level block that markdown-it says is complete is rendered and
printed once (``markdown_stream``); only the unfinished last block lives in
a region at the bottom of the screen (``live_region``), redrawn at a bounded
rate. The cost per token does not grow with the length of the answer, and
the final screen is what Rich prints for the whole answer.

In a pipe, text is written raw and flushed as it arrives: nothing else on
stdout.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from . import terminal
from .live_region import LiveRegion

# markdown and markdown_of_tokens live with the streaming renderer, which parses with the same parser.
from .markdown_stream import MarkdownStream, markdown, markdown_of_tokens  # noqa: F401

if TYPE_CHECKING:
    from rich.console import Console

    from .conversation import ModelRef
    from .engine import Answer

LIVE_REFRESH_PER_SECOND = 10


def citations_text(urls: list[str]) -> str:
    """The `Sources:` list that follows a cited answer, in a terminal and a pipe alike."""
    return "Sources:\n" + "".join(f"{n}. {url}\n" for n, url in enumerate(urls, 1))


class BlockSplitter:
    """Splits streamed Markdown into blocks at blank lines outside code fences, and the unfinished tail.

    A cheap approximation kept for the side-by-side ``compare`` view, whose
    columns are redrawn whole; the terminal answer uses ``MarkdownStream``.

    Only newly arrived complete lines are scanned, so feeding n characters
    costs O(n) in total.
    """

    def __init__(self) -> None:
        self.tail = ""
        self._scanned = 0  # offset in tail of the first line not yet scanned
        self._fence: str | None = None  # the fence marker of an open code block

    def feed(self, text: str) -> list[str]:
        self.tail += text
        blocks: list[str] = []
        while True:
            end = self.tail.find("\n", self._scanned)
            if end < 0:
                return blocks
            line = self.tail[self._scanned : end]
            self._scanned = end + 1
            stripped = line.strip()
            if self._fence is not None:
                if stripped.startswith(self._fence) and not stripped[len(self._fence) :].strip("`~"):
                    self._fence = None
            elif stripped.startswith(("```", "~~~")) and len(line) - len(line.lstrip()) < 4:
                marker = stripped[0]
                self._fence = marker * (len(stripped) - len(stripped.lstrip(marker)))
            elif not stripped:
                block, self.tail = self.tail[: self._scanned], self.tail[self._scanned :]
                self._scanned = 0
                if block.strip():
                    blocks.append(block)

    def flush(self) -> str:
        rest, self.tail, self._scanned, self._fence = self.tail, "", 0, None
        return rest


class TerminalSink:
    """Live Markdown on a terminal: what is final printed once, the rest redrawn below it.

    All drawing happens under one lock, from the main thread as text
    arrives (at most ``refresh_per_second`` times a second) and from a small
    ticker thread that keeps the spinner turning and shows text that arrived
    just before a pause. One writer at a time, each write erasing only the
    live region it drew itself, so nothing printed is ever erased.

    A redraw that took long (a code block taller than the screen is
    re-highlighted whole) spaces the next ones out, so the renderer never
    takes more than about a quarter of a core. ``clock`` is for tests and
    benches: a clock of their own also leaves out the ticker thread, which
    runs on real time.
    """

    def __init__(
        self,
        console: Console,
        *,
        notes: Console | None = None,
        refresh_per_second: float = LIVE_REFRESH_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.notes = notes
        self._interval = 1.0 / refresh_per_second if refresh_per_second > 0 else 0.0
        self._clock = clock
        self._real_time = clock is time.monotonic
        self._gap = self._interval  # the time to wait between redraws, longer after a slow one
        self._lock = threading.RLock()
        self._stream: MarkdownStream | None = None
        self._region: LiveRegion | None = None
        self._ticker: _Ticker | None = None
        self._spinner: Any = None
        self._label = ""
        self._drawn_at = float("-inf")
        self._dirty = False

    def begin(self, model: ModelRef) -> None:
        self._close()
        self._stream = MarkdownStream()
        self._region = LiveRegion(self.console)
        self._label = f"{model} is thinking…"
        self._spinner = None
        self._drawn_at = float("-inf")
        self._gap = self._interval
        self._dirty = True
        if self._region.enabled:
            self._region.show_cursor(False)
            with _signals_held():
                self._draw()
            if self._real_time:
                self._ticker = _Ticker(self._tick, min(self._interval or 0.1, 0.1))
                self._ticker.start()

    def delta(self, text: str) -> None:
        stream = self._stream
        if stream is None:
            return
        with self._lock:
            stream.feed(text)
            self._dirty = True
            if self._clock() - self._drawn_at >= self._gap:
                with _signals_held():
                    self._draw()

    def _tick(self) -> None:
        with self._lock:
            if self._stream is None:
                return
            spinning = not self._stream.has_text
            if (self._dirty or spinning) and self._clock() - self._drawn_at >= self._gap:
                self._draw()

    def _draw(self) -> None:
        """Commit what is final and redraw the live region (the lock is held)."""
        stream, region = self._stream, self._region
        if stream is None or region is None:
            return
        self._drawn_at = self._clock()
        self._dirty = False
        started = time.perf_counter()
        if not stream.has_text:
            region.update([], self._spinner_lines() if region.enabled else [])
            return
        committed, live = stream.advance(self.console, self.console.options, region.max_rows)
        region.update(committed, live)
        if self._real_time:
            self._gap = max(self._interval, 3 * (time.perf_counter() - started))

    def _spinner_lines(self) -> list[Any]:
        from rich.spinner import Spinner

        if self._spinner is None:  # one Spinner, so it animates from its own start time
            self._spinner = Spinner("dots", text=self._label, style="dim")
        return self.console.render_lines(self._spinner, self.console.options, pad=False)

    def _close(self) -> None:
        """Print everything not yet final and put the terminal back as it was."""
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.stop()
        # Ctrl-C may have left this thread owning the lock mid-update (an RLock: it re-enters).
        with self._lock, _signals_held():
            stream, region = self._stream, self._region
            self._stream = self._region = None
            if stream is not None and region is not None:
                try:
                    region.update(stream.close(self.console, self.console.options), [])
                finally:
                    region.show_cursor(True)
        if ticker is not None:
            ticker.join()

    def finish(self, answer: Answer) -> None:
        self._close()
        if answer.citations:
            self.console.print()
            self.console.print(citations_text(answer.citations), end="", highlight=False, markup=False)
        if answer.cached and self.notes is not None:
            self.notes.print("(cached answer; --no-cache asks the model again)", style="dim")

    def abort(self, answer: Answer) -> None:
        self._close()
        if answer.text and self.notes is not None:
            self.notes.print("[answer interrupted]", style="dim", markup=False)


class _Ticker(threading.Thread):
    """Calls ``action`` every ``interval`` seconds until stopped; never takes a signal."""

    def __init__(self, action: Callable[[], None], interval: float) -> None:
        super().__init__(name="mmcli-live-refresh", daemon=True)
        self._action = action
        self._interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        # Signals go to the main thread, which holds them off while it draws (_signals_held).
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
        while not self._stopped.wait(self._interval):
            try:
                self._action()
            except Exception:  # a failed redraw must not kill the answer; the final print still happens
                if os.environ.get("MMCLI_DEBUG"):
                    raise

    def stop(self) -> None:
        self._stopped.set()


_HELD_SIGNALS = {getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)}


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C (and SIGTERM/SIGHUP) off while one update is drawn, so a screen write and
    the record of what it drew cannot be split; the signal is acted on right after."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class PipeSink:
    """Raw text, flushed per delta, for pipes and files."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or terminal.current().stdout
        self._last = ""

    def begin(self, model: ModelRef) -> None:
        self._last = ""

    def delta(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
        self._last = text

    def _end_line(self) -> None:
        if self._last and not self._last.endswith("\n"):
            self.stream.write("\n")
        self.stream.flush()

    def finish(self, answer: Answer) -> None:
        self._end_line()
        if answer.citations:
            self.stream.write("\n" + citations_text(answer.citations))
            self.stream.flush()

    def abort(self, answer: Answer) -> None:
        self._end_line()


class BufferedSink:
    """--no-stream: wait for the whole answer, then show it once."""

    def __init__(self, inner: TerminalSink | PipeSink) -> None:
        self.inner = inner
        self._pieces: list[str] = []

    def begin(self, model: ModelRef) -> None:
        self._pieces = []

    def delta(self, text: str) -> None:
        self._pieces.append(text)

    def _replay(self, answer: Answer) -> None:
        self.inner.begin(answer.model)
        self.inner.delta("".join(self._pieces))

    def finish(self, answer: Answer) -> None:
        self._replay(answer)
        self.inner.finish(answer)

    def abort(self, answer: Answer) -> None:
        self._replay(answer)
        self.inner.abort(answer)


def stdout_is_terminal() -> bool:
    return terminal.current().stdout_isatty


def terminal_console() -> Console:
    return terminal.current().console()


def stderr_console() -> Console:
    return terminal.current().console(stderr=True)


def make_sink(*, stream: bool = True) -> TerminalSink | PipeSink | BufferedSink:
    """The right sink for where stdout goes."""
    sink: TerminalSink | PipeSink
    if stdout_is_terminal():
        sink = TerminalSink(terminal_console(), notes=stderr_console())
    else:
        sink = PipeSink()
    return sink if stream else BufferedSink(sink)
