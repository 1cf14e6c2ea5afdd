"""`mmcli roles`: list, show, edit and save the roles `-r/--role NAME` uses."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import exits_cleanly
from ..help_format import MmcliCommand, MmcliGroup
from .common import JsonOption, ModelOption, SchemaOption, SystemOption, TemperatureOption

app = typer.Typer(
    cls=MmcliGroup,
    no_args_is_help=True,
    help="""Saved roles for -r/--role: a system prompt, model, temperature, schema and a template with $input.

Roles are TOML files in the config dir's roles/ (a file named like a built-in overrides it).

Examples:

  mmcli roles list

  mmcli roles show shell

  mmcli roles save pirate -s "Answer as a pirate would" -t 1.2

  mmcli roles save receipt --schema 'merchant, date, total float' -m openai:gpt-4o-mini

  mmcli roles save explain --template 'Explain this to a beginner: $input'

  mmcli roles edit pirate

  mmcli chat -r shell "find files over 1 GB"
""",
)

NameArgument = Annotated[str, typer.Argument(help="The role's name.", metavar="NAME", show_default=False)]


@app.command("list", cls=MmcliCommand)
@exits_cleanly
def list_roles(json_output: JsonOption = False) -> None:
    """Every role, built-in or saved, and where it comes from.

    Examples:

      mmcli roles list

      mmcli roles list --json
    """
    import sys

    from .. import roles

    found = roles.names()
    if json_output:
        from .common import print_json

        print_json([{"name": name, "source": source, "path": str(roles.path_of(name)) if source == "file" else None}
                    for name, source in found.items()])
        return
    width = max(len(name) for name in found)
    for name, source in found.items():
        sys.stdout.write(f"{name.ljust(width)}  {source}\n")


@app.command("show", cls=MmcliCommand)
@exits_cleanly
def show(name: NameArgument) -> None:
    """Print a role as TOML.

    Examples:

      mmcli roles show commit
    """
    import sys

    from .. import roles

    sys.stdout.write(roles.load(name).to_toml())


@app.command("save", cls=MmcliCommand)
@exits_cleanly
def save(
    name: NameArgument,
    system: SystemOption = None,
    model: ModelOption = None,
    temperature: TemperatureOption = None,
    schema: SchemaOption = None,
    template: Annotated[
        str | None, typer.Option("--template", metavar="TEXT", help="The prompt, with $input where yours goes.")
    ] = None,
) -> None:
    """Save a role (replacing one of that name) from the options given.

    Examples:

      mmcli roles save pirate -s "Answer as a pirate would" -t 1.2

      mmcli roles save receipt --schema 'merchant, date, total float'
    """
    import sys

    from .. import roles
    from ..errors import UsageError
    from .common import check_temperature, parse_schema

    if all(value is None for value in (system, model, temperature, schema, template)):
        raise UsageError("Give the role something to hold: -s, -m, -t, --schema or --template.")
    check_temperature(temperature)
    parse_schema(schema)  # refused now rather than at its first use
    path = roles.save(roles.Role(name=name, system=system, model=model, temperature=temperature, schema=schema,
                                 template=template))
    sys.stderr.write(f"mmcli: Saved role {name} in {path}.\n")


@app.command("edit", cls=MmcliCommand)
@exits_cleanly
def edit(name: NameArgument) -> None:
    """Open a role's file in $VISUAL or $EDITOR (a built-in is copied there first).

    Examples:

      EDITOR=nano mmcli roles edit shell
    """
    import os
    import shlex
    import subprocess

    from .. import roles
    from ..errors import UsageError

    path = roles.path_of(name)
    if not path.is_file():
        role = roles.BUILTIN.get(name)
        roles.save(roles.Role(name=name, **role) if role else roles.Role(name=name, system=""))
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        subprocess.run([*shlex.split(editor), str(path)], check=False)
    except OSError as exc:
        raise UsageError(f"Cannot start the editor {editor!r}: {exc.strerror or exc}; set EDITOR.") from None
    roles.load(name)  # a file left malformed is told now
