"""The Typer app: registers the commands and nothing else.

Command modules import only typer at their top level; everything heavier
(Rich rendering, SDKs, Pillow, SQLite stores) is imported inside the command
that needs it, so `mmcli --help` stays close to the cost of importing Typer.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import __version__
from .commands import analyze_image, batch, cache, chat, compare, live, models, sessions, transcribe, worker
from .help_format import CONTEXT_SETTINGS, MmcliCommand, MmcliGroup

app = typer.Typer(
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
app.command("models", cls=MmcliCommand)(models.models)
app.command("transcribe", cls=MmcliCommand)(transcribe.transcribe)
app.command("compare", cls=MmcliCommand)(compare.compare)
app.command("analyze-image", cls=MmcliCommand)(analyze_image.analyze_image)
app.command("live", cls=MmcliCommand)(live.live)
app.add_typer(cache.app, name="cache")
app.add_typer(sessions.app, name="sessions")
app.add_typer(batch.app, name="batch")
app.add_typer(worker.app, name="worker")


def main() -> None:
    from .errors import install_signal_handlers

    install_signal_handlers()
    try:
        app(prog_name="mmcli")
    finally:
        # At exit the interpreter's last garbage collections walk every object
        # still alive: after an SDK import that is hundreds of thousands of
        # objects and 100-200 ms spent on nothing. Freezing them skips the
        # walk; files and connections are already closed by then.
        import gc

        gc.freeze()
