"""What `mmcli compare` shows: one column per model while the answers
stream, then a summary table.

Each model's answer arrives through its own :class:`Column`, an engine Sink
called from that model's worker thread. A view observes the columns:

- :class:`LiveView` (a terminal): a Rich Live region with one column per
  model side by side, or stacked panels when the terminal is too narrow.
  Markdown is rendered only when Rich redraws (a bounded rate), and each
  finished block is rendered once per width and reused, as the chat renderer
  does; only the unfinished last block of each column is parsed again.
- :class:`PlainView` (a pipe or file): each answer under a ``## provider:model``
  heading in the order the models were given, streamed as it arrives (the
  first model's text live; the others' buffered until their turn).
- :class:`QuietView` (--json): nothing until the end.

All views end with the summary table (plain Markdown in a pipe).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

from .render import BlockSplitter, citations_text, markdown

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions

    from .conversation import ModelRef
    from .engine import Answer

LIVE_REFRESH_PER_SECOND = 8
# Below this many terminal columns per model, columns become stacked panels.
MIN_COLUMN_WIDTH = 40

WAITING, STREAMING, OK, ERROR, REFUSED = "waiting", "streaming", "ok", "error", "refused"
FAILED = (ERROR, REFUSED)


class Column:
    """One model's answer as it arrives: an engine Sink, safe to feed from a worker thread."""

    def __init__(self, ref: ModelRef, view: View | None = None, command_started: float | None = None) -> None:
        self.ref = ref
        self.view = view
        self.status = WAITING
        self.answer: Answer | None = None
        self.error: str | None = None
        self.exit_code = 0
        self.started = time.perf_counter()
        # perf_counter() when the command began: the wall time a user waited includes loading the SDK.
        self.command_started = self.started if command_started is None else command_started
        self.elapsed_s: float | None = None  # until failure, when there is no answer timing
        self.wall_s: float | None = None  # from the command's start to this model's end
        self.lock = threading.Lock()
        self.blocks: list[str] = []  # complete Markdown blocks, in order
        self.tail = ""  # the unfinished last block
        self.version = 0  # bumps on every change, so renderers know when to redraw
        # Set once this model's SDK is loaded and its request is underway (or it is over).
        self.ready = threading.Event()
        self._splitter = BlockSplitter()
        self._pieces: list[str] = []

    # --- the engine Sink protocol ------------------------------------------------------------

    def begin(self, model: ModelRef) -> None:
        with self.lock:
            self._splitter = BlockSplitter()
            self._pieces, self.blocks, self.tail = [], [], ""
            self.status = STREAMING
            self.version += 1
        self.ready.set()

    def delta(self, text: str) -> None:
        with self.lock:
            self._pieces.append(text)
            self.blocks.extend(self._splitter.feed(text))
            self.tail = self._splitter.tail
            self.version += 1
        if self.view is not None:
            self.view.delta(self, text)

    def finish(self, answer: Answer) -> None:
        self._close(OK, answer)

    def abort(self, answer: Answer) -> None:
        # The engine raises right after; fail() records why.
        with self.lock:
            self.answer = answer if answer.text else None

    def fail(self, status: str, message: str, exit_code: int, partial: Answer | None = None) -> None:
        with self.lock:
            self.error = message
            self.exit_code = exit_code
        self._close(status, partial if partial is not None and partial.text else self.answer)

    def _close(self, status: str, answer: Answer | None) -> None:
        with self.lock:
            if self.status in (OK, *FAILED):
                return
            rest = self._splitter.flush()
            if rest.strip():
                self.blocks.append(rest)
            self.tail = ""
            self.answer = answer
            now = time.perf_counter()
            self.elapsed_s = now - self.started
            self.wall_s = now - self.command_started
            self.status = status
            self.version += 1
        self.ready.set()
        if self.view is not None:
            self.view.done(self)

    # --- what views and the summary read -----------------------------------------------------------

    @property
    def text(self) -> str:
        with self.lock:
            return "".join(self._pieces)

    @property
    def done(self) -> bool:
        return self.status in (OK, *FAILED)

    @property
    def citations(self) -> list[str]:
        return list(self.answer.citations) if self.answer is not None else []

    @property
    def total_s(self) -> float | None:
        if self.answer is not None and self.answer.total_s is not None:
            return self.answer.total_s
        return self.elapsed_s if self.done else None

    @property
    def tokens_per_s(self) -> float | None:
        """Output tokens over the whole answer time; unknown for cached answers."""
        answer = self.answer
        if answer is None or answer.cached or not answer.output_tokens or not answer.total_s:
            return None
        return answer.output_tokens / answer.total_s


