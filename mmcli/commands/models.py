"""`mmcli models`: known models, what they take, and whether a key is set."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import exits_cleanly


@exits_cleanly
def models(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document: a list of models.")] = False,
) -> None:
    """List known models, their provider, what they accept, and whether a key is set.

    Examples:

      mmcli models

      mmcli models --json | jq '.[] | select(.key_set) | .model'
    """
    from .. import config as config_module
    from ..providers import registry
    from .common import print_json

    config = config_module.load()
    rows = []
    for provider, entry in registry.catalogue().items():
        key_set = registry.has_credentials(provider, config)
        for name in entry["models"]:
            caps = registry.capabilities(registry.ModelRef(provider, name))
            rows.append(
                {
                    "model": f"{provider}:{name}",
                    "provider": provider,
                    "name": name,
                    "accepts": caps.kinds(),
                    "context_tokens": caps.context_tokens,
                    "default": name == entry["default"],
                    "key_set": key_set,
                }
            )
    if json_output:
        print_json(rows)
        return
    _print_table(rows)


def _print_table(rows: list[dict]) -> None:
    from rich.table import Table

    from ..render import terminal_console

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("model", "accepts", "context", "default", "key"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["model"],
            ", ".join(row["accepts"]),
            f"{row['context_tokens']:,}" if row["context_tokens"] else "-",
            "default" if row["default"] else "",
            "set" if row["key_set"] else "-",
        )
    terminal_console().print(table)
