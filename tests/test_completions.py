"""The shipped completion scripts match what the app generates, and work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "completions"))
import generate  # noqa: E402


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
    probe = (
        f"source '{script}'\n"
        "COMP_WORDS=(mmcli ch); COMP_CWORD=1; _mmcli_completion mmcli; echo \"${COMPREPLY[@]}\"\n"
        "COMP_WORDS=(mmcli chat --no-s); COMP_CWORD=2; _mmcli_completion mmcli; echo \"${COMPREPLY[@]}\"\n"
    )
    out = subprocess.run(["bash", "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["chat"]
    assert lines[1].split() == ["--no-stream"]
