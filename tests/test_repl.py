"""The interactive `mmcli chat` in a real pseudo-terminal against the fake servers:
what the user sees, what each server received, and what the session store holds."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
from pathlib import Path

import pexpect
import pytest

from tests.fakes import Reply
from tests.test_chat import write_config
from tests.test_multimodal import image_bytes

GPT = "openai:gpt-4o-mini"
CLAUDE = "anthropic:claude-haiku-4-5"


@pytest.fixture(autouse=True)
def _terminal_without_cursor_reports(mmcli_env):
    # A pty answers no cursor position request (a terminal does): say so, rather than have
    # prompt_toolkit wait for the answer.
    mmcli_env["PROMPT_TOOLKIT_NO_CPR"] = "1"


def prompt_of(model: str) -> str:
    # The model name may be coloured: allow the reset code between it and "> ".
    return re.escape(model) + r"(\x1b\[0m)?> "


def start(spawn_mmcli, env, *args: str, model: str = GPT) -> pexpect.spawn:
    child = spawn_mmcli(["chat", *args], env)
    child.expect(prompt_of(model))
    return child


def say(child: pexpect.spawn, line: str, model: str = GPT) -> str:
    """Send a line and wait for the next prompt; what was printed in between."""
    child.sendline(line)
    child.expect(prompt_of(model))
    return child.before


def leave(child: pexpect.spawn) -> str:
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return child.before


def stored(env: dict[str, str], query: str, *params: object) -> list[tuple]:
    path = Path(env["MMCLI_DATA_DIR"]) / "sessions.sqlite3"
    with sqlite3.connect(path) as conn:
        return conn.execute(query, params).fetchall()


def stored_messages(env: dict[str, str], session: str) -> list[tuple[str, str, int]]:
    """(role, parts JSON, incomplete) of every stored message of ``session``, in order."""
    return stored(
        env,
        "SELECT m.role, m.parts, m.incomplete FROM messages m JOIN sessions s ON s.id = m.session_id"
        " WHERE s.name = ? ORDER BY m.seq",
        session,
    )


def chat_messages(fake) -> list[list[dict]]:
    return [r.json["messages"] for r in fake.generation_requests]


# --- a conversation ------------------------------------------------------------------------------


def test_a_conversation_sends_the_full_history_every_turn(spawn_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="Paris.", usage=(12, 3)), Reply(text="About 2 million.", usage=(30, 5)),
                      Reply(text="Noted.", usage=(50, 2)))
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini")
    assert "Paris." in say(child, "Capital of France?")
    assert "About 2 million." in say(child, "Population?")
    # A multi-line message between two """ lines arrives as one message.
    child.sendline('"""')
    child.sendline("line one")
    child.sendline('line two"""')
    # (The prompt is redrawn while the block grows: wait for the answer, then the next prompt.)
    child.expect("Noted.")
    child.expect(prompt_of(GPT))
    help_text = say(child, "/help")
    usage = say(child, "/usage")
    leave(child)

    assert chat_messages(fake_openai) == [
        [{"role": "user", "content": "Capital of France?"}],
        [
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "Population?"},
        ],
        [
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "Population?"},
            {"role": "assistant", "content": "About 2 million."},
            {"role": "user", "content": "line one\nline two"},
        ],
    ]
    for name in ("/model", "/system", "/retry", "/undo", "/clear", "/save", "/sessions", "/load", "/usage", "/exit"):
        assert name in help_text
    assert "92 input and 10 output tokens" in usage and "$0.0000" in usage
    # Every turn was stored, under an automatic name made from the first prompt.
    (name,) = stored(mmcli_env, "SELECT name FROM sessions")[0]
    assert name.endswith("-capital-of-france")
    assert [role for role, _, _ in stored_messages(mmcli_env, name)] == ["user", "assistant"] * 3
    # Line history survives the run, readable by its owner only.
    history = Path(mmcli_env["MMCLI_DATA_DIR"]) / "repl_history"
    assert "Population?" in history.read_text()
    assert stat.S_IMODE(os.stat(history).st_mode) == 0o600


