"""The few lines at the bottom of the terminal that are redrawn in place.

Everything above the region is printed once and never touched again; the
region itself is rewritten from its first row. The cursor always rests at
the start of the row just below the region, so a ``^C`` echoed by the
terminal lands on an empty row (and is wiped by the next write) rather than
wrapping a full-width line, and moving up by the region's height always
reaches its first row.

One write per update: the erase, the lines printed for good and the new
region go out together, so no other write can come between an erase and what
replaces it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.segment import Segment

    Line = list[Segment]

_CONTROL = [(0,)]  # marks a segment as a control code: Rich writes it to terminals only


def _control(code: str) -> Segment:
    from rich.segment import Segment

    return Segment(code, None, _CONTROL)  # type: ignore[arg-type]


class LiveRegion:
    def __init__(self, console: Console) -> None:
        self.console = console
        # Only a real terminal gets a live region; elsewhere only the final lines are written.
        self.enabled = console.is_terminal and not console.is_dumb_terminal
        self._rows = 0  # rows the region occupies on the screen now

    @property
    def max_rows(self) -> int:
        """The most lines the region may show: it fits on the screen with the cursor's row below it
        (fewer when the terminal is narrower than the console thinks, and wraps each line)."""
        width = self.console.size.width
        wraps = -(-width // min(width, self._screen_width()))
        return max(1, (self.console.size.height - 1) // wraps)

    def _screen_width(self) -> int:
        """The terminal's own width. It differs from the console's when COLUMNS says otherwise or
        the terminal was just resized; the terminal then wraps lines, and the rows must be counted
        as it shows them."""
        from . import terminal

        return terminal.current().screen_columns(self.console.file) or self.console.size.width

    def update(self, committed: list[Line], live: list[Line]) -> None:
        """Print ``committed`` for good where the region was, then draw ``live`` below it."""
        from rich.segment import Segment, Segments

        if not self.enabled:
            live = []
            if not committed:
                return
        width = max(1, min(self.console.size.width, self._screen_width()))
        segments: list[Segment] = []
        if self.enabled:
            segments.append(_control("\r"))
            if self._rows:
                segments.append(_control(f"\x1b[{self._rows}A"))
        erase_line = _control("\x1b[2K") if self.enabled else None
        newline = Segment("\n")
        rows = 0
        for index, line in enumerate((*committed, *live)):
            if erase_line is not None:
                segments.append(erase_line)
            segments.extend(line)
            segments.append(newline)
            if index >= len(committed):
                # A line wider than the terminal wraps.
                rows += max(1, -(-Segment.get_line_length(line) // width))
        if self.enabled:
            segments.append(_control("\x1b[J"))
        # Counted before the write: if Ctrl-C lands during it, the next erase still covers the region.
        self._rows = rows
        self.console.print(Segments(segments), end="", soft_wrap=True, crop=False, highlight=False)

    def clear(self) -> None:
        """Remove the region (and anything echoed below it)."""
        if self.enabled:
            self.update([], [])

    def show_cursor(self, show: bool) -> None:
        if self.enabled:
            self.console.show_cursor(show)
