"""Smaller things a newcomer meets: `sessions show` keeps a message's lines, session
names are checked on rename, and compare's summary gives each model's wall time."""

from __future__ import annotations

import json
import re

import pytest

from tests.fakes import Reply
from tests.inproc import pty, without_ansi
from tests.test_compare import plain_screen, pty_env, table_rows

pytestmark = pytest.mark.in_pytest


def test_sessions_show_keeps_every_line_of_a_message(run_mmcli, run_mmcli_inproc, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="Answer line one\nAnswer line two\n\n```\ncode  stays\n```"))
    prompt = "first line of the question\nsecond line\nthird line"
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "multi"], mmcli_env, input=prompt)
    assert done.returncode == 0, done.stderr
    shown = run_mmcli_inproc(["sessions", "show", "multi"], pty_env(mmcli_env), **pty(columns=100, lines=60))
    lines = [line.strip() for line in without_ansi(shown.stdout).replace("\r\n", "\n").split("\n")]
    assert shown.returncode == 0
    for expected in ("first line of the question", "second line", "third line", "Answer line one", "Answer line two"):
        assert expected in lines, lines
    assert "code  stays" in lines
    # In a pipe the stored text comes out as it is.
    piped = run_mmcli(["sessions", "show", "multi"], mmcli_env).stdout
    assert prompt in piped and "Answer line one\nAnswer line two" in piped
    assert "  \n" not in piped


@pytest.mark.parametrize("bad", ["bad name/with slash", "two words", "semi;colon", "dots.in.it", "   "])
def test_rename_refuses_names_other_than_letters_digits_and_dashes(run_mmcli, mmcli_env, fake_openai, bad):
    assert run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "trip", "Hi"], mmcli_env).returncode == 0
    done = run_mmcli(["sessions", "rename", "trip", bad], mmcli_env)
    assert done.returncode == 2
    assert "cannot be a session name; use letters, digits and dashes" in done.stderr
    assert "Traceback" not in done.stderr
    names = [s["name"] for s in json.loads(run_mmcli(["sessions", "list", "--json"], mmcli_env).stdout)]
    assert names == ["trip"]


def test_rename_takes_letters_digits_and_dashes(run_mmcli, mmcli_env, fake_openai):
    assert run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "trip", "Hi"], mmcli_env).returncode == 0
    done = run_mmcli(["sessions", "rename", "trip", "Kyōto-trip-2027"], mmcli_env)
    assert done.returncode == 0, done.stderr
    names = [s["name"] for s in json.loads(run_mmcli(["sessions", "list", "--json"], mmcli_env).stdout)]
    assert names == ["Kyōto-trip-2027"]


def test_compare_gives_each_models_wall_time_from_the_commands_start(
    run_mmcli, spawn_mmcli, mmcli_env, fake_openai, fake_perplexity
):
    # Two models of one SDK (the cheapest to import) keep this test light.
    args = ["compare", "Hi", "-m", "gpt-4o-mini", "-m", "sonar"]
    done = run_mmcli([*args, "--json"], mmcli_env)
    assert done.returncode == 0, done.stderr
    for result in json.loads(done.stdout)["results"]:
        # The wall time spans the answer's own time, and the SDK loading before it.
        assert result["total_s"] is not None and result["wall_s"] >= result["total_s"] > 0
    plain = run_mmcli([*args, "--no-cache"], mmcli_env)
    assert plain.returncode == 0, plain.stderr
    header = next(line for line in plain.stdout.splitlines() if line.startswith("| model"))
    assert [c.strip() for c in header.strip("|").split("|")][2:5] == ["ttft", "total", "wall"]
    for row in table_rows(plain.stdout).values():
        assert re.fullmatch(r"\d+\.\d\ds", row[4]), row
    fake_openai.queue(Reply(text="One."))
    fake_perplexity.queue(Reply(text="Two."))
    child = spawn_mmcli([*args, "--no-cache"], pty_env(mmcli_env), dimensions=(40, 120))
    screen = plain_screen(child)
    assert child.exitstatus == 0, screen
    summary = screen[screen.rindex("Summary") :]
    assert re.search(r"model\s+status\s+ttft\s+total\s+wall", summary), summary
    assert "wall: since the command started" in " ".join(summary.split())
