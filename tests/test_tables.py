"""Tables in a pipe are records (one per line, tab-separated, whole, unpadded, no
header) and Rich tables on a terminal: `models`, `sessions list`, `cache stats`."""

from __future__ import annotations

import datetime
import json

import pytest

from tests.inproc import pty, without_ansi
from tests.test_compare import pty_env

pytestmark = pytest.mark.in_pytest

LONG_NAME = "a-rather-long-session-name-about-planning-the-whole-trip-to-japan-in-2027"


def records(stdout: str) -> list[list[str]]:
    assert stdout.endswith("\n")
    lines = stdout[:-1].split("\n")
    for line in lines:
        assert line == line.strip(" "), repr(line)  # no padding
        assert "…" not in line and "\x1b" not in line
    return [line.split("\t") for line in lines]


def iso(text: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, text
    return parsed


def test_models_in_a_pipe_one_record_per_model(run_mmcli, mmcli_env):
    listed = json.loads(run_mmcli(["models", "--json"], mmcli_env).stdout)
    done = run_mmcli(["models"], {**mmcli_env, "COLUMNS": "40"})  # a narrow terminal width changes nothing
    assert done.returncode == 0, done.stderr
    rows = records(done.stdout)
    assert len(rows) == len(listed)
    assert all(len(row) == 5 for row in rows)
    by_model = {row[0]: row for row in rows}
    assert by_model["gemini:gemini-2.5-pro"] == ["gemini:gemini-2.5-pro", "text,image,audio,document", "1048576", "",
                                                "set"]
    assert by_model["openai:gpt-4o-mini"][3] == "default"
    assert by_model["openai:whisper-1"][1] == "audio (transcribe)"


def test_models_says_ollama_needs_no_key(run_mmcli, mmcli_env, run_mmcli_inproc):
    rows = records(run_mmcli(["models"], mmcli_env).stdout)
    ollama = [row for row in rows if row[0].startswith("ollama:")]
    assert ollama and all(row[4] == "not needed" for row in ollama)
    documents = json.loads(run_mmcli(["models", "--json"], mmcli_env).stdout)
    ollama_json = [d for d in documents if d["provider"] == "ollama"]
    assert all(d["key_needed"] is False and d["key_set"] is False for d in ollama_json)
    assert all(d["key_needed"] is True for d in documents if d["provider"] == "openai")
    # On a terminal: the Rich table, with its header, and the same words.
    done = run_mmcli_inproc(["models"], pty_env(mmcli_env), **pty(columns=120, lines=200))
    screen = without_ansi(done.stdout)
    assert done.returncode == 0
    assert "model" in screen.splitlines()[0] and "key" in screen.splitlines()[0]
    assert "\t" not in screen
    ollama_line = next(line for line in screen.splitlines() if "ollama:llama3.2 " in line)
    assert "not needed" in ollama_line and " set" not in ollama_line


def test_sessions_list_in_a_pipe_and_on_a_terminal(run_mmcli, mmcli_env, run_mmcli_inproc, fake_openai):
    for name in (LONG_NAME, "short"):
        assert run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", name, "Hi"], mmcli_env).returncode == 0
    done = run_mmcli(["sessions", "list"], {**mmcli_env, "COLUMNS": "50"})
    assert done.returncode == 0, done.stderr
    rows = records(done.stdout)
    assert [row[0] for row in rows] == ["short", LONG_NAME]  # most recent first, never cut
    assert [row[1:3] for row in rows] == [["openai:gpt-4o-mini", "1"]] * 2
    listed = json.loads(run_mmcli(["sessions", "list", "--json"], mmcli_env).stdout)
    assert [iso(row[3]) for row in rows] == [iso(s["last_used"]) for s in listed]

    done = run_mmcli_inproc(["sessions", "list"], pty_env(mmcli_env), **pty(columns=140, lines=40))
    screen = without_ansi(done.stdout)
    assert done.returncode == 0
    assert "last used" in screen and "\t" not in screen and "just now" in screen


def test_cache_stats_in_a_pipe_and_its_json_times(run_mmcli, mmcli_env, fake_openai):
    for _ in range(2):  # a miss, then a hit
        assert run_mmcli(["chat", "-m", "gpt-4o-mini", "Cache me"], mmcli_env).returncode == 0
    document = json.loads(run_mmcli(["cache", "stats", "--json"], mmcli_env).stdout)
    oldest = iso(document["oldest_created_at"])
    assert abs((datetime.datetime.now(datetime.timezone.utc) - oldest).total_seconds()) < 3600
    done = run_mmcli(["cache", "stats"], mmcli_env)
    assert done.returncode == 0, done.stderr
    figures = dict(records(done.stdout))
    assert set(figures) == set(document)
    assert (figures["entries"], figures["hits"], figures["misses"]) == ("1", "1", "1")
    assert figures["oldest_created_at"] == document["oldest_created_at"]
    assert figures["path"] == document["path"]


def test_cache_stats_of_an_empty_cache(run_mmcli, mmcli_env):
    document = json.loads(run_mmcli(["cache", "stats", "--json"], mmcli_env).stdout)
    assert document["oldest_created_at"] is None
    figures = dict(records(run_mmcli(["cache", "stats"], mmcli_env).stdout))
    assert figures["entries"] == "0" and figures["oldest_created_at"] == ""

