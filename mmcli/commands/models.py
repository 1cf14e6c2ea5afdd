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

    On a terminal, a table; in a pipe, one model per line with tab-separated fields
    (model, accepts, context tokens, default, key) and no header.

    Examples:

      mmcli models

      mmcli models | grep gemini | cut -f1

      mmcli models --json | jq '.[] | select(.key_set) | .model'
    """
    from .. import config as config_module
    from ..providers import registry
    from .common import print_json

    config = config_module.load()
    rows = []
    for provider, entry in registry.catalogue().items():
        key_needed = registry.needs_key(provider)
        key_set = key_needed and registry.has_credentials(provider, config)
        for name, spec in entry["models"].items():
            caps = registry.capabilities(registry.ModelRef(provider, name))
            transcription_only = bool(spec.get("transcribe"))  # speech-to-text models: `mmcli transcribe`
            rows.append(
                {
                    "model": f"{provider}:{name}",
                    "provider": provider,
                    "name": name,
                    "accepts": ["audio"] if transcription_only else caps.kinds(),
                    "transcription_only": transcription_only,
                    "live": bool(spec.get("live")),  # real-time voice models: `mmcli live`
                    "context_tokens": None if transcription_only else caps.context_tokens,
                    "default": name == entry["default"],
                    "key_set": key_set,
                    "key_needed": key_needed,
                }
            )
    if json_output:
        print_json(rows)
        return
    from ..tables import print_records, records_wanted

    if records_wanted():
        # model, accepts, context tokens, default, key: whole values, for grep, cut and awk.
        print_records(
            (r["model"], _accepts(r, ","), r["context_tokens"] or "-", "default" if r["default"] else "", _key(r))
            for r in rows
        )
    else:
        _print_table(rows)


def _accepts(row: dict, separator: str) -> str:
    if row["transcription_only"]:
        return "audio (transcribe)"
    return separator.join(row["accepts"] + (["live"] if row["live"] else []))  # live: `mmcli live` models


def _key(row: dict) -> str:
    return "not needed" if not row["key_needed"] else "set" if row["key_set"] else "-"


def _print_table(rows: list[dict]) -> None:
    from rich.table import Table

    from ..render import terminal_console

    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("model", no_wrap=True)  # names are copied into -m: never cut them
    for column in ("accepts", "context", "default", "key"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["model"],
            _accepts(row, ", "),
            f"{row['context_tokens']:,}" if row["context_tokens"] else "-",
            "default" if row["default"] else "",
            _key(row),
        )
    terminal_console().print(table)
