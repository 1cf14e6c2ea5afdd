"""`mmcli keys set|list|remove PROVIDER`: API keys kept in the OS keyring (else a 0600 file)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import exits_cleanly
from ..help_format import MmcliCommand, MmcliGroup

app = typer.Typer(
    name="keys",
    cls=MmcliGroup,
    help=(
        "API keys stored for you: in the OS keyring when one works, else in keys.json (mode 0600) in the "
        "config dir. A stored key is used when neither the environment nor a .env file sets that "
        "provider's variable. Keys are never printed.\n\n"
        "Examples:\n\n"
        "  mmcli keys set openai\n\n"
        "  cat ~/.openai-key | mmcli keys set openai\n\n"
        "  mmcli keys list\n\n"
        "  mmcli keys remove openai"
    ),
    no_args_is_help=True,
)

ProviderArgument = Annotated[
    str, typer.Argument(metavar="PROVIDER", help="openai, anthropic, gemini, vertex, perplexity or compat.")
]


def _keyed_provider(provider: str) -> str:
    """``provider`` when it takes a key; exit 2 naming the ones that do otherwise."""
    from ..errors import UsageError
    from ..providers import registry

    keyed = [p for p, entry in registry.catalogue().items() if entry["key_env"]]
    name = provider.strip().lower()
    if name in keyed:
        return name
    if name in registry.catalogue():
        raise UsageError(f"{name} needs no API key; providers with keys: {', '.join(keyed)}.")
    import difflib

    matches = difflib.get_close_matches(name, keyed, n=1)
    hint = f" (did you mean {matches[0]}?)" if matches else ""
    raise UsageError(f"Unknown provider '{provider}'{hint}; providers with keys: {', '.join(keyed)}.")


def _read_key(provider: str) -> str:
    """The key from a hidden prompt on a terminal, or from stdin in a pipe: never from argv (shell history, ps)."""
    import sys

    from .. import terminal
    from ..errors import UsageError

    if terminal.current().stdin_isatty:
        import getpass

        try:
            key = getpass.getpass(f"{provider} API key (input hidden): ")
        except EOFError:
            key = ""
    else:
        key = sys.stdin.read() if sys.stdin is not None else ""
    key = key.strip()
    if not key:
        raise UsageError(f"No key given; paste it at the prompt or pipe it in: cat key.txt | mmcli keys set "
                         f"{provider}.")
    if any(ch.isspace() for ch in key) or not key.isprintable():
        raise UsageError("That key has spaces or control characters inside it; give the key alone, on one line.")
    return key


@app.command("set", cls=MmcliCommand)
@exits_cleanly
def set_(provider: ProviderArgument) -> None:
    """Store PROVIDER's API key, read from a hidden prompt (or stdin in a pipe), never from the command line.

    It goes to the OS keyring when one works, else to keys.json (0600) in the config dir,
    replacing a key stored before. The environment and .env files still come first.

    Examples:

      mmcli keys set anthropic

      cat ~/.openai-key | mmcli keys set openai
    """
    from .. import stored_keys
    from ..errors import report

    name = _keyed_provider(provider)
    key = _read_key(name)
    where, why = stored_keys.store(name, key)
    if where == stored_keys.KEYRING:
        report(f"stored the {name} key in the OS keyring.")
    else:
        report(f"stored the {name} key in {stored_keys.keys_path()} (mode 0600): no OS keyring ({why}).")
    import os

    variables = stored_keys.key_variables(name)
    shadowing = [v for v in variables if os.environ.get(v)]
    if shadowing:
        report(f"{shadowing[0]} is set in the environment, and it wins over the stored key.")


def _rows() -> list[dict]:
    import os

    from .. import config as config_module
    from .. import stored_keys
    from ..providers import registry

    config_module.load()  # .env and stored keys into the environment, recording where each came from
    index = stored_keys.read_index()
    rows = []
    for provider, entry in registry.catalogue().items():
        variables = entry["key_env"]
        if not variables:
            continue
        variable = next((v for v in variables if os.environ.get(v)), None)
        if variable is None:
            source = None
        elif variable in stored_keys.SOURCES:
            source = stored_keys.SOURCES[variable]
        elif variable in config_module.DOTENV_NAMES:
            source = ".env"
        else:
            source = "env"
        stored = index.get(provider, {}).get("in")
        rows.append({"provider": provider, "variable": variable or variables[0], "set": variable is not None,
                     "source": source, "stored": stored})
    return rows


@app.command("list", cls=MmcliCommand)
@exits_cleanly
def list_(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document: a list of providers.")] = False,
) -> None:
    """Which providers have a key and where it comes from (env, .env, keyring, file), never the key.

    On a terminal, a table; in a pipe, one `provider<TAB>variable<TAB>source` line each
    (source `-` when no key is set).

    Examples:

      mmcli keys list

      mmcli keys list --json | jq '.[] | select(.set) | .provider'
    """
    rows = _rows()
    if json_output:
        from .common import print_json

        print_json(rows)
        return
    from ..tables import print_records, records_wanted

    if records_wanted():
        print_records((r["provider"], r["variable"], r["source"] or "-") for r in rows)
        return
    from rich.table import Table

    from ..render import terminal_console

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("provider", "variable", "key from", "stored"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["provider"], r["variable"], r["source"] or "-", r["stored"] or "-")
    terminal_console().print(table)


@app.command("remove", cls=MmcliCommand)
@exits_cleanly
def remove(provider: ProviderArgument) -> None:
    """Forget the key `mmcli keys set` stored for PROVIDER (keyring or file).

    Keys in the environment or a .env file are yours to remove there.

    Examples:

      mmcli keys remove openai
    """
    from .. import stored_keys
    from ..errors import UsageError, report

    name = _keyed_provider(provider)
    where = stored_keys.remove(name)
    if where is None:
        raise UsageError(f"No {name} key is stored (mmcli keys list shows where keys come from).")
    report(f"removed the {name} key from the {'OS keyring' if where == stored_keys.KEYRING else 'keys file'}.")
