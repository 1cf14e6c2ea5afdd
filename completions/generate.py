"""Regenerate the shell completion scripts from the Typer app.

    python completions/generate.py

The scripts are Typer's: they call back into `mmcli` for the candidates, so
they stay right as commands and options change; tests/test_completions.py
fails when these files drift from what the app generates.
"""

from __future__ import annotations

from pathlib import Path

from typer._completion_shared import get_completion_script

SHELLS = {"bash": "mmcli.bash", "zsh": "_mmcli", "fish": "mmcli.fish"}
COMPLETE_VAR = "_MMCLI_COMPLETE"


def script_for(shell: str) -> str:
    return get_completion_script(prog_name="mmcli", complete_var=COMPLETE_VAR, shell=shell) + "\n"


def main() -> None:
    here = Path(__file__).resolve().parent
    for shell, filename in SHELLS.items():
        (here / filename).write_text(script_for(shell), encoding="utf-8")
        print(f"wrote completions/{filename}")


if __name__ == "__main__":
    main()