class View:
    """What a view is told; every hook may be called from any worker thread."""

    def start(self) -> None:
        pass

    def delta(self, column: Column, text: str) -> None:
        pass

    def done(self, column: Column) -> None:
        pass

    def stop(self) -> None:
        pass


class QuietView(View):
    """--json: the command prints one document at the end."""


# --- summary ---------------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}s"


def _count(value: int | None) -> str:
    return "—" if value is None else str(value)


def format_cost(value: float | None) -> str:
    if value is None:
        return "?"
    if value == 0:
        return "$0"
    return f"${value:.6f}" if value < 0.01 else f"${value:.4f}"


def status_label(column: Column) -> str:
    if column.status == OK and column.answer is not None and column.answer.cached:
        return "ok (cached)"
    return column.status


def summary_rows(columns: list[Column]) -> list[list[str]]:
    rows = []
    for column in columns:
        answer = column.answer if column.status == OK else None
        rows.append([
            str(column.ref),
            status_label(column),
            _seconds(answer.ttft_s if answer else None),
            _seconds(column.total_s),
            _seconds(column.wall_s),
            _count(answer.input_tokens if answer else None),
            _count(answer.output_tokens if answer else None),
            "—" if column.tokens_per_s is None else f"{column.tokens_per_s:.1f}",
            format_cost(answer.cost_usd) if answer else "?",
        ])
    return rows


SUMMARY_HEADERS = ("model", "status", "ttft", "total", "wall", "in", "out", "tok/s", "cost")
# What the time columns measure, under the terminal's summary.
SUMMARY_CAPTION = (
    "ttft: time to first token · total: the answer's own time · wall: since the command started"
    " · cost: estimated, prices of {checked_on}"
)


def summary_table(columns: list[Column], *, plain: bool) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from .pricing import prices_checked_on

    table = Table(
        box=box.MARKDOWN if plain else box.SIMPLE_HEAD,
        title=None if plain else "Summary",
        caption=None if plain else SUMMARY_CAPTION.format(checked_on=prices_checked_on()),
        header_style="" if plain else "bold",
        collapse_padding=not plain,  # one space between columns: the table fits 80 columns
        pad_edge=plain,
    )
    rows = summary_rows(columns)
    for index, header in enumerate(SUMMARY_HEADERS):
        # Model and status are what a row is about: never wrapped or cut.
        widest = max((len(row[index]) for row in rows), default=0) if index < 2 else None
        table.add_column(
            header, justify="left" if index < 2 else "right", no_wrap=True, overflow="fold", min_width=widest
        )
    styles = {OK: "green", ERROR: "red", REFUSED: "yellow"}
    for column, row in zip(columns, rows, strict=True):
        cells = [Text(cell) for cell in row]
        if not plain:
            cells[1].stylize(styles.get(column.status, "dim"))
        table.add_row(*cells)
    return table


def failure_line(column: Column) -> str:
    return f"[{column.status}] {column.error}" if column.error else f"[{column.status}]"


# --- a pipe or a file ------------------------------------------------------------------------------


