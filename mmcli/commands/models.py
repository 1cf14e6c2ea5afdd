"""`mmcli models`: known models, what they take, and whether a key is set;
`mmcli models default [MODEL]`: the model used when -m is not given."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import exits_cleanly
from ..help_format import MmcliCommand, MmcliGroup

# A group whose callback is the listing: `mmcli models` and `mmcli models --json` list as they
# always did, and `mmcli models default` is a subcommand beside it.
app = typer.Typer(name="models", cls=MmcliGroup, invoke_without_command=True, no_args_is_help=False)


@app.callback()
@exits_cleanly
def models(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document: a list of models.")] = False,
) -> None:
    """List known models, their provider, what they accept, and whether a key is set.

    `mmcli models default [MODEL]` shows or sets the model used when -m is not given.

    On a terminal, a table; in a pipe, one model per line with tab-separated fields
    (model, accepts, context tokens, default, key) and no header.

    Examples:

      mmcli models

      mmcli models | grep gemini | cut -f1

      mmcli models --json | jq '.[] | select(.key_set) | .model'

      mmcli models default anthropic:claude-sonnet-4-5
    """
    if ctx.invoked_subcommand is not None:
        return
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


@app.command("default", cls=MmcliCommand)
@exits_cleanly
def default(
    model: Annotated[
        str | None, typer.Argument(metavar="MODEL", help="Set this model (provider:model or an alias) as the default.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON object: the model and where it comes from.")
    ] = False,
) -> None:
    """Print the model used when -m is not given and where that choice comes from; with MODEL, set it.

    Setting writes default_model to config.toml (as `mmcli config set default_model` does).
    Without a default_model, mmcli picks the first provider whose key is set.

    Examples:

      mmcli models default

      mmcli models default openai:gpt-4o-mini

      mmcli config unset default_model
    """
    from .. import config as config_module
    from ..providers import registry

    if model is not None:
        from .. import settings_file
        from ..errors import report

        settings_file.set_value("default_model", model)
    config = config_module.load()
    ref = registry.default_model(config)
    source = _default_source(ref, config)
    if json_output:
        from .common import print_json

        print_json({"model": str(ref), "source": source})
        return
    if model is not None:
        report(f"the default model is now {ref} (default_model in {config.path}).")
        return
    from ..tables import records_wanted

    typer.echo(str(ref) if records_wanted() else f"{ref}  ({source})")


def _default_source(ref: object, config: object) -> str:
    """Why ``ref`` is the default: config.toml's default_model, a provider's key, or a local Ollama."""
    import os

    from .. import stored_keys
    from ..providers import registry

    if config.default_model:  # type: ignore[attr-defined]
        return f"default_model in {config.path}"  # type: ignore[attr-defined]
    provider = ref.provider  # type: ignore[attr-defined]
    variable = next((v for v in registry.catalogue()[provider]["key_env"] if os.environ.get(v)), None)
    if variable is None:
        return registry.keyless_source(provider)
    from .. import config as config_module

    where = stored_keys.SOURCES.get(variable) or (".env" if variable in config_module.DOTENV_NAMES else "env")
    return f"the first provider with a key: {variable} from {where}"
