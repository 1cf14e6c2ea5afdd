"""The Typer app: registers the commands and nothing else.

Command modules import only typer at their top level; everything heavier
(Rich rendering, SDKs, Pillow, SQLite stores) is imported inside the command
that needs it, so `mmcli --help` stays close to the cost of importing Typer.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import __version__
from .commands import (
    aliases,
    analyze_image,
    batch,
    cache,
    chat,
    compare,
    config_cmd,
    keys,
    live,
    models,
    roles,
    sessions,
    transcribe,
    worker,
)
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


app.command("chat", cls=MmcliCommand)(chat.chat)
app.command("transcribe", cls=MmcliCommand)(transcribe.transcribe)
app.command("compare", cls=MmcliCommand)(compare.compare)
app.command("analyze-image", cls=MmcliCommand)(analyze_image.analyze_image)
app.command("live", cls=MmcliCommand)(live.live)
app.add_typer(cache.app, name="cache")
app.add_typer(sessions.app, name="sessions")
app.add_typer(batch.app, name="batch")
app.add_typer(worker.app, name="worker")
app.add_typer(models.app, name="models")
app.add_typer(config_cmd.app, name="config")
app.add_typer(aliases.app, name="aliases")
app.add_typer(keys.app, name="keys")
app.add_typer(roles.app, name="roles")


def app_for(args: list[str]) -> typer.Typer:
    """The app to run for ``args``: only the command they name, when they name one.

    Before parsing anything Typer turns every registered command into a Click
    command, reading each one's signature and type hints: about 30 ms for all of
    them, as much as importing Typer itself. A run of one command (a one-shot in
    a shell loop) needs only that one; `mmcli --help`, a mistyped command and
    shell completion get the whole app.
    """
    import os

    if not args or os.environ.get("_MMCLI_COMPLETE"):
        return app
    commands = [info for info in app.registered_commands if info.name == args[0]]
    groups = [info for info in app.registered_groups if info.name == args[0]]
    if not commands and not groups:
        return app
    narrowed = typer.Typer(**_SETTINGS)  # type: ignore[arg-type]
    narrowed.registered_callback = app.registered_callback
    narrowed.registered_commands = commands
    narrowed.registered_groups = groups
    return narrowed


def main() -> None:
    import sys

    from .errors import install_signal_handlers

    install_signal_handlers()
    try:
        app_for(sys.argv[1:])(prog_name="mmcli")
    finally:
        # At exit the interpreter's last garbage collections walk every object
        # still alive: after an SDK import that is hundreds of thousands of
        # objects and 100-200 ms spent on nothing. Freezing them skips the
        # walk; files and connections are already closed by then.
        import gc

        gc.freeze()
