"""`mmcli sessions search QUERY` (SQLite FTS5 over every prompt and answer) and the
`sessions list --model/--since` filters, as a user runs them."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pexpect
import pytest

from mmcli.conversation import Message, Part
from mmcli.store import db
from mmcli.store.sessions import _MIGRATIONS, _SCHEMA, SessionStore
from tests.fakes import Reply

pytestmark = pytest.mark.in_pytest

DAY = 86400.0


def chat(run_mmcli, env, *args: str) -> None:
    done = run_mmcli(["chat", *args], env)
    assert done.returncode == 0, done.stderr


def test_search_finds_prompts_and_answers_ranked_in_a_pipe_and_as_json(
    run_mmcli, mmcli_env, fake_openai, fake_anthropic, tmp_path
):
    notes = tmp_path / "notes.txt"
    notes.write_text("kubernetes appears only in this fragment\n")
    fake_openai.queue(Reply(text="The GIL is a mutex; one thread runs Python bytecode at a time."))
    chat(run_mmcli, mmcli_env, "-m", "gpt-4o-mini", "-S", "python-gil", "Explain the GIL")
    fake_anthropic.queue(Reply(text="Use a mutex around the counter."))
    chat(run_mmcli, mmcli_env, "-m", "claude-haiku-4-5", "-S", "rust-locks", "-f", str(notes), "Counter races")
    fake_openai.queue(Reply(text="Pasta."))
    chat(run_mmcli, mmcli_env, "-m", "gpt-4o-mini", "-S", "dinner", "What to cook?")

    piped = run_mmcli(["sessions", "search", "mutex"], mmcli_env)
    assert piped.returncode == 0, piped.stderr
    records = [line.split("\t") for line in piped.stdout.splitlines()]
    assert {(r[0], r[1], r[2], r[3]) for r in records} == {
        ("python-gil", "2", "assistant", "openai:gpt-4o-mini"),
        ("rust-locks", "2", "assistant", "anthropic:claude-haiku-4-5"),
    }
    assert all(len(r) == 6 and "\x1b[" not in r[5] and "\x02" not in r[5] for r in records)
    # bm25: the shorter answer, where "mutex" weighs more, ranks first.
    assert records[0][0] == "rust-locks" and records[0][5] == "Use a mutex around the counter."

    found = json.loads(run_mmcli(["sessions", "search", "gil", "--json"], mmcli_env).stdout)
    assert [(h["session"], h["message"], h["role"]) for h in found] in (
        [("python-gil", 1, "user"), ("python-gil", 2, "assistant")],
        [("python-gil", 2, "assistant"), ("python-gil", 1, "user")],
    )
    assert found[0]["created_at"] and "GIL" in found[0]["snippet"]

    # Phrases and prefixes (FTS5 syntax), and text that is not valid syntax, searched as words.
    phrase = run_mmcli(["sessions", "search", '"one thread"', "--json"], mmcli_env)
    assert [h["session"] for h in json.loads(phrase.stdout)] == ["python-gil"]
    prefix = run_mmcli(["sessions", "search", "cook*"], mmcli_env)
    assert prefix.stdout.split("\t")[0] == "dinner"
    odd = run_mmcli(["sessions", "search", "what to cook?!"], mmcli_env)
    assert odd.returncode == 0 and odd.stdout.startswith("dinner\t1\tuser\t")
    # Fragments are context, not what was said: not searched.
    none = run_mmcli(["sessions", "search", "kubernetes"], mmcli_env)
    assert none.returncode == 0 and none.stdout == "" and "No saved prompt or answer matches" in none.stderr
    assert json.loads(run_mmcli(["sessions", "search", "kubernetes", "--json"], mmcli_env).stdout) == []
    limited = run_mmcli(["sessions", "search", "mutex", "-n", "1"], mmcli_env)
    assert len(limited.stdout.splitlines()) == 1


def test_the_index_follows_updates_undo_and_deletes(run_mmcli, mmcli_env):
    data = Path(mmcli_env["MMCLI_DATA_DIR"])
    with SessionStore(data) as store:
        store.create("notes", "openai:gpt-4o-mini")
        store.append("notes", Message("user", [Part.of_text("zebra question")]), "openai:gpt-4o-mini")
        seq = store.append("notes", Message("assistant", [Part.of_text("partial")]), "openai:gpt-4o-mini")
        store.update("notes", seq, Message("assistant", [Part.of_text("okapi answer")]), "openai:gpt-4o-mini")

    def sessions_matching(word: str) -> list[tuple[str, int]]:
        done = run_mmcli(["sessions", "search", word, "--json"], mmcli_env)
        assert done.returncode == 0, done.stderr
        return [(h["session"], h["message"]) for h in json.loads(done.stdout)]

    assert sessions_matching("okapi") == [("notes", 2)]
    assert sessions_matching("partial") == []
    with SessionStore(data) as store:
        store.drop_last_answer("notes")
    assert sessions_matching("okapi") == []
    assert sessions_matching("zebra") == [("notes", 1)]
    assert run_mmcli(["sessions", "delete", "notes", "--yes"], mmcli_env).returncode == 0
    assert sessions_matching("zebra") == []


def test_an_existing_data_dir_gets_its_old_messages_indexed(run_mmcli, mmcli_env):
    data = Path(mmcli_env["MMCLI_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    # A sessions file as the release before search left it (schema + migration 2).
    conn = db.connect(data / "sessions.sqlite3", _SCHEMA, _MIGRATIONS[:1])
    with conn:
        conn.execute("INSERT INTO sessions VALUES (1, 'old-trip', 'openai:gpt-4o', NULL, 1.0, 2.0)")
        conn.execute(
            "INSERT INTO messages (session_id, seq, role, model, created_at, parts)"
            " VALUES (1, 1, 'user', NULL, 1.0, ?)",
            (json.dumps([{"kind": "text", "text": "Ferries to Naoshima?"}]),),
        )
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()
    done = run_mmcli(["sessions", "search", "naoshima"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("old-trip\t1\tuser\t\t")
    with sqlite3.connect(data / "sessions.sqlite3") as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == 1 + len(_MIGRATIONS)


def test_search_highlights_the_match_in_a_terminal(spawn_mmcli, mmcli_env):
    with SessionStore(Path(mmcli_env["MMCLI_DATA_DIR"])) as store:
        store.create("trip", "openai:gpt-4o")
        store.append("trip", Message("user", [Part.of_text("Which ferry goes to Naoshima island?")]), "openai:gpt-4o")
    child = spawn_mmcli(["sessions", "search", "ferry"], mmcli_env)
    child.expect("trip")
    child.expect("\x1b\\[[0-9;]*7[0-9;]*mferry")  # reverse video on the word found
    child.expect("Naoshima")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_bad_search_is_one_sentence(run_mmcli, mmcli_env):
    done = run_mmcli(["sessions", "search", "  "], mmcli_env)
    assert done.returncode == 2 and done.stderr.startswith("mmcli: The search is empty")


def test_list_filters_by_model_and_since(run_mmcli, mmcli_env):
    now = time.time()
    data = Path(mmcli_env["MMCLI_DATA_DIR"])
    for name, model, age in (("old-gpt", "openai:gpt-4o", 30 * DAY), ("new-gpt", "openai:gpt-4o", DAY),
                             ("claude", "anthropic:claude-haiku-4-5", 2 * DAY)):
        with SessionStore(data, clock=lambda age=age: now - age) as store:
            store.create(name, model)
            store.append(name, Message("user", [Part.of_text("hi")]), model)
    with SessionStore(data, clock=lambda: now - 3 * DAY) as store:  # switched model mid-way: its answers count
        store.create("switched", "anthropic:claude-haiku-4-5")
        store.append("switched", Message("assistant", [Part.of_text("x")]), "openai:gpt-4o")

    def names(*args: str) -> list[str]:
        done = run_mmcli(["sessions", "list", *args], mmcli_env)
        assert done.returncode == 0, done.stderr
        return [line.split("\t")[0] for line in done.stdout.splitlines()]

    assert names() == ["new-gpt", "claude", "switched", "old-gpt"]
    assert names("--since", "7d") == ["new-gpt", "claude", "switched"]
    assert names("--since", "36h") == ["new-gpt"]
    assert names("--model", "gpt-4o") == ["new-gpt", "switched", "old-gpt"]
    assert names("-m", "openai:gpt-4o", "--since", "7d") == ["new-gpt", "switched"]
    assert names("--model", "claude-haiku-4-5", "-m", "gpt-4o", "--since", "2.5d") == ["new-gpt", "claude"]
    day = time.strftime("%Y-%m-%d", time.localtime(now - 10 * DAY))
    assert names("--since", day) == ["new-gpt", "claude", "switched"]
    listed = json.loads(run_mmcli(["sessions", "list", "--model", "claude-haiku-4-5", "--json"], mmcli_env).stdout)
    assert [s["name"] for s in listed] == ["claude", "switched"]

    empty = run_mmcli(["sessions", "list", "--model", "nothing-like-it"], mmcli_env)
    assert empty.returncode == 0 and empty.stdout == "" and "No saved session matches" in empty.stderr
    bad = run_mmcli(["sessions", "list", "--since", "last tuesday"], mmcli_env)
    assert bad.returncode == 2 and bad.stderr.startswith("mmcli: 'last tuesday' is neither an age nor a date")