def test_a_pasted_api_key_stays_out_of_the_history_and_the_session(spawn_mmcli, mmcli_env, fake_openai):
    key = mmcli_env["OPENAI_API_KEY"]
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini", "-S", "pasted")
    say(child, "An ordinary question")
    say(child, f"oops {key}")
    leave(child)
    history = (Path(mmcli_env["MMCLI_DATA_DIR"]) / "repl_history").read_text()
    assert "An ordinary question" in history and key not in history
    parts = " ".join(p for _, p, _ in stored_messages(mmcli_env, "pasted"))
    assert "oops ***" in parts and key not in parts


def test_model_switch_sends_the_history_to_the_new_provider_in_its_format(
    spawn_mmcli, mmcli_env, fake_openai, fake_anthropic
):
    fake_openai.queue(Reply(text="Hi from GPT."))
    fake_anthropic.queue(Reply(text="Hi from Claude."))
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini", "-S", "switch")
    say(child, "Hello")
    say(child, "/model claude-haiku-4-5", model=CLAUDE)
    say(child, "/system Be brief.", model=CLAUDE)
    assert "Hi from Claude." in say(child, "And you?", model=CLAUDE)
    leave(child)

    body = fake_anthropic.generation_requests[-1].json
    assert body["model"] == "claude-haiku-4-5"
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi from GPT."},
        {"role": "user", "content": "And you?"},
    ]
    assert stored(mmcli_env, "SELECT model, system FROM sessions WHERE name = 'switch'") == [
        (CLAUDE, "Be brief.")
    ]


def test_ctrl_c_stops_the_answer_keeps_what_arrived_and_the_repl_goes_on(spawn_mmcli, mmcli_env, fake_openai):
    long_text = " ".join(f"word{i}" for i in range(300))
    fake_openai.queue(Reply(text=long_text, chunk_delay_s=0.03), Reply(text="Fine."))
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini", "-S", "cut")
    child.sendline("Count slowly")
    child.expect("word3 ")
    child.sendintr()
    child.expect(prompt_of(GPT))
    # Ctrl-C at the prompt clears what was typed; the REPL is still there.
    child.send("half-typed")
    # Wait for readline's echo: a Ctrl-C that lands while readline is still taking
    # keys in is only acted on at the next key (CPython's readline loop), a race
    # of the test's own making.
    child.expect("half-typed")
    child.sendintr()
    child.expect(prompt_of(GPT))
    assert "Fine." in say(child, "Go on")
    leave(child)

    last = chat_messages(fake_openai)[-1]
    assert [m["role"] for m in last] == ["user", "assistant", "user"]
    partial = last[1]["content"]
    assert partial.startswith("word0 word1 word2 word3") and len(partial) < len(long_text)
    assert last[2] == {"role": "user", "content": "Go on"}
    assert [(role, incomplete) for role, _, incomplete in stored_messages(mmcli_env, "cut")] == [
        ("user", 0), ("assistant", 1), ("user", 0), ("assistant", 0)
    ]


@pytest.mark.parametrize(("signum", "code"), [(15, 143), (1, 129)])
def test_sigterm_or_sighup_mid_answer_ends_the_repl_keeping_what_was_said(
    spawn_mmcli, mmcli_env, fake_openai, signum, code
):
    fake_openai.queue(Reply(text=" ".join(f"word{i}" for i in range(300)), chunk_delay_s=0.03))
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini", "-S", "closed")
    child.sendline("Count slowly")
    child.expect("word3 ")
    child.kill(signum)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code
    messages = stored_messages(mmcli_env, "closed")
    assert [(role, incomplete) for role, _, incomplete in messages] == [("user", 0), ("assistant", 1)]
    assert json.loads(messages[1][1])[0]["text"].startswith("word0 word1 word2 word3")


def test_retry_regenerates_and_undo_drops_the_exchange(spawn_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="First try."), Reply(text="Second try."), Reply(text="Other."))
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini", "-S", "redo")
    say(child, "Tell a joke")
    assert "Second try." in say(child, "/retry")
    assert "Removed the last exchange." in say(child, "/undo")
    say(child, "Something else")
    leave(child)

    sent = chat_messages(fake_openai)
    assert sent[1] == sent[0] == [{"role": "user", "content": "Tell a joke"}]  # the retry: no old answer in it
    assert sent[2] == [{"role": "user", "content": "Something else"}]
    texts = [parts for _, parts, _ in stored_messages(mmcli_env, "redo")]
    assert len(texts) == 2 and "Something else" in texts[0] and "Other." in texts[1]


