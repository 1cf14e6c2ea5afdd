"""Showing an answer as it arrives.

On a terminal, Markdown is rendered incrementally the way aichat does it:
each block that is complete (ended by a blank line outside a code fence) is
rendered and printed once; only the unfinished last block lives in a Rich
Live region, which redraws at a bounded rate. So the cost per token does not
grow with the length of the answer.

In a pipe, text is written raw and flushed as it arrives: nothing else on
stdout.
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from .conversation import ModelRef
    from .engine import Answer

LIVE_REFRESH_PER_SECOND = 10


def citations_text(urls: list[str]) -> str:
    """The `Sources:` list that follows a cited answer, in a terminal and a pipe alike."""
    return "Sources:\n" + "".join(f"{n}. {url}\n" for n, url in enumerate(urls, 1))


def _has_text(line: list[Any]) -> bool:
    return any(segment.text for segment in line)


class BlockSplitter:
    """Splits streamed Markdown into complete blocks and the unfinished tail.

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


_MARKDOWN_TEMPLATE: Any = None
_MARKDOWN_PARSER: Any = None


def markdown(text: str) -> Any:
    """A rich Markdown for ``text`` that reuses one parser.

    rich.markdown.Markdown builds a new MarkdownIt parser per instance, which
    costs more than parsing a typical block; a streamed answer renders
    hundreds of blocks, so build the parser once and copy the template's
    settings (whatever attributes this Rich version sets).
    """
    global _MARKDOWN_TEMPLATE, _MARKDOWN_PARSER
    from rich.markdown import Markdown

    if _MARKDOWN_TEMPLATE is None:
        from markdown_it import MarkdownIt

        _MARKDOWN_TEMPLATE = Markdown("")
        _MARKDOWN_PARSER = MarkdownIt().enable("strikethrough").enable("table")
    instance = Markdown.__new__(Markdown)
    instance.__dict__.update(_MARKDOWN_TEMPLATE.__dict__)
    instance.markup = text
    instance.parsed = _MARKDOWN_PARSER.parse(text)
    return instance


class _LiveTail:
    """The Live region's renderable: the unfinished last block.

    It is parsed only when Rich redraws (at most LIVE_REFRESH_PER_SECOND, and
    when a finished block is printed above it), never per token, and the last
    rendering is reused while the text is unchanged. It shows the last
    screenful, so a long code block still shows its newest lines.
    """

    def __init__(self, waiting_label: str) -> None:
        self.waiting_label = waiting_label
        self.text = ""
        self.answering = False  # the spinner shows only until the first text arrives
        self._spinner: Any = None
        self._rendered: tuple[str, int, list[Any]] | None = None

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.segment import Segment
        from rich.spinner import Spinner

        text = self.text
        if not text.strip():
            if not self.answering:
                if self._spinner is None:  # one Spinner, so it animates from its own start time
                    self._spinner = Spinner("dots", text=self.waiting_label, style="dim")
                yield self._spinner
            return
        if self._rendered is None or self._rendered[:2] != (text, options.max_width):
            lines = console.render_lines(markdown(text), options.update(height=None), pad=False)
            self._rendered = (text, options.max_width, lines)
        visible = max(1, console.size.height - 2)
        for line in self._rendered[2][-visible:]:
            yield from line
            yield Segment.line()


class TerminalSink:
    """Live Markdown on a terminal: finished blocks printed once, the rest live."""

    def __init__(self, console: Console, *, notes: Console | None = None) -> None:
        self.console = console
        self.notes = notes
        self._splitter = BlockSplitter()
        self._printed_any = False
        self._live: Any = None
        self._tail = _LiveTail("")

    def begin(self, model: ModelRef) -> None:
        from rich.live import Live

        self._splitter = BlockSplitter()
        self._printed_any = False
        self._tail = _LiveTail(f"{model} is thinking…")
        self._live = Live(
            self._tail,
            console=self.console,
            refresh_per_second=LIVE_REFRESH_PER_SECOND,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()

    def delta(self, text: str) -> None:
        finished = self._splitter.feed(text)
        # Update the tail first: printing redraws the live region below the
        # printed block, and that redraw should be the small tail only.
        self._tail.text = self._splitter.tail
        self._tail.answering = True
        if finished:
            self._print_block("".join(finished))

    def _print_block(self, text: str) -> None:
        """Print finished blocks exactly as Rich lays out a whole document.

        Rich separates the top-level elements of one Markdown by one blank
        line, but some elements rendered alone (lists, quotes, tables) open
        with a blank line of their own. So: trim the block's outer empty
        lines and put one blank line between blocks.
        """
        from rich.segment import SegmentLines

        lines = self.console.render_lines(markdown(text), self.console.options, pad=False)
        while lines and not _has_text(lines[0]):
            lines.pop(0)
        while lines and not _has_text(lines[-1]):
            lines.pop()
        if not lines:
            return
        if self._printed_any:
            lines.insert(0, [])  # one print, so the live region is redrawn once
        self.console.print(SegmentLines(lines, new_lines=True))
        self._printed_any = True

    def _close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        rest = self._splitter.flush()
        if rest.strip():
            self._print_block(rest)

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


class PipeSink:
    """Raw text, flushed per delta, for pipes and files."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
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
    return sys.stdout.isatty()


def terminal_console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def make_sink(*, stream: bool = True) -> TerminalSink | PipeSink | BufferedSink:
    """The right sink for where stdout goes."""
    sink: TerminalSink | PipeSink
    if stdout_is_terminal():
        sink = TerminalSink(terminal_console(), notes=stderr_console())
    else:
        sink = PipeSink()
    return sink if stream else BufferedSink(sink)
