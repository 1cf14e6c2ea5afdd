"""`mmcli sessions list|show|export|rename|delete`, and one-shot turns on sessions:
trimming to the context window, and two processes writing at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from mmcli.conversation import Message, Part
from mmcli.store.sessions import SessionStore
from tests.fakes import Reply
from tests.test_repl import stored_messages

pytestmark = pytest.mark.in_pytest

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def seed(env: dict[str, str]) -> None:
    """Two sessions as chat would have left them: one with an image and an interrupted answer."""
    with SessionStore(Path(env["MMCLI_DATA_DIR"])) as store:
        store.create("trip-planning", "openai:gpt-4o-mini", system="You plan trips.")
        image = Part(kind="image", data=PNG, mime_type="image/png", source="map.png")
        store.append("trip-planning", Message("user", [Part.of_text("Where is this?"), image]), "openai:gpt-4o-mini")
        store.append("trip-planning", Message("assistant", [Part.of_text("**Kyoto**, Japan.")]), "openai:gpt-4o-mini")
        store.append("trip-planning", Message("user", [Part.of_text("And in March?")]), "openai:gpt-4o-mini")
        store.append(
            "trip-planning", Message("assistant", [Part.of_text("Cherry")], incomplete=True), "openai:gpt-4o-mini"
        )
        store.create("groceries", "anthropic:claude-haiku-4-5")
        store.append("groceries", Message("user", [Part.of_text("Milk?")]), "anthropic:claude-haiku-4-5")


def test_list_and_show_as_json(run_mmcli, mmcli_env):
    seed(mmcli_env)
    done = run_mmcli(["sessions", "list", "--json"], mmcli_env)
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    assert [(s["name"], s["model"], s["turns"]) for s in listing] == [
        ("groceries", "anthropic:claude-haiku-4-5", 1),  # most recently used first
        ("trip-planning", "openai:gpt-4o-mini", 2),
    ]
    assert listing[1]["system"] == "You plan trips." and listing[1]["last_used"]

    done = run_mmcli(["sessions", "show", "trip-planning", "--json"], mmcli_env)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert [(m["role"], m["text"], m["incomplete"]) for m in shown["messages"]] == [
        ("user", "Where is this?", False),
        ("assistant", "**Kyoto**, Japan.", False),
        ("user", "And in March?", False),
        ("assistant", "Cherry", True),
    ]
    assert shown["messages"][0]["attachments"][0]["source"] == "map.png"
    assert shown["messages"][1]["model"] == "openai:gpt-4o-mini"

    done = run_mmcli(["sessions", "list"], mmcli_env)
    assert "trip-planning" in done.stdout and "groceries" in done.stdout and "\x1b[" not in done.stdout


def test_export_markdown_and_json(run_mmcli, mmcli_env):
    seed(mmcli_env)
    md = run_mmcli(["sessions", "export", "trip-planning", "--format", "md"], mmcli_env)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# trip-planning\n")
    assert "- system prompt: You plan trips." in md.stdout
    assert "## User\n\nWhere is this?\n" in md.stdout
    assert "[image: map.png (image/png)]" in md.stdout
    assert "## Assistant (openai:gpt-4o-mini)\n\n**Kyoto**, Japan.\n" in md.stdout
    assert "Cherry\n\n*(answer interrupted)*" in md.stdout

    js = run_mmcli(["sessions", "export", "trip-planning", "--format", "json"], mmcli_env)
    assert js.returncode == 0, js.stderr
    document = json.loads(js.stdout)
    assert document["name"] == "trip-planning" and len(document["messages"]) == 4

    bad = run_mmcli(["sessions", "export", "trip-planning", "--format", "pdf"], mmcli_env)
    assert bad.returncode == 2 and "--format md" in bad.stderr and bad.stdout == ""


def test_rename_and_unknown_names_exit_2_with_close_matches(run_mmcli, mmcli_env):
    seed(mmcli_env)
    done = run_mmcli(["sessions", "rename", "trip-planning", "japan-2027"], mmcli_env)
    assert done.returncode == 0, done.stderr
    names = [s["name"] for s in json.loads(run_mmcli(["sessions", "list", "--json"], mmcli_env).stdout)]
    assert sorted(names) == ["groceries", "japan-2027"]

    for args in (["show", "japan-2072"], ["export", "japan-2072"], ["delete", "japan-2072"],
                 ["rename", "japan-2072", "x"]):
        missing = run_mmcli(["sessions", *args], mmcli_env)
        assert missing.returncode == 2, args
        assert "No session named 'japan-2072'" in missing.stderr and "japan-2027" in missing.stderr
        assert "Traceback" not in missing.stderr

    taken = run_mmcli(["sessions", "rename", "japan-2027", "groceries"], mmcli_env)
    assert taken.returncode == 2 and "already exists" in taken.stderr


def test_delete_asks_in_a_terminal_and_not_in_a_pipe(run_mmcli, spawn_mmcli, mmcli_env):
    seed(mmcli_env)
    child = spawn_mmcli(["sessions", "delete", "groceries"], mmcli_env)
    child.expect(r"Delete session 'groceries' \(1 turn\)\? \[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "Nothing deleted." in child.before

    child = spawn_mmcli(["sessions", "delete", "groceries"], mmcli_env)
    child.expect(r"\[y/N\]")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "Deleted 'groceries'." in child.before

    # stdin is not a terminal: no question, the session goes.
    done = run_mmcli(["sessions", "delete", "trip-planning"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(run_mmcli(["sessions", "list", "--json"], mmcli_env).stdout) == []


# --- one-shot turns on sessions --------------------------------------------------------------------


def test_history_beyond_the_context_window_is_left_out_of_the_request(run_mmcli, mmcli_env, fake_openai):
    """ollama:<unknown model> has a 32,768-token window: two 80,000-character turns cannot both go."""
    fake_openai.queue(Reply(text="Read the first."), Reply(text="Read the second."))
    first, second = "a " * 40_000, "b " * 40_000
    args = ["chat", "-m", "ollama:tiny-model", "-s", "Summarise.", "-S", "long"]
    done = run_mmcli([*args, "First:"], mmcli_env, input=first)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    done = run_mmcli([*args, "Second:"], mmcli_env, input=second)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Read the second.\n"
    assert "context window" in done.stderr and "oldest 2 messages" in done.stderr

    sent = fake_openai.generation_requests[-1].json["messages"]
    assert sent[0] == {"role": "system", "content": "Summarise."}
    assert [m["role"] for m in sent[1:]] == ["user"] and sent[1]["content"].startswith("Second:")
    # Nothing was deleted from the session itself.
    assert [role for role, _, _ in stored_messages(mmcli_env, "long")] == ["user", "assistant"] * 2


def test_two_processes_append_to_two_sessions_at_once(mmcli_env, mmcli_cwd, fake_openai):
    fake_openai.default = Reply(text=" ".join(["streamed"] * 40), chunk_delay_s=0.01)

    def run_pair(turn: int) -> None:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "mmcli", "chat", "-S", name, "-m", "gpt-4o-mini", f"{name} turn {turn}"],
                env=mmcli_env, cwd=mmcli_cwd, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for name in ("alpha", "beta")
        ]
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert out.startswith("streamed streamed")

    run_pair(1)
    run_pair(2)
    for name in ("alpha", "beta"):
        rows = stored_messages(mmcli_env, name)
        assert [role for role, _, _ in rows] == ["user", "assistant"] * 2
        assert f"{name} turn 1" in rows[0][1] and f"{name} turn 2" in rows[2][1]
    # Each process's second turn carried only its own session's history.
    for request in fake_openai.generation_requests[-2:]:
        texts = [m["content"] for m in request.json["messages"] if m["role"] == "user"]
        owner = texts[-1].split()[0]
        assert texts == [f"{owner} turn 1", f"{owner} turn 2"]


def test_a_session_keeps_its_temperature_and_max_tokens_for_c_and_S(run_mmcli, mmcli_env, fake_openai, fake_anthropic):
    run_mmcli(["chat", "-m", "gpt-4o-mini", "-t", "1.5", "--max-tokens", "300", "-S", "warm", "One"], mmcli_env)
    done = run_mmcli(["chat", "-c", "Two"], mmcli_env)
    assert done.returncode == 0, done.stderr
    second = fake_openai.generation_requests[-1].json
    assert second["temperature"] == 1.5 and second["max_completion_tokens"] == 300
    # A flag on a resumed session becomes its setting.
    run_mmcli(["chat", "-S", "warm", "-t", "0.2", "Three"], mmcli_env)
    run_mmcli(["chat", "-S", "warm", "Four"], mmcli_env)
    assert fake_openai.generation_requests[-1].json["temperature"] == 0.2
    # A stored temperature the new model cannot take is left out, with a note, not refused.
    run_mmcli(["chat", "-S", "warm", "-t", "1.5", "Five"], mmcli_env)
    done = run_mmcli(["chat", "-S", "warm", "-m", "claude-haiku-4-5", "Six"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert "Leaving out -t 1.5 for anthropic:claude-haiku-4-5" in done.stderr
    assert "temperature" not in fake_anthropic.generation_requests[-1].json