def test_a_provider_error_is_one_sentence_and_the_repl_goes_on(spawn_mmcli, mmcli_env, fake_openai):
    write_config(mmcli_env, "retries = 0\n")
    fake_openai.queue(Reply(status=500, error_message="The server had an error."), Reply(text="Recovered."))
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini")
    failed = say(child, "Hello?")
    assert "mmcli:" in failed and "Traceback" not in failed
    assert "Recovered." in say(child, "/retry")
    unknown = say(child, "/frobnicate")
    assert "Unknown command /frobnicate" in unknown
    leave(child)
    assert chat_messages(fake_openai)[-1] == [{"role": "user", "content": "Hello?"}]


# --- sessions across processes ---------------------------------------------------------------------


def test_resume_with_S_and_c_in_new_processes(spawn_mmcli, run_mmcli, mmcli_env, fake_openai, fake_anthropic):
    fake_anthropic.queue(Reply(text="March is cherry blossom season."), Reply(text="Book early."))
    fake_openai.queue(Reply(text="Pack layers."))
    child = start(spawn_mmcli, mmcli_env, "-S", "trip-planning", "-m", "claude-haiku-4-5", model=CLAUDE)
    say(child, "Japan in spring?", model=CLAUDE)
    assert "trip-planning" in leave(child)

    # A new process: the session's model comes back, with a recap of where it stood.
    child = spawn_mmcli(["chat", "-S", "trip-planning"], mmcli_env)
    child.expect(prompt_of(CLAUDE))
    recap = child.before
    assert "Resumed session 'trip-planning'" in recap and "cherry blossom" in recap
    say(child, "And in March?", model=CLAUDE)
    leave(child)
    assert fake_anthropic.generation_requests[-1].json["messages"] == [
        {"role": "user", "content": "Japan in spring?"},
        {"role": "assistant", "content": "March is cherry blossom season."},
        {"role": "user", "content": "And in March?"},
    ]

    # -c with a prompt: one turn on the most recent session, nothing but the answer on stdout.
    done = run_mmcli(["chat", "-c", "-m", "gpt-4o-mini", "What to wear?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Pack layers.\n"
    assert [m["role"] for m in chat_messages(fake_openai)[-1]] == ["user", "assistant"] * 2 + ["user"]

    # -c in the REPL resumes it too, now with the model -m switched it to.
    child = spawn_mmcli(["chat", "-c"], mmcli_env)
    child.expect(prompt_of(GPT))
    assert "What to wear?" in child.before and "Pack layers." in child.before
    leave(child)


def test_save_clear_and_load_switch_sessions(spawn_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="One."), Reply(text="Two."), Reply(text="Three."))
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini")
    say(child, "/save first-talk")
    say(child, "Alpha")
    assert "New session" in say(child, "/clear")
    say(child, "Beta")
    listing = say(child, "/sessions")
    assert "first-talk" in listing and "-beta" in listing
    assert "Resumed session 'first-talk'" in say(child, "/load first-talk")
    say(child, "Gamma")
    leave(child)

    assert chat_messages(fake_openai)[1] == [{"role": "user", "content": "Beta"}]
    assert chat_messages(fake_openai)[2] == [
        {"role": "user", "content": "Alpha"},
        {"role": "assistant", "content": "One."},
        {"role": "user", "content": "Gamma"},
    ]
    assert len(stored_messages(mmcli_env, "first-talk")) == 4


# --- line editing: paste, new lines, completion, history ------------------------------------------

PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
ALT_ENTER = "\x1b\r"
TAB = "\t"


def test_a_paste_is_one_message_and_alt_enter_starts_a_new_line(spawn_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="One message."), Reply(text="Two lines."))
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini")
    # What a terminal sends for a pasted block (bracketed paste), then Enter.
    child.send(PASTE_START + "def f():\r\n    return 1\r\n\r\nprint(f())\n" + PASTE_END)
    child.send("\r")
    child.expect("One message.")
    child.expect(prompt_of(GPT))
    child.send("first line" + ALT_ENTER + "second line\r")
    child.expect("Two lines.")
    child.expect(prompt_of(GPT))
    leave(child)
    assert [messages[-1]["content"] for messages in chat_messages(fake_openai)] == [
        "def f():\n    return 1\n\nprint(f())",
        "first line\nsecond line",
    ]


