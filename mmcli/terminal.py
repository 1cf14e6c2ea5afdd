"""The terminal one mmcli run talks to: its three streams, which of them are
terminals, the terminal's size, and whether colour is wanted.

Everything that decides by "is stdout a terminal?" (Markdown or raw text,
a drawn table or tab-separated records, a progress bar or none, a question or
none) asks ``current()`` instead of ``sys.stdout.isatty()``, and every Rich
Console is made by ``Terminal.console``. So the whole run sees one answer,
and a test can hand mmcli a terminal of its own (``use``): "stdout is an
80-column colour terminal" in-process gives what a pty of that size shows.
The idea is httpie's ``Environment``.

Only ``os`` and ``sys`` are imported here: ``mmcli --help`` reads the width.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.console import Console

ColorSystem = Literal["standard", "256", "truecolor", "auto"]

# The colours a TERM suffix promises, as Rich reads them (rich.console._TERM_COLORS).
_TERM_COLOURS: dict[str, ColorSystem] = {"kitty": "256", "256color": "256", "16color": "standard"}
_DUMB_TERMS = ("dumb", "unknown")
DEFAULT_SIZE = (80, 25)  # Rich's size when nothing says otherwise (shutil's is 80 x 24)


@dataclass
class Terminal:
    """Where one run's input comes from and its output goes, and what that is.

    ``size`` is the terminal's (columns, lines), as the pty would report it;
    it applies to the streams that are terminals. ``follows_resizes`` (the real
    process) asks the operating system each time instead, so a window resized
    during an answer is drawn at its new width, as Rich does on its own.
    ``environ`` holds NO_COLOR, FORCE_COLOR, TTY_COMPATIBLE, TERM, COLORTERM,
    COLUMNS and LINES, read by the same rules as Rich.
    """

    stdin: IO[str] | None
    stdout: IO[str]
    stderr: IO[str]
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    size: tuple[int, int] | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    follows_resizes: bool = False

    @classmethod
    def from_process(cls) -> Terminal:
        """The real process's terminal: its standard streams as they are now."""
        return cls(
            stdin=sys.stdin,
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
            environ=os.environ,
            follows_resizes=True,
        )

    # --- the terminal's size ---------------------------------------------------------------------

    def screen_size(self) -> tuple[int, int] | None:
        """(columns, lines) of the terminal on stdin, stdout or stderr (the first that is one), or None."""
        if self.follows_resizes:
            for descriptor in (0, 1, 2):  # Rich's order
                try:
                    columns, lines = os.get_terminal_size(descriptor)
                except (AttributeError, ValueError, OSError):
                    continue
                return columns, lines
            return None
        if self.size is not None and (self.stdin_isatty or self.stdout_isatty or self.stderr_isatty):
            return self.size
        return None

    def screen_columns(self, stream: object) -> int | None:
        """The width of the terminal ``stream`` shows on (the window's, whatever COLUMNS says), or None.

        A terminal narrower than the console wraps its lines, and the live region counts rows by it.
        """
        if not self.follows_resizes and any(stream is own for own in (self.stdin, self.stdout, self.stderr)):
            is_terminal = (stream is self.stdout and self.stdout_isatty) or (
                stream is self.stderr and self.stderr_isatty) or (stream is self.stdin and self.stdin_isatty)
            size = self.screen_size() if is_terminal else None
            return size[0] if size else None
        try:
            return os.get_terminal_size(stream.fileno()).columns or None  # type: ignore[attr-defined]
        except (AttributeError, OSError, ValueError):
            return None

    def columns(self) -> int:
        """The width help text is laid out for: COLUMNS, else stdout's terminal, else 80 (shutil's rule)."""
        if self.follows_resizes:
            import shutil

            return shutil.get_terminal_size().columns
        columns = _positive(self.environ.get("COLUMNS"))
        if columns:
            return columns
        size = self.size if self.stdout_isatty else None
        return size[0] if size and size[0] > 0 else 80

    # --- colour, as Rich decides it ----------------------------------------------------------------

    @property
    def no_color(self) -> bool:
        """NO_COLOR set to anything but the empty string: styles stay, colours go (no-color.org)."""
        return self.environ.get("NO_COLOR", "") != ""

    def is_terminal(self, *, stderr: bool = False) -> bool:
        """Whether Rich may send control codes to stdout (or stderr): TTY_COMPATIBLE, then FORCE_COLOR,
        then whether the stream is a terminal."""
        compatible = self.environ.get("TTY_COMPATIBLE", "")
        if compatible in ("0", "1"):
            return compatible == "1"
        force_color = self.environ.get("FORCE_COLOR")
        if force_color is not None:
            return force_color != ""
        return self.stderr_isatty if stderr else self.stdout_isatty

    def is_dumb(self, *, stderr: bool = False) -> bool:
        """TERM=dumb (or unknown) on a terminal: no cursor movement, no colour."""
        return self.is_terminal(stderr=stderr) and self.environ.get("TERM", "").lower() in _DUMB_TERMS

    def color_system(self, *, stderr: bool = False) -> ColorSystem | None:
        """The colours the stream takes: None off a terminal or on a dumb one; else COLORTERM, then TERM."""
        if not self.is_terminal(stderr=stderr) or self.is_dumb(stderr=stderr):
            return None
        if sys.platform == "win32":  # Windows consoles are asked by Rich itself
            return "auto"
        if self.environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
            return "truecolor"
        colours = self.environ.get("TERM", "").strip().lower().rpartition("-")[2]
        return _TERM_COLOURS.get(colours, "standard")

    def console_size(self, *, stderr: bool = False) -> tuple[int | None, int | None]:
        """The width and height a console is made with; (None, None) lets Rich ask the window each
        time (the real process). Rich's rule: COLUMNS and LINES, 80 x 25 on a dumb terminal,
        else the terminal's size, else 80 x 25."""
        if self.follows_resizes:
            return None, None
        width = _digits(self.environ.get("COLUMNS"))
        height = _digits(self.environ.get("LINES"))
        if width is not None and height is not None:
            return width, height
        if self.is_dumb(stderr=stderr):
            return DEFAULT_SIZE
        columns, lines = self.screen_size() or (None, None)
        return (width if width is not None else columns or DEFAULT_SIZE[0],
                height if height is not None else lines or DEFAULT_SIZE[1])

    def console(self, *, stderr: bool = False, **options: Any) -> Console:
        """A Rich Console on stdout (or stderr) that sees this terminal, whatever the real one is."""
        from rich.console import Console

        width, height = self.console_size(stderr=stderr)
        return Console(
            file=self.stderr if stderr else self.stdout,
            force_terminal=self.is_terminal(stderr=stderr),
            color_system=self.color_system(stderr=stderr),
            no_color=self.no_color,
            width=width,
            height=height,
            highlight=False,
            _environ=self.environ,
            **options,
        )


def _isatty(stream: object) -> bool:
    # No stream at all (a closed descriptor under some CI runners), or a closed one, is not a terminal.
    try:
        return bool(stream is not None and stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def _digits(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _positive(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


# --- the run's terminal --------------------------------------------------------------------------

_current: tuple[int, Terminal] | None = None  # with the pid it was read in: a forked child reads its own
_injected: list[Terminal] = []


def current() -> Terminal:
    """This run's terminal: the one a caller put in place with ``use``, else the process's own, read once."""
    global _current
    if _injected:
        return _injected[-1]
    pid = os.getpid()
    if _current is None or _current[0] != pid:
        _current = (pid, Terminal.from_process())
    return _current[1]


@contextmanager
def use(terminal: Terminal) -> Iterator[Terminal]:
    """Run with ``terminal`` as the run's terminal (an in-process test's screen), then the real one again."""
    _injected.append(terminal)
    try:
        yield terminal
    finally:
        _injected.remove(terminal)


def forget() -> None:
    """Read the process's streams again on the next ``current()`` (they were replaced)."""
    global _current
    _current = None
