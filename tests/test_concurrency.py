"""Many mmcli processes sharing one data dir, and a process killed mid-write."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes import Reply

WRITERS = 8


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_eight_processes_share_the_cache_and_sessions(mmcli_env, mmcli_cwd, fake_openai):
    fake_openai.default = Reply(text="Shared answer.", chunk_delay_s=0.01)
    script = (
        'import subprocess, sys\n'
        'i = sys.argv[1]\n'
        'for args in (["-S", f"shared-{int(i) % 4}", f"turn from writer {i}"], [f"cacheable question {i}"]):\n'
        '    done = subprocess.run([sys.executable, "-m", "mmcli", "chat", "-m", "gpt-4o-mini", *args],\n'
        '                          capture_output=True, text=True, stdin=subprocess.DEVNULL)\n'
        '    print(done.returncode, repr(done.stderr))\n'
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i)], env=mmcli_env, cwd=mmcli_cwd, stdout=subprocess.PIPE, text=True
        )
        for i in range(WRITERS)
    ]
    outputs = [w.communicate(timeout=240)[0] for w in writers]
    for output in outputs:
        assert output.splitlines() == ["0 ''", "0 ''"], output

    listing = subprocess.run(
        [sys.executable, "-m", "mmcli", "sessions", "list", "--json"],
        env=mmcli_env, cwd=mmcli_cwd, capture_output=True, text=True, timeout=60,
    )
    sessions = {s["name"]: s for s in json.loads(listing.stdout)}
    assert {f"shared-{n}" for n in range(4)} <= set(sessions)
    assert all(sessions[f"shared-{n}"]["turns"] == 2 for n in range(4))

    data = Path(mmcli_env["MMCLI_DATA_DIR"])
    with sqlite3.connect(data / "cache.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] >= WRITERS
    assert _integrity(data / "cache.sqlite3") == "ok"
    assert _integrity(data / "sessions.sqlite3") == "ok"


def test_sigkill_mid_answer_keeps_every_completed_turn(run_mmcli, mmcli_env, mmcli_cwd, fake_openai):
    fake_openai.queue(Reply(text="First answer."), Reply(text="word " * 400, chunk_delay_s=0.02))
    assert run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "killed", "first"], mmcli_env).returncode == 0

    victim = subprocess.Popen(
        [sys.executable, "-m", "mmcli", "chat", "-m", "gpt-4o-mini", "-S", "killed", "second"],
        env=mmcli_env, cwd=mmcli_cwd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )
    assert victim.stdout is not None
    assert victim.stdout.read(10).startswith(b"word")  # the answer is streaming
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    time.sleep(0.1)

    data = Path(mmcli_env["MMCLI_DATA_DIR"])
    assert _integrity(data / "sessions.sqlite3") == "ok"
    assert _integrity(data / "cache.sqlite3") == "ok"
    shown = run_mmcli(["sessions", "show", "killed", "--json"], mmcli_env)
    assert shown.returncode == 0, shown.stderr
    assert "First answer." in shown.stdout
    # The store still takes new turns.
    fake_openai.queue(Reply(text="Third answer."))
    assert run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "killed", "third"], mmcli_env).returncode == 0
