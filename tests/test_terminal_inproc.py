"""mmcli's terminal environment (mmcli/terminal.py): the colour and size rules it gives Rich are
Rich's own, and mmcli run in-process on an injected terminal shows what a real pty shows."""

from __future__ import annotations

import difflib
import io
import re

import pexpect
import pytest
from rich.console import Console

from mmcli.terminal import Terminal
from tests.fakes import Reply
from tests.render_screen import Terminal as Screen
from tests.render_screen import corpus, whole_lines, whole_output

ROWS = 24
COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|38;[0-9;]+)m")


class _Tty(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _terminal(environ: dict[str, str], *, tty: bool = True, size: tuple[int, int] | None = (90, 30)) -> Terminal:
    return Terminal(stdin=None, stdout=_Tty(tty), stderr=_Tty(False), stdin_isatty=tty, stdout_isatty=tty,
                    size=size, environ=environ)


ENVIRONMENTS = [
    {},
    {"TERM": "xterm-256color"},
    {"TERM": "xterm-16color"},
    {"TERM": "xterm-kitty"},
    {"TERM": "xterm", "COLORTERM": "truecolor"},
    {"TERM": "dumb"},
    {"TERM": "unknown", "COLUMNS": "70", "LINES": "20"},
    {"TERM": "xterm-256color", "NO_COLOR": "1"},
    {"TERM": "xterm-256color", "NO_COLOR": ""},
    {"FORCE_COLOR": "1"},
    {"FORCE_COLOR": ""},
    {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"},
    {"TTY_COMPATIBLE": "1"},
    {"TERM": "xterm-256color", "COLUMNS": "100"},
    {"LINES": "12"},
    {"COLUMNS": "x"},
]


@pytest.mark.parametrize("tty", [True, False])
@pytest.mark.parametrize("environ", ENVIRONMENTS, ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()) or "bare")
def test_the_console_is_what_rich_would_make_for_that_terminal(environ, tty):
    """Rich's own detection, given the same environment and stream, decides exactly as the terminal does."""
    terminal = _terminal(environ, tty=tty)
    ours = terminal.console()
    rich = Console(file=terminal.stdout, highlight=False, _environ=environ)
    assert ours.is_terminal == rich.is_terminal
    assert ours.is_dumb_terminal == rich.is_dumb_terminal
    assert ours.color_system == rich.color_system
    assert ours.no_color == rich.no_color
    assert ours.is_interactive == rich.is_interactive
    if not tty:  # Rich asks the real process's descriptors for a size: only a pipe's is known here
        assert ours.size == rich.size


def test_the_console_takes_the_injected_terminals_size_unless_columns_says_otherwise():
    assert _terminal({}, size=(90, 30)).console().size == (90, 30)
    assert _terminal({"COLUMNS": "100"}, size=(90, 30)).console().size == (100, 30)
    assert _terminal({}, tty=False, size=(90, 30)).console().size == (80, 25)  # no terminal: Rich's default
    assert _terminal({"TERM": "dumb"}, size=(90, 30)).console().size == (80, 25)


def test_help_width_follows_shutils_rule():
    assert _terminal({}, size=(90, 30)).columns() == 90
    assert _terminal({"COLUMNS": "60"}, size=(90, 30)).columns() == 60
    assert _terminal({"COLUMNS": "0"}, size=(90, 30)).columns() == 90
    assert _terminal({}, tty=False, size=(90, 30)).columns() == 80


# --- in-process against a real pty ----------------------------------------------------------------


def _pty_screen(spawn_mmcli, args: list[str], env: dict[str, str], width: int) -> tuple[int, str]:
    child = spawn_mmcli(args, env, dimensions=(ROWS, width))
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def _lines(raw: str, width: int) -> list[str]:
    screen = Screen(width, ROWS)
    screen.feed(raw)
    return screen.lines()


def test_an_answer_in_process_leaves_the_screen_a_pty_shows(spawn_mmcli, run_mmcli_inproc, mmcli_env, fake_openai):
    """The smoke test behind every in-process terminal test: the same answer, the same screen."""
    answer = "\n\n".join(corpus()[name] for name in ("numbered_steps", "mixed_answer"))
    env = {**mmcli_env, "COLUMNS": "80", "LINES": str(ROWS)}
    args = ["chat", "--no-cache", "-m", "gpt-4o-mini", "render test"]
    fake_openai.queue(Reply(text=answer, chunk_delay_s=0.001), Reply(text=answer, chunk_delay_s=0.001))
    status, raw = _pty_screen(spawn_mmcli, args, env, 80)
    done = run_mmcli_inproc(args, env, stdin_isatty=True, stdout_isatty=True, stderr_isatty=True, size=(80, ROWS))
    assert status == 0 and done.returncode == 0, done.stderr
    assert done.stderr == ""
    expected = whole_lines(answer, 80)
    assert _lines(raw, 80) == expected
    got = _lines(done.stdout, 80)
    assert got == expected, "\n".join(difflib.unified_diff(expected, got, lineterm=""))
    assert bool(COLOUR.search(done.stdout)) == bool(COLOUR.search(raw)) is True


def test_a_narrower_terminal_than_columns_in_process(run_mmcli_inproc, mmcli_env, fake_openai):
    """COLUMNS says 100, the terminal has 80 (test_terminal.py checks the same in a pty)."""
    answer = corpus()["numbered_steps"]
    fake_openai.queue(Reply(text=answer, chunk_delay_s=0.001))
    done = run_mmcli_inproc(["chat", "--no-cache", "-m", "gpt-4o-mini", "render test"],
                            {**mmcli_env, "COLUMNS": "100", "LINES": str(ROWS)},
                            stdout_isatty=True, stderr_isatty=True, size=(80, ROWS))
    assert done.returncode == 0, done.stderr
    expected = []
    for line in whole_output(answer, 100).split("\n")[:-1]:
        expected += [line[start : start + 80].rstrip() for start in range(0, max(1, len(line)), 80)]
    assert _lines(done.stdout, 80) == expected


def test_no_color_and_a_dumb_terminal_in_process(run_mmcli_inproc, mmcli_env, fake_openai):
    answer = "# Title\n\nSome **bold** text.\n\n```python\nprint('hello')\n```\n"
    fake_openai.queue(Reply(text=answer), Reply(text=answer), Reply(text=answer))
    args = ["chat", "--no-cache", "-m", "gpt-4o-mini", "Q"]
    coloured = run_mmcli_inproc(args, mmcli_env, stdout_isatty=True, size=(100, ROWS))
    plain = run_mmcli_inproc(args, {**mmcli_env, "NO_COLOR": "1"}, stdout_isatty=True, size=(100, ROWS))
    dumb = run_mmcli_inproc(args, {**mmcli_env, "TERM": "dumb"}, stdout_isatty=True, size=(100, ROWS))
    assert COLOUR.search(coloured.stdout) and "**bold**" not in coloured.stdout
    assert not COLOUR.search(plain.stdout) and "**bold**" not in plain.stdout and "\x1b[1m" in plain.stdout
    assert "\x1b" not in dumb.stdout and "Title" in dumb.stdout


def test_tables_are_drawn_on_a_terminal_and_records_in_a_pipe(run_mmcli_inproc, mmcli_env):
    drawn = run_mmcli_inproc(["models"], mmcli_env, stdout_isatty=True, size=(140, ROWS))
    piped = run_mmcli_inproc(["models"], mmcli_env)
    assert drawn.returncode == piped.returncode == 0
    assert "\t" not in drawn.stdout and "\t" in piped.stdout
    assert "\x1b" not in piped.stdout