class PlainView(View):
    """Answers in the order given, each under its heading, streamed as soon as it is its turn."""

    def __init__(self, columns: list[Column], stream: IO[str] | None = None) -> None:
        self.columns = columns
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._current = 0  # the column being written
        self._written = 0  # characters of the current column already written
        self._opened = False
        self._reader_gone = False  # `mmcli compare ... | head` closed the pipe

    def start(self) -> None:
        with self._lock:
            self._advance()

    def delta(self, column: Column, text: str) -> None:
        with self._lock:
            if self._current < len(self.columns) and self.columns[self._current] is column:
                self._unless_reader_gone(self._write_current)

    def done(self, column: Column) -> None:
        with self._lock:
            self._unless_reader_gone(self._advance)

    def _write_current(self) -> None:
        self._write_pending(self.columns[self._current])
        self.stream.flush()

    def _unless_reader_gone(self, write: Any) -> None:
        """Worker threads stop writing once the reader is gone; stop() reports it from
        the main thread, where the command turns it into a quiet exit."""
        if self._reader_gone:
            return
        try:
            write()
        except BrokenPipeError:
            self._reader_gone = True

    def _write_pending(self, column: Column) -> None:
        text = column.text
        if len(text) > self._written:
            self.stream.write(text[self._written :])
            self._written = len(text)

    def _advance(self) -> None:
        """Write the current column's section as far as it has arrived, moving on past finished ones."""
        while self._current < len(self.columns):
            column = self.columns[self._current]
            if not self._opened:
                if self._current:
                    self.stream.write("\n")
                self.stream.write(f"## {column.ref}\n\n")
                self._opened, self._written = True, 0
            self._write_pending(column)
            if not column.done:
                break
            self._close_section(column)
            self._current += 1
            self._opened = False
        self.stream.flush()

    def _close_section(self, column: Column) -> None:
        text = column.text
        if text and not text.endswith("\n"):
            self.stream.write("\n")
        if column.status != OK:
            self.stream.write(("\n" if text else "") + failure_line(column) + "\n")
        if column.citations:
            self.stream.write("\n" + citations_text(column.citations))

    def stop(self) -> None:
        with self._lock:
            if self._reader_gone:
                raise BrokenPipeError
            self._advance()
            self.stream.write("\n" + plain_table(self.columns))
            self.stream.flush()


def plain_table(columns: list[Column]) -> str:
    """The summary as a Markdown table: plain text that also renders as a table."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=1000, color_system=None, force_terminal=False, highlight=False, emoji=False
    )
    console.print(summary_table(columns, plain=True))
    # Rich draws the Markdown box's (empty) top and bottom edges as lines of spaces.
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    return "".join(line + "\n" for line in lines if line)


# --- a terminal ------------------------------------------------------------------------------------


class _Lines:
    """Already rendered lines as a renderable."""

    def __init__(self, lines: list[list[Any]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Any:
        from rich.segment import Segment

        for line in self.lines:
            yield from line
            yield Segment.line()


def _blank(line: list[Any]) -> bool:
    return not "".join(segment.text for segment in line).strip()


def _append_block(lines: list[list[Any]], block: list[list[Any]]) -> None:
    """Blocks rendered one by one, spaced as Rich spaces the elements of one document."""
    if lines and block and not _blank(lines[-1]) and not _blank(block[0]):
        lines.append([])
    lines += block


class _ColumnBody:
    """A column's Markdown, rendered lazily: finished blocks once per width, the tail per redraw."""

    def __init__(self, column: Column) -> None:
        self.column = column
        self._width = -1
        self._block_lines: list[list[Any]] = []
        self._blocks_done = 0
        self._tail: tuple[str, int, list[list[Any]]] | None = None

    def lines(self, console: Console, width: int) -> list[list[Any]]:
        from rich.text import Text

        column = self.column
        with column.lock:
            blocks = column.blocks[self._blocks_done :] if width == self._width else list(column.blocks)
            tail, status, error = column.tail, column.status, column.error
        options = console.options.update(width=width, height=None)
        if width != self._width:
            self._width, self._block_lines, self._blocks_done = width, [], 0
        for block in blocks:
            _append_block(self._block_lines, console.render_lines(markdown(block), options, pad=False))
            self._blocks_done += 1
        lines = list(self._block_lines)
        if tail.strip():
            if self._tail is None or self._tail[:2] != (tail, width):
                self._tail = (tail, width, console.render_lines(markdown(tail), options, pad=False))
            _append_block(lines, self._tail[2])
        extra: list[Any] = []
        if column.citations:
            extra.append(Text("\n" + citations_text(column.citations).rstrip("\n"), style="dim"))
        if status in FAILED and error:
            extra.append(Text(failure_line(column), style="red" if status == ERROR else "yellow"))
        elif status in (WAITING, STREAMING) and not lines:
            extra.append(Text("waiting for the first token…", style="dim"))
        for renderable in extra:
            lines += console.render_lines(renderable, options, pad=False)
        return lines


