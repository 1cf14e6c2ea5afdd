"""The shipped completion scripts match what the app generates, and work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "completions"))
import generate  # noqa: E402

pytestmark = pytest.mark.in_pytest


@pytest.mark.parametrize("shell", sorted(generate.SHELLS))
def test_shipped_script_matches_the_app(shell: str) -> None:
    shipped = (ROOT / "completions" / generate.SHELLS[shell]).read_text(encoding="utf-8")
    assert shipped == generate.script_for(shell), "run: python completions/generate.py"


def _mmcli_on_path(tmp_path: Path) -> dict[str, str]:
    """An `mmcli` executable on PATH for the shell to call back into."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    launcher = bindir / "mmcli"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mmcli "$@"\n')
    launcher.chmod(0o755)
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_script_completes_commands_and_options(tmp_path: Path) -> None:
    env = _mmcli_on_path(tmp_path)
    script = ROOT / "completions" / "mmcli.bash"
    # What bash sets before calling the function: the words, and the line with the cursor at its end.
    probe = (
        f"source '{script}'\n"
        "COMP_WORDS=(mmcli ch); COMP_CWORD=1; COMP_LINE='mmcli ch'; COMP_POINT=8\n"
        "_mmcli_completion mmcli; echo \"${COMPREPLY[@]}\"\n"
        "COMP_WORDS=(mmcli chat --no-s); COMP_CWORD=2; COMP_LINE='mmcli chat --no-s'; COMP_POINT=17\n"
        "_mmcli_completion mmcli; echo \"${COMPREPLY[@]}\"\n"
    )
    out = subprocess.run(["bash", "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["chat"]
    assert lines[1].split() == ["--no-stream"]


# --- what completes, through the variables the shipped scripts set -------------------------------------

HEAVY = ("openai", "anthropic", "google.genai", "PIL", "rich")


def complete(env: dict[str, str], line: str, *, importtime: bool = False) -> list[str]:
    """Candidates for the last word of ``line`` (a trailing space: a new word), as bash asks for them."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    flags = ["-X", "importtime"] if importtime else []
    done = subprocess.run(
        [sys.executable, *flags, "-m", "mmcli"],
        env={**env, "_MMCLI_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(cword)},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    if importtime:
        loaded = {row.rsplit("|", 1)[-1].strip() for row in done.stderr.splitlines() if "|" in row}
        assert not [m for m in HEAVY if m in loaded], "completion must not import an SDK, Pillow or Rich"
    else:
        assert done.stderr == ""
    return done.stdout.split()


def test_model_names_complete_with_prefixes_and_aliases(mmcli_env: dict[str, str]) -> None:
    from tests.test_chat import write_config

    write_config(mmcli_env, '[aliases]\nclaude-fast = "anthropic:claude-haiku-4-5"\n')
    assert complete(mmcli_env, "mmcli chat -m claude-h", importtime=True) == ["claude-haiku-4-5"]
    assert complete(mmcli_env, "mmcli chat --model anthropic:claude-s") == [
        "anthropic:claude-sonnet-4-0", "anthropic:claude-sonnet-4-5", "anthropic:claude-sonnet-4-6",
        "anthropic:claude-sonnet-5",
    ]
    assert "claude-fast" in complete(mmcli_env, "mmcli chat -m claude-")
    assert complete(mmcli_env, "mmcli compare Hi -m gpt-4o-mini -m sonar-p") == ["sonar-pro"]
    assert "ollama:llama3.2" in complete(mmcli_env, "mmcli analyze-image x.png --fallback ollama:")
    # vertex's models are only reachable with their prefix: a bare gemini-* name means the Developer API.
    assert complete(mmcli_env, "mmcli chat -m vertex:gemini-2.5-pro") == ["vertex:gemini-2.5-pro"]


def test_session_names_and_export_formats_complete(mmcli_env: dict[str, str], fake_openai: Any, run_mmcli: Any) -> None:
    assert complete(mmcli_env, "mmcli sessions show trip") == []  # no sessions yet: no candidates, no error
    for name in ("trip-planning", "trip-to-japan", "groceries"):
        assert run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", name, "Hi"], mmcli_env).returncode == 0
    assert complete(mmcli_env, "mmcli sessions show trip", importtime=True) == ["trip-to-japan", "trip-planning"]
    assert complete(mmcli_env, "mmcli sessions export gro") == ["groceries"]
    assert complete(mmcli_env, "mmcli sessions rename gr") == ["groceries"]
    assert complete(mmcli_env, "mmcli sessions delete ") == ["groceries", "trip-to-japan", "trip-planning"]
    assert complete(mmcli_env, "mmcli sessions export groceries -f ") == ["md", "json"]
    assert complete(mmcli_env, "mmcli sessions export groceries --format j") == ["json"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_keeps_provider_and_model_together(tmp_path: Path, mmcli_env: dict[str, str]) -> None:
    """Bash splits `anthropic:claude-h` at the colon; the script still completes the whole name
    and hands bash only the part after the colon, which bash puts after what is typed."""
    env = {**_mmcli_on_path(tmp_path), **{k: v for k, v in mmcli_env.items() if k != "PATH"}}
    script = ROOT / "completions" / "mmcli.bash"
    probe = (
        f"source '{script}'\n"
        "COMP_WORDS=(mmcli chat -m anthropic : claude-h); COMP_CWORD=5\n"
        "COMP_LINE='mmcli chat -m anthropic:claude-h'; COMP_POINT=${#COMP_LINE}\n"
        "_mmcli_completion mmcli; echo \"${COMPREPLY[@]}\"\n"
        "COMP_WORDS=(mmcli sessions export x -f ''); COMP_CWORD=5\n"
        "COMP_LINE='mmcli sessions export x -f '; COMP_POINT=${#COMP_LINE}\n"
        "_mmcli_completion mmcli; echo \"${COMPREPLY[@]}\"\n"
    )
    out = subprocess.run(["bash", "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines() == ["claude-haiku-4-5", "md json"], out.stderr
