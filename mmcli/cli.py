"""The Typer app: registers the commands and nothing else.

Command modules import only typer at their top level; everything heavier
(Rich rendering, SDKs, Pillow, SQLite stores) is imported inside the command
that needs it, so `mmcli --help` stays close to the cost of importing Typer.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import __version__
from .help_format import CONTEXT_SETTINGS, MmcliCommand, MmcliGroup

_SETTINGS = dict(
    name="mmcli",
    help=(
        "One command line for multimodal LLMs: OpenAI, Anthropic, Gemini, Vertex AI, "
        "Perplexity and local OpenAI-compatible servers.\n\n"
        "Examples:\n\n"
        '  mmcli chat "Explain Python\'s GIL in three bullet points"\n'
        '  git diff | mmcli chat "Write a commit message for this diff"\n'
        "  mmcli chat -m anthropic:claude-sonnet-4-5 -i chart.png \"What does this chart show?\"\n"
        "  mmcli models"
    ),
    cls=MmcliGroup,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT_SETTINGS,
)
app = typer.Typer(**_SETTINGS)  # type: ignore[arg-type]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mmcli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        Optional[bool],  # noqa: UP045 - Typer reads the annotation at runtime on Python 3.10 too
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """mmcli: chat with, describe images for, transcribe with and compare LLMs."""


# name -> module under mmcli.commands: a command's function, a group's `app`. Imported
# only when needed: a one-shot in a shell loop loads its own command module, not all fourteen.
COMMANDS = {"chat": "chat", "transcribe": "transcribe", "compare": "compare", "analyze-image": "analyze_image",
            "live": "live"}
GROUPS = {"cache": "cache", "sessions": "sessions", "batch": "batch", "worker": "worker", "models": "models",
          "config": "config_cmd", "aliases": "aliases", "keys": "keys", "roles": "roles"}


def _register(target: typer.Typer, names: list[str]) -> None:
    from importlib import import_module

    for name in names:
        if name in COMMANDS:
            module = import_module(f"{__package__}.commands.{COMMANDS[name]}")
            target.command(name, cls=MmcliCommand)(getattr(module, COMMANDS[name]))
        else:
            target.add_typer(import_module(f"{__package__}.commands.{GROUPS[name]}").app, name=name)


def app_for(args: list[str]) -> typer.Typer:
    """The app to run for ``args``: only the command they name, when they name one.

    Before parsing anything Typer turns every registered command into a Click
    command, reading each one's signature and type hints: about 30 ms for all of
    them, as much as importing Typer itself, plus importing every command module.
    A run of one command (a one-shot in a shell loop) needs only that one;
    `mmcli --help`, a mistyped command and shell completion get the whole app.
    """
    import os

    chosen = args[0] if args and not os.environ.get("_MMCLI_COMPLETE") else None
    names = [chosen] if chosen in COMMANDS or chosen in GROUPS else [*COMMANDS, *GROUPS]
    target = typer.Typer(**_SETTINGS)  # type: ignore[arg-type]
    target.registered_callback = app.registered_callback
    _register(target, names)  # type: ignore[arg-type]
    return target


def main() -> None:
    import sys

    from .errors import install_signal_handlers

    install_signal_handlers()
    chosen = app_for(sys.argv[1:])
    import gc

    gc.freeze()  # what start-up built lives as long as the process: no collection need scan it again
    gc.enable()  # off since __main__ (start-up makes no garbage); a long REPL or batch makes some
    try:
        chosen(prog_name="mmcli")
    finally:
        # At exit the interpreter's last garbage collections walk every object
        # still alive: after an SDK import that is hundreds of thousands of
        # objects and 100-200 ms spent on nothing. Freezing them skips the
        # walk; files and connections are already closed by then.
        gc.freeze()
