"""`mmcli chat` in a real pseudo-terminal: rendered Markdown, colour rules."""

from __future__ import annotations

import re

import pexpect

from tests.fakes import Reply

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
