"""Regenerate the shell completion scripts from the Typer app.

    python completions/generate.py

The scripts call back into `mmcli` for the candidates (Typer's protocol:
_MMCLI_COMPLETE=complete_SHELL), so they stay right as commands, options,
models and sessions change; tests/test_completions.py fails when these files
drift from what this generates. zsh and fish are Typer's own scripts; bash is
Typer's with `provider:model` words kept whole (see BASH_SCRIPT).
"""

from __future__ import annotations

from pathlib import Path

from typer._completion_shared import get_completion_script

SHELLS = {"bash": "mmcli.bash", "zsh": "_mmcli", "fish": "mmcli.fish"}
COMPLETE_VAR = "_MMCLI_COMPLETE"


# Typer's bash script hands bash's COMP_WORDS to mmcli, but bash splits words at
# ':' (COMP_WORDBREAKS), so `-m anthropic:claude-h` arrived as three words and
# completed nothing. This one passes the line as typed up to the cursor (the
# Python side splits it as a shell would; COMP_CWORD -1 means "the last word",
# a large one "a new, empty word"), then drops from each candidate the part
# before the word's last ':', which bash keeps in place.
BASH_SCRIPT = r"""_mmcli_completion() {
    local IFS=$'\n'
    local line="${COMP_LINE:0:COMP_POINT}" cword=-1
    [[ "$line" == *[[:space:]] ]] && cword=1000000
    COMPREPLY=( $( env COMP_WORDS="$line" \
                   COMP_CWORD=$cword \
                   %(complete_var)s=complete_bash $1 ) )
    local word="${line##*[[:space:]]}"
    if [[ "$word" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
        local before="${word%%"${word##*:}"}" i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[$i]="${COMPREPLY[$i]#"$before"}"
        done
    fi
    return 0
}

complete -o default -F _mmcli_completion mmcli
"""


def script_for(shell: str) -> str:
    if shell == "bash":
        return BASH_SCRIPT % {"complete_var": COMPLETE_VAR}
    return get_completion_script(prog_name="mmcli", complete_var=COMPLETE_VAR, shell=shell) + "\n"


def main() -> None:
    here = Path(__file__).resolve().parent
    for shell, filename in SHELLS.items():
        (here / filename).write_text(script_for(shell), encoding="utf-8")
        print(f"wrote completions/{filename}")


if __name__ == "__main__":
    main()
