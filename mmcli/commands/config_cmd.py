"""`mmcli config get|set|unset|list`: config.toml from the command line, comments kept."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import exits_cleanly
from ..help_format import MmcliCommand, MmcliGroup

app = typer.Typer(
    name="config",
    cls=MmcliGroup,
    help=(
        "Read and change config.toml (in the config dir) without opening an editor: values are checked "
        "before they are written, and the file keeps its comments and layout.\n\n"
        "Settings: default_model, fallback (comma-separated models), timeout, retries, cache.ttl_days, "
        "cache.max_mb, worker, worker_idle_minutes, aliases.NAME, providers.NAME.OPTION.\n\n"
        "Examples:\n\n"
        "  mmcli config set timeout 120\n\n"
        "  mmcli config set fallback openai:gpt-4o-mini,anthropic:claude-haiku-4-5\n\n"
        "  mmcli config get timeout\n\n"
        "  mmcli config list"
    ),
    no_args_is_help=True,
)

KeyArgument = Annotated[str, typer.Argument(metavar="KEY", help="A setting, such as timeout or cache.ttl_days.")]


@app.command("get", cls=MmcliCommand)
@exits_cleanly
def get(key: KeyArgument) -> None:
    """Print one setting's value in effect: config.toml's, else the default.

    Lists print comma-separated; a setting with no value (default_model left to
    mmcli's choice) prints nothing, with a note on stderr.

    Examples:

      mmcli config get timeout

      mmcli config get cache.ttl_days
    """
    from .. import settings_file
    from ..errors import report

    settings_file.check_key(key)
    rows = {name: value for name, value, _ in settings_file.effective()}
    value = rows.get(key)
    if value is None:
        hint = " (see mmcli models default)" if key == "default_model" else ""
        report(f"{key} is not set{hint}.")
        return
    typer.echo(settings_file.show(value))


# ignore_unknown_options: `mmcli config set timeout -1` is a value to refuse with a reason, not an unknown option.
@app.command("set", cls=MmcliCommand, context_settings={"ignore_unknown_options": True})
@exits_cleanly
def set_(
    key: KeyArgument,
    value: Annotated[str, typer.Argument(metavar="VALUE", help="The value; lists are comma-separated.")],
) -> None:
    """Check a value and write it to config.toml, keeping the file's comments and layout.

    A value of the wrong kind or out of range is refused (exit 2) and nothing is written.

    Examples:

      mmcli config set timeout 120

      mmcli config set worker false

      mmcli config set providers.openai.base_url http://localhost:8080/v1
    """
    from .. import settings_file
    from ..errors import report

    written = settings_file.set_value(key, value)
    report(f"{key} = {settings_file.show(written)} (in {settings_file.config_path()}).")


@app.command("unset", cls=MmcliCommand)
@exits_cleanly
def unset(key: KeyArgument) -> None:
    """Remove a setting from config.toml, so its default applies again.

    Examples:

      mmcli config unset timeout
    """
    from .. import settings_file
    from ..errors import report

    if settings_file.unset(key):
        report(f"removed {key} from {settings_file.config_path()}.")
    else:
        report(f"{key} was not set in {settings_file.config_path()}; nothing to remove.")


@app.command("list", cls=MmcliCommand)
@exits_cleanly
def list_(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object: setting to value.")] = False,
) -> None:
    """Every setting with the value in effect and where it comes from (config.toml or default).

    On a terminal, a table; in a pipe, one `key<TAB>value` line per setting.

    Examples:

      mmcli config list

      mmcli config list | grep cache

      mmcli config list --json | jq .timeout
    """
    from .. import settings_file
    from ..tables import print_records, records_wanted

    rows = settings_file.effective()
    if json_output:
        from .common import print_json

        print_json({key: value for key, value, _ in rows})
        return
    if records_wanted():
        print_records((key, settings_file.show(value)) for key, value, _ in rows)
        return
    from rich.table import Table

    from ..render import terminal_console

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("setting", "value", "from"):
        table.add_column(column)
    for key, value, source in rows:
        table.add_row(key, settings_file.show(value) or "-", source)
    table.caption = str(settings_file.config_path())
    terminal_console().print(table)
