"""`mmcli chat` in a real pseudo-terminal: rendered Markdown, colour rules."""

from __future__ import annotations

import difflib
import re

import pexpect
import pytest

from tests.fakes import Reply
from tests.render_screen import Terminal, corpus, whole_lines, whole_output

MARKDOWN_ANSWER = (
    "# Release notes\n\n"
    "Some **bold** words and `code`.\n\n"
    "- first item\n- second item\n\n"
    "```python\nprint('hello')\n```\n\n"
    "Final paragraph.\n"
)
COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|38;[0-9;]+)m")


def run_to_end(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    child.close()
    return child.before


def test_markdown_is_rendered_live_in_a_terminal(spawn_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text=MARKDOWN_ANSWER, chunk_delay_s=0.01))
    child = spawn_mmcli(["chat", "-m", "gpt-4o-mini", "Notes?"], mmcli_env)
    screen = run_to_end(child)
    assert child.exitstatus == 0, screen
    assert "Release notes" in screen and "# Release notes" not in screen
    assert "**bold**" not in screen and "bold" in screen
    assert "```" not in screen and "print" in screen
    assert "Final paragraph." in screen
    assert COLOUR.search(screen), "a terminal answer should be styled"


def test_finished_blocks_are_printed_once_not_redrawn(spawn_mmcli, mmcli_env, fake_openai):
    paragraphs = [f"Paragraph number {i} has several words in it." for i in range(30)]
    fake_openai.queue(Reply(text="\n\n".join(paragraphs) + "\n", chunk_delay_s=0.005))
    child = spawn_mmcli(["chat", "-m", "gpt-4o-mini", "Talk"], mmcli_env)
    screen = run_to_end(child)
    assert child.exitstatus == 0, screen
    # Re-rendering the whole answer would redraw the first paragraph at every
    # refresh while the other 29 stream in; printed once, it is there once
    # (plus at most one live-region frame before its block closed).
    assert 1 <= screen.count("Paragraph number 0 ") <= 2
    assert screen.count("Paragraph number 29 ") >= 1


def test_no_color_is_honoured(spawn_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text=MARKDOWN_ANSWER))
    child = spawn_mmcli(["chat", "-m", "gpt-4o-mini", "Notes?"], {**mmcli_env, "NO_COLOR": "1"})
    screen = run_to_end(child)
    assert child.exitstatus == 0, screen
    assert "Release notes" in screen
    assert not COLOUR.search(screen)


def test_citations_follow_the_answer_in_a_terminal(spawn_mmcli, mmcli_env, fake_perplexity):
    fake_perplexity.queue(Reply(text="Python 3.14.", citations=["https://www.python.org/"]))
    child = spawn_mmcli(["chat", "-m", "sonar", "Latest?"], mmcli_env)
    screen = run_to_end(child)
    assert child.exitstatus == 0, screen
    assert re.search(r"Sources:\s*\r?\n1\. https://www\.python\.org/", screen)


def test_errors_in_a_terminal_are_one_sentence(spawn_mmcli, mmcli_env):
    env = {k: v for k, v in mmcli_env.items() if k != "ANTHROPIC_API_KEY"}
    child = spawn_mmcli(["chat", "-m", "claude-haiku-4-5", "Hi"], env)
    screen = run_to_end(child)
    assert child.exitstatus == 3
    assert "ANTHROPIC_API_KEY" in screen and "Traceback" not in screen


# --- what stays on the screen, read by a terminal emulator ---------------------------------------

SCREEN_ROWS = 24


def screen_of(raw: str, width: int) -> list[str]:
    terminal = Terminal(width, SCREEN_ROWS)
    terminal.feed(raw)
    return terminal.lines()


def sized(env: dict[str, str], width: int) -> dict[str, str]:
    return {**env, "COLUMNS": str(width), "LINES": str(SCREEN_ROWS)}


@pytest.mark.parametrize("width", [60, 80, 120])
def test_nothing_printed_is_ever_erased_in_a_real_terminal(spawn_mmcli, mmcli_env, fake_openai, width):
    documents = corpus()
    answer = "\n\n".join(documents[name] for name in ("numbered_steps", "mixed_answer", "quotes_in_lists"))
    fake_openai.queue(Reply(text=answer, chunk_delay_s=0.002))
    child = spawn_mmcli(
        ["chat", "--no-cache", "-m", "gpt-4o-mini", "render test"], sized(mmcli_env, width),
        dimensions=(SCREEN_ROWS, width),
    )
    raw = run_to_end(child)
    assert child.exitstatus == 0, raw
    expected = whole_lines(answer, width)
    got = screen_of(raw, width)
    assert got == expected, "\n".join(difflib.unified_diff(expected, got, lineterm=""))


def test_ctrl_c_leaves_the_partial_answer_once_then_the_note(spawn_mmcli, mmcli_env, fake_openai):
    width = 80
    # Lines of exactly the terminal's width: the ^C the terminal echoes must not wrap one.
    words = [f"word{i:03d}" for i in range(400)]
    fake_openai.queue(Reply(text=" ".join(words), chunk_delay_s=0.02))
    child = spawn_mmcli(["chat", "--no-cache", "-m", "gpt-4o-mini", "Count"], sized(mmcli_env, width),
                        dimensions=(SCREEN_ROWS, width))
    child.expect("word030")
    child.sendintr()
    raw = run_to_end(child)
    assert child.exitstatus == 130, raw
    terminal = Terminal(width, SCREEN_ROWS)
    terminal.feed(raw)
    lines = [line for line in terminal.lines() if line]
    note = lines.index("[answer interrupted]")
    partial = " ".join(lines[:note]).split()
    # Every word that arrived, each once and in order, then the note.
    assert partial == words[: len(partial)] and len(partial) >= 31
    assert "^C" not in "".join(lines)
    assert not terminal.screen.cursor.hidden


def test_a_terminal_narrower_than_COLUMNS_wraps_lines_and_still_loses_none(spawn_mmcli, mmcli_env, fake_openai):
    """COLUMNS says 100, the terminal has 80: every line Rich pads to 100 takes two rows."""
    answer = corpus()["numbered_steps"]
    fake_openai.queue(Reply(text=answer, chunk_delay_s=0.002))
    child = spawn_mmcli(["chat", "--no-cache", "-m", "gpt-4o-mini", "render test"], sized(mmcli_env, 100),
                        dimensions=(SCREEN_ROWS, 80))
    raw = run_to_end(child)
    assert child.exitstatus == 0, raw
    expected = []
    for line in whole_output(answer, 100).split("\n")[:-1]:
        expected += [line[start : start + 80].rstrip() for start in range(0, max(1, len(line)), 80)]
    got = screen_of(raw, 80)
    assert got == expected, "\n".join(difflib.unified_diff(expected, got, lineterm=""))
