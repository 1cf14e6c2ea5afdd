"""`mmcli aliases set|remove|list`: short names for models, kept in config.toml's [aliases]."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import exits_cleanly
from ..help_format import MmcliCommand, MmcliGroup

app = typer.Typer(
    name="aliases",
    cls=MmcliGroup,
    help=(
        "Short names for models, usable wherever a model is (-m, --fallback, default_model). "
        "They live in config.toml's [aliases] table.\n\n"
        "Examples:\n\n"
        "  mmcli aliases set fast openai:gpt-4o-mini\n\n"
        '  mmcli chat -m fast "Hello"\n\n'
        "  mmcli aliases list\n\n"
        "  mmcli aliases remove fast"
    ),
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The alias, such as fast.")]


@app.command("set", cls=MmcliCommand)
@exits_cleanly
def set_(
    name: NameArgument,
    model: Annotated[str, typer.Argument(metavar="MODEL", help="What it stands for: provider:model or an alias.")],
) -> None:
    """Make NAME stand for MODEL (checked as -m checks it; replaces an alias of that name).

    Examples:

      mmcli aliases set fast openai:gpt-4o-mini

      mmcli aliases set claude anthropic:claude-sonnet-4-5
    """
    from .. import settings_file
    from ..errors import UsageError, report

    if not name.strip() or "." in name:
        raise UsageError(f"'{name}' cannot be an alias: use a word without ':', '.' or spaces, such as fast.")
    settings_file.set_value(f"aliases.{name}", model)
    report(f"{name} now stands for {model.strip()}.")


@app.command("remove", cls=MmcliCommand)
@exits_cleanly
def remove(name: NameArgument) -> None:
    """Remove an alias.

    Examples:

      mmcli aliases remove fast
    """
    from .. import settings_file
    from ..errors import UsageError, report

    if not settings_file.unset(f"aliases.{name}"):
        known = ", ".join(settings_file.load_config().aliases) or "none yet"
        raise UsageError(f"There is no alias '{name}'; aliases: {known}.")
    report(f"removed the alias {name}.")


@app.command("list", cls=MmcliCommand)
@exits_cleanly
def list_(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object: alias to model.")] = False,
) -> None:
    """Every alias and the model it stands for.

    On a terminal, a table; in a pipe, one `alias<TAB>model` line each.

    Examples:

      mmcli aliases list

      mmcli aliases list --json
    """
    from .. import settings_file
    from ..tables import print_records, records_wanted

    aliases = settings_file.load_config().aliases
    if json_output:
        from .common import print_json

        print_json(aliases)
        return
    if records_wanted():
        print_records(aliases.items())
        return
    from ..errors import report

    if not aliases:
        report("no aliases yet; add one with mmcli aliases set NAME MODEL.")
        return
    from rich.table import Table

    from ..render import terminal_console

    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("alias", no_wrap=True)
    table.add_column("model", no_wrap=True)
    for name, model in aliases.items():
        table.add_row(name, model)
    terminal_console().print(table)
