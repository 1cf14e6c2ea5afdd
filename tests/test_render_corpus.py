"""Every document of the corpus (tests/render_corpus/: the shapes LLM answers take), streamed in
small random chunks, leaves on the screen exactly what Rich prints for the whole document."""

from __future__ import annotations

import difflib
import itertools
import random

import pytest

from tests.render_screen import (
    CORPUS,
    Terminal,
    chunks,
    corpus,
    stream_to_pipe_console,
    stream_to_terminal,
    whole_lines,
    whole_output,
)

DOCUMENTS = corpus()
SEEDS = (1, 2, 3)


def diff(expected: list[str], got: list[str]) -> str:
    return "\n".join(difflib.unified_diff(expected, got, "whole document", "streamed", lineterm=""))


def test_the_corpus_is_there():
    assert len(DOCUMENTS) >= 10


@pytest.mark.parametrize("name", DOCUMENTS)
@pytest.mark.parametrize("width", [60, 80, 120])
def test_what_is_printed_for_good_equals_the_whole_rendering(name, width):
    text = DOCUMENTS[name]
    expected = whole_output(text, width)
    for seed in SEEDS:
        assert stream_to_pipe_console(chunks(text, seed), width) == expected, f"seed {seed}"


@pytest.mark.parametrize("name", DOCUMENTS)
@pytest.mark.parametrize(("width", "height"), [(60, 20), (80, 24), (120, 30)])
def test_the_final_screen_equals_the_whole_rendering(name, width, height):
    text = DOCUMENTS[name]
    expected = whole_lines(text, width)

    def nothing_wrong_scrolls_off(terminal: Terminal) -> None:
        # What has left the screen can never be redrawn: it must already be final and right.
        gone = terminal.scrolled_off()
        assert gone == expected[: len(gone)], diff(expected, gone)

    terminal = stream_to_terminal(chunks(text, width), width, height, after_write=nothing_wrong_scrolls_off)
    assert terminal.lines() == expected, diff(expected, terminal.lines())
    assert not terminal.screen.cursor.hidden


@pytest.mark.parametrize("height", [5, 8, 12])
def test_a_block_taller_than_the_screen_is_committed_line_by_line(height):
    text = (CORPUS / "tall" / "long_code.md").read_text(encoding="utf-8")
    expected = whole_lines(text, 80)
    tallest = 0

    def live_region_fits(terminal: Terminal) -> None:
        nonlocal tallest
        gone = terminal.scrolled_off()
        assert gone == expected[: len(gone)], diff(expected, gone)
        # The rows below the last final line are the live region: never more than the screen.
        tallest = max(tallest, terminal.screen.cursor.y)
        assert terminal.screen.cursor.y <= height - 1

    terminal = stream_to_terminal(chunks(text, 7, largest=20), 80, height, after_write=live_region_fits)
    assert terminal.lines() == expected, diff(expected, terminal.lines())
    assert len(expected) > 3 * height and tallest == height - 1


def test_throttled_redraws_give_the_same_screen():
    """At the real refresh rate, with the clock moving unevenly between pieces."""
    text = "\n\n".join(DOCUMENTS[name] for name in ("numbered_steps", "tables", "fences", "link_refs"))
    rng = random.Random(5)
    now = itertools.accumulate(rng.choice((0.0, 0.01, 0.05, 0.3)) for _ in itertools.count())
    terminal = stream_to_terminal(chunks(text, 5), 80, 24, refresh_per_second=10, clock=lambda: next(now))
    assert terminal.lines() == whole_lines(text, 80)


def test_windows_line_ends_render_like_unix_ones():
    text = DOCUMENTS["numbered_steps"].replace("\n", "\r\n")
    # Split so that some \r\n pairs are cut in two.
    assert stream_to_pipe_console(chunks(text, 11, largest=3), 80) == whole_output(text, 80)


def test_an_interrupted_answer_shows_what_arrived_rendered_once():
    text = DOCUMENTS["mixed_answer"]
    cut = text[: text.index("| Flask |")]
    terminal = stream_to_terminal(chunks(cut, 3), 80, 24, interrupted=True)
    assert terminal.lines() == whole_lines(cut, 80)
    assert not terminal.screen.cursor.hidden


def test_the_spinner_is_gone_when_the_answer_starts():
    terminal = stream_to_terminal(["\n", "Hello **there**."], 60, 10)
    assert terminal.lines() == ["Hello there."]
