"""Signals keep what was said (DESIGN.md, exit codes): the question is stored
before the request leaves, the answer as it grows; SIGTERM and SIGHUP end like
Ctrl-C (143 / 129), a closed stdout ends quietly with 0, and SIGKILL loses at
most the last moment of the answer, never the question.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import Reply

WORDS = " ".join(f"word{n}" for n in range(400))

# The answer-fidelity and signal paths are checked in-process here; test_worker re-runs some through the worker.
pytestmark = pytest.mark.in_process


def _session(env: dict[str, str], name: str) -> list[tuple[str, str, str | None]]:
    """(role, text, finish_reason) of each stored message of session ``name``."""
    path = Path(env["MMCLI_DATA_DIR"]) / "sessions.sqlite3"
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT m.role, m.parts, m.finish_reason FROM messages m JOIN sessions s ON s.id = m.session_id"
            " WHERE s.name = ? ORDER BY m.seq",
            (name,),
        ).fetchall()
    return [(role, "".join(p.get("text", "") for p in json.loads(parts)), reason) for role, parts, reason in rows]


def _popen(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mmcli", *args],
        env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _read_until(stream, needle: bytes) -> bytes:  # type: ignore[no-untyped-def]
    seen = b""
    while needle not in seen:
        chunk = stream.read1(4096) if hasattr(stream, "read1") else stream.read(1)
        if not chunk:
            raise AssertionError(f"stream ended before {needle!r}: {seen[-200:]!r}")
        seen += chunk
    return seen


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_in_a_pipe_keep_question_and_partial(
    mmcli_env, mmcli_cwd, fake_openai, signum, code
):
    fake_openai.queue(Reply(text=WORDS, chunk_delay_s=0.02))
    child = _popen(["chat", "-m", "gpt-4o-mini", "-S", "sig", "Count for me"], mmcli_env, mmcli_cwd)
    printed = _read_until(child.stdout, b"word5 ")
    child.send_signal(signum)
    rest, stderr = child.communicate(timeout=30)
    assert child.returncode == code, stderr
    assert b"Traceback" not in stderr and b"nterrupted" in stderr
    stored = _session(mmcli_env, "sig")
    assert stored[0] == ("user", "Count for me", None)
    role, text, reason = stored[1]
    assert role == "assistant" and reason == "interrupted"
    assert text and (printed + rest).decode().startswith(text.rstrip())


def test_sigterm_in_a_terminal_restores_the_cursor(spawn_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text=WORDS, chunk_delay_s=0.02))
    child = spawn_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "tty", "Count"], mmcli_env)
    child.expect("word5")
    child.kill(signal.SIGTERM)
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 143
    screen = child.before or ""
    assert "\x1b[?25h" in screen  # the cursor Rich hid while streaming is shown again
    assert _session(mmcli_env, "tty")[1][2] == "interrupted"


def pexpect_eof():  # type: ignore[no-untyped-def]
    import pexpect

    return pexpect.EOF


def test_a_closed_stdout_keeps_the_partial_answer_and_exits_0(mmcli_env, mmcli_cwd, fake_openai):
    """`mmcli chat -S p "q" | head -c 20`"""
    fake_openai.queue(Reply(text=WORDS, chunk_delay_s=0.01))
    child = _popen(["chat", "-m", "gpt-4o-mini", "-S", "p", "q"], mmcli_env, mmcli_cwd)
    child.stdout.read(20)
    child.stdout.close()  # what `head -c 20` does once it has its bytes
    stderr = child.stderr.read()
    assert child.wait(timeout=30) == 0
    assert stderr == b""
    stored = _session(mmcli_env, "p")
    assert stored[0][:2] == ("user", "q")
    assert stored[1][1].startswith("word0 word1") and stored[1][2] == "interrupted"


def test_sigkill_mid_answer_leaves_the_question_and_most_of_the_answer(mmcli_env, mmcli_cwd, fake_openai):
    fake_openai.queue(Reply(text=WORDS, chunk_delay_s=0.02))
    child = _popen(["chat", "-m", "gpt-4o-mini", "-S", "killed", "Count"], mmcli_env, mmcli_cwd)
    printed = _read_until(child.stdout, b"word60 ").decode()
    child.kill()
    child.wait(timeout=30)
    stored = _session(mmcli_env, "killed")
    assert stored[0][:2] == ("user", "Count")
    text = stored[1][1]
    assert printed.startswith(text)
    # Saved at least every half second; the fake sends 50 words a second.
    assert len(printed.split()) - len(text.split()) <= 35


def test_ctrl_c_before_any_text_does_not_claim_a_partial_answer(mmcli_env, mmcli_cwd, fake_openai):
    fake_openai.queue(Reply(text="late", delay_s=30))
    child = _popen(["chat", "-m", "gpt-4o-mini", "-S", "early", "Q"], mmcli_env, mmcli_cwd)
    fake_openai.wait_for_requests(1, timeout=30)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode == 130
    assert stderr.decode().strip() == "mmcli: Interrupted."
    assert _session(mmcli_env, "early") == [("user", "Q", None)]  # the question is kept
