"""How an `mmcli` process ends: without the interpreter's teardown (a twentieth of a
one-shot), yet with its exit code, its output flushed, exit handlers run, and any
thread still working waited for."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "HOME": str(tmp_path), "MMCLI_NO_WORKER": "1"},
    )


def test_exit_handlers_run_and_output_is_flushed(tmp_path):
    done = _run(
        """
        import atexit, sys
        from pathlib import Path
        atexit.register(lambda: Path("handler-ran").write_text("yes"))
        sys.stdout.write("unflushed, ")  # still in the buffer when mmcli ends
        sys.argv = ["mmcli", "--version"]
        from mmcli.__main__ import main
        main()
        """,
        tmp_path,
    )
    assert (done.returncode, done.stdout) == (0, "unflushed, mmcli 0.1.0\n")
    assert (tmp_path / "handler-ran").read_text() == "yes"


def test_the_exit_code_of_a_usage_error_is_kept(tmp_path):
    done = _run(
        """
        import sys
        sys.argv = ["mmcli", "chat", "--no-such-option"]
        from mmcli.__main__ import main
        main()
        """,
        tmp_path,
    )
    assert done.returncode == 2 and "No such option" in done.stderr


def test_a_thread_still_working_is_waited_for(tmp_path):
    done = _run(
        """
        import sys, threading, time
        from pathlib import Path
        def late():
            time.sleep(0.5)
            Path("thread-finished").write_text("yes")
        threading.Thread(target=late).start()  # not a daemon: Python's exit waits for it
        sys.argv = ["mmcli", "--version"]
        from mmcli.__main__ import main
        main()
        """,
        tmp_path,
    )
    assert done.returncode == 0
    assert (tmp_path / "thread-finished").read_text() == "yes"


SCRIPT = Path(sys.executable).with_name("mmcli")


@pytest.mark.skipif(not SCRIPT.exists(), reason="mmcli is not installed as a script beside this Python")
def test_the_installed_script_answers_and_ends_with_its_exit_code(mmcli_env, mmcli_cwd, fake_openai):
    # What users run: the console script pip made (entry point mmcli.__main__:main), not `python -m mmcli`.
    from tests.fakes import Reply

    fake_openai.queue(Reply(text="From the script."))
    done = subprocess.run([str(SCRIPT), "chat", "-m", "gpt-4o-mini", "Hi"], env=mmcli_env, cwd=mmcli_cwd,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert (done.returncode, done.stdout) == (0, "From the script.\n")
    assert fake_openai.generation_requests[-1].json["messages"][-1]["content"] == "Hi"
    bad = subprocess.run([str(SCRIPT), "chat", "-t", "9", "Hi"], env=mmcli_env, cwd=mmcli_cwd,
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert bad.returncode == 2 and bad.stderr.startswith("mmcli: ")