def test_tab_completes_commands_sessions_models_and_paths(spawn_mmcli, run_mmcli, mmcli_env, fake_openai,
                                                          fake_anthropic, mmcli_cwd):
    fake_anthropic.queue(Reply(text="Noted."))
    assert run_mmcli(["chat", "-S", "alpha-trip", "-m", "claude-haiku-4-5", "Hi"], mmcli_env).returncode == 0
    picture = mmcli_cwd / "holiday picture.png"
    picture.write_bytes(image_bytes((16, 16)))
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini")
    # /lo<Tab> -> "/load ", alp<Tab> -> the session's name.
    child.send("/lo" + TAB)
    child.expect_exact("/load")
    child.send("alp" + TAB)
    child.expect_exact("alpha-trip")
    child.send("\r")
    child.expect("Resumed session 'alpha-trip'")
    child.expect(prompt_of(CLAUDE))
    # A model by the start of its name, without its provider.
    child.send("/model gpt-4.1-na" + TAB)
    child.expect_exact("openai:gpt-4.1-nano")
    child.send("\r")
    child.expect(prompt_of("openai:gpt-4.1-nano"))
    # A path, its space and all.
    child.send("/image holi" + TAB)
    child.expect_exact("picture.png")
    child.send("\r")
    child.expect("Attached")
    child.expect(prompt_of("openai:gpt-4.1-nano"))
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert stored(mmcli_env, "SELECT model FROM sessions WHERE name = 'alpha-trip'") == [("openai:gpt-4.1-nano",)]


def test_load_keeps_the_sessions_model_and_a_wrong_name_points_to_sessions(
    spawn_mmcli, run_mmcli, mmcli_env, fake_openai, fake_anthropic
):
    fake_anthropic.queue(Reply(text="Hello from Claude."), Reply(text="Still Claude."))
    assert run_mmcli(["chat", "-S", "s1", "-m", "claude-haiku-4-5", "Hi"], mmcli_env).returncode == 0
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini")
    missing = say(child, "/load s2")
    assert "No session named 's2'" in missing and "/sessions" in missing
    assert "mmcli sessions list" not in missing
    assert "Resumed session 's1' (anthropic:claude-haiku-4-5" in say(child, "/load s1", model=CLAUDE)
    assert "Still Claude." in say(child, "And now?", model=CLAUDE)
    leave(child)
    assert stored(mmcli_env, "SELECT model FROM sessions WHERE name = 's1'") == [(CLAUDE,)]
    assert not fake_openai.generation_requests


def test_history_recalls_and_searches_earlier_messages_across_runs(spawn_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="A."), Reply(text="B."), Reply(text="C."), Reply(text="D."))
    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini")
    say(child, "What is the capital of Peru?")
    say(child, "Tell me about llamas")
    leave(child)

    child = start(spawn_mmcli, mmcli_env, "-m", "gpt-4o-mini")
    child.send("\x1b[A\r")  # Up: the last message of the previous run
    child.expect(prompt_of(GPT))
    child.send("\x12capital")  # Ctrl-R: search the history
    child.expect_exact("Peru")
    child.send("\r\r")  # end the search, then send what it found
    child.expect(prompt_of(GPT))
    leave(child)
    sent = [messages[-1]["content"] for messages in chat_messages(fake_openai)]
    assert sent[2:] == ["Tell me about llamas", "What is the capital of Peru?"]


def test_help_does_not_import_the_line_editor(mmcli_env, mmcli_cwd):
    import subprocess
    import sys

    for args in (["--help"], ["chat", "--help"]):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "mmcli", *args], env=mmcli_env,
                              cwd=mmcli_cwd, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "prompt_toolkit" not in done.stderr
