"""Helpers for the renderer tests: stream Markdown through TerminalSink in random chunks and read
what a terminal (the pyte emulator) shows at the end, next to what Rich prints for the whole."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path

import pyte
from rich.console import Console

from mmcli.conversation import ModelRef
from mmcli.engine import Answer
from mmcli.render import TerminalSink, markdown

CORPUS = Path(__file__).parent / "render_corpus"
MODEL = ModelRef("test", "model")


def corpus() -> dict[str, str]:
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(CORPUS.glob("*.md"))}


def whole_output(text: str, width: int) -> str:
    """What ``Console.print(Markdown(text))`` writes, without colour."""
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(markdown(text))
    return console.file.getvalue()  # type: ignore[attr-defined]


def whole_lines(text: str, width: int) -> list[str]:
    return [line.rstrip() for line in whole_output(text, width).split("\n")[:-1]]


def chunks(text: str, seed: int, largest: int = 8) -> list[str]:
    """``text`` cut into random small pieces, the same ones for the same seed."""
    rng = random.Random(seed)
    pieces, start = [], 0
    while start < len(text):
        size = rng.randint(1, largest)
        pieces.append(text[start : start + size])
        start += size
    return pieces


class Terminal:
    """A pyte screen with scrollback, fed every write as a pty would pass it (\\n becomes \\r\\n)."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.screen = pyte.HistoryScreen(width, height, history=100_000, ratio=1)
        self.stream = pyte.Stream(self.screen)
        self.writes = 0
        self._gone: list[str] = []

    def feed(self, data: str) -> None:
        self.writes += 1
        self.stream.feed(data.replace("\r\n", "\n").replace("\n", "\r\n"))

    def scrolled_off(self) -> list[str]:
        rows = self.screen.history.top
        # Rows never change once scrolled off: convert only the new ones.
        for row in list(rows)[len(self._gone) :]:
            self._gone.append("".join(row[x].data for x in range(self.width)).rstrip())
        return list(self._gone)

    def lines(self) -> list[str]:
        """Every row written so far, scrollback first, up to the cursor's row."""
        shown = [row.rstrip() for row in self.screen.display[: self.screen.cursor.y]]
        return self.scrolled_off() + shown


class TerminalFile(io.StringIO):
    """A console's file that passes each write on to a Terminal and lets a test look after each one."""

    def __init__(self, terminal: Terminal, after_write: Callable[[Terminal], None] | None = None) -> None:
        super().__init__()
        self.terminal = terminal
        self.after_write = after_write

    def write(self, data: str) -> int:
        self.terminal.feed(data)
        if self.after_write is not None:
            self.after_write(self.terminal)
        return super().write(data)

    def isatty(self) -> bool:
        return True


def jumpy_clock(seed: int, chance: float = 0.25) -> Callable[[], float]:
    """A clock for a sink refreshing once a second: each reading moves a whole second on with
    ``chance``, so the sink redraws after a random few pieces (drawing after every piece would
    only make the tests slow)."""
    rng = random.Random(seed)
    now = 0.0

    def read() -> float:
        nonlocal now
        if rng.random() < chance:
            now += 1.0
        return now

    return read


def stream_to_terminal(
    pieces: list[str],
    width: int,
    height: int,
    *,
    after_write: Callable[[Terminal], None] | None = None,
    refresh_per_second: float = 1,
    clock: Callable[[], float] | None = None,
    interrupted: bool = False,
) -> Terminal:
    terminal = Terminal(width, height)
    console = Console(
        file=TerminalFile(terminal, after_write), width=width, height=height, force_terminal=True,
        color_system="truecolor",
    )
    sink = TerminalSink(console, refresh_per_second=refresh_per_second, clock=clock or jumpy_clock(len(pieces)))
    sink.begin(MODEL)
    for piece in pieces:
        sink.delta(piece)
    answer = Answer(model=MODEL, text="".join(pieces))
    if interrupted:
        sink.abort(answer)
    else:
        sink.finish(answer)
    return terminal


def stream_to_pipe_console(pieces: list[str], width: int) -> str:
    """What the sink writes to a console that is not a terminal (no live region: only what is final)."""
    console = Console(file=io.StringIO(), width=width, color_system=None)
    sink = TerminalSink(console, refresh_per_second=1, clock=jumpy_clock(len(pieces)))
    sink.begin(MODEL)
    for piece in pieces:
        sink.delta(piece)
    sink.finish(Answer(model=MODEL, text="".join(pieces)))
    return console.file.getvalue()  # type: ignore[attr-defined]