class LiveView(View):
    """One column per model in a Rich Live region, then the whole answers and the summary."""

    def __init__(self, columns: list[Column], console: Console, notes: Console | None = None) -> None:
        self.columns = columns
        self.console = console
        self.notes = notes
        self.bodies = [_ColumnBody(c) for c in columns]
        self._live: Any = None
        self._started = time.perf_counter()

    @property
    def side_by_side(self) -> bool:
        return self.console.width // max(1, len(self.columns)) >= MIN_COLUMN_WIDTH

    def start(self) -> None:
        from rich.live import Live

        self._live = Live(
            console=self.console,
            get_renderable=lambda: self.renderable(live=True),
            refresh_per_second=LIVE_REFRESH_PER_SECOND,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
            vertical_overflow="crop",
        )
        self._live.start()

    def _footer(self, column: Column) -> Any:
        from rich.text import Text

        if column.status == WAITING or column.status == STREAMING and not (column.blocks or column.tail):
            spinner = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"[int((time.perf_counter() - self._started) * 10) % 10]
            return Text(f"{spinner} waiting", style="dim")
        if column.status == STREAMING:
            return Text("streaming…", style="dim")
        style = {OK: "green", ERROR: "red"}.get(column.status, "yellow")
        label = status_label(column)
        total = column.total_s
        return Text(label + (f" · {total:.2f}s" if total is not None else ""), style=style)

    def renderable(self, *, live: bool) -> Any:
        """The columns; ``live`` shows only the newest lines that fit the screen."""
        from rich import box
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        count = len(self.columns)
        height = self.console.size.height
        if self.side_by_side:
            inner = self.console.width // count - 4  # borders and padding; narrower than the real cell is safe
            visible = max(3, height - 6) if live else None
            table = Table(box=box.ROUNDED, expand=True, show_footer=True, header_style="bold", padding=(0, 1))
            cells = []
            for column, body in zip(self.columns, self.bodies, strict=True):
                table.add_column(Text(str(column.ref)), footer=self._footer(column), ratio=1)
                lines = body.lines(self.console, inner)
                cells.append(_Lines(lines[-visible:] if visible else lines))
            table.add_row(*cells)
            return table
        visible = max(3, (height - 1) // count - 2) if live else None
        panels = []
        for column, body in zip(self.columns, self.bodies, strict=True):
            lines = body.lines(self.console, self.console.width - 4)
            panels.append(Panel(
                _Lines(lines[-visible:] if visible else lines),
                title=Text(str(column.ref), style="bold"),
                title_align="left",
                subtitle=self._footer(column),
                subtitle_align="right",
                box=box.ROUNDED,
            ))
        return Group(*panels)

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        self.console.print(self.renderable(live=False))
        self.console.print(summary_table(self.columns, plain=False))
        cached = [c for c in self.columns if c.answer is not None and c.answer.cached]
        if cached and self.notes is not None:
            self.notes.print("(cached answers; --no-cache asks the models again)", style="dim")
