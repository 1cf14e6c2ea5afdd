"""`mmcli cache stats|clear`: look at and empty the response cache."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import exits_cleanly
from ..help_format import MmcliCommand, MmcliGroup

app = typer.Typer(
    name="cache",
    cls=MmcliGroup,
    help=(
        "Inspect or empty the response cache (one-shot answers are reused for identical requests).\n\n"
        "Examples:\n\n"
        "  mmcli cache stats\n\n"
        "  mmcli cache clear --older-than 7d"
    ),
    no_args_is_help=True,
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """'7d', '12h', '30m', '90s', '2w' (or plain seconds) into seconds."""
    import math

    from ..errors import UsageError

    value, unit = text.strip().lower(), "s"
    if value and value[-1] in _UNITS:
        value, unit = value[:-1], value[-1]
    try:
        amount = float(value)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount * _UNITS[unit]):  # "nan", "inf" and "1e999" parse as floats but are no age
        raise UsageError(f"'{text}' is not an age; use a number with s, m, h, d or w, such as 7d.")
    if amount < 0:
        raise UsageError(f"'{text}' is negative; give an age such as 7d.")
    return amount * _UNITS[unit]


def _human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@app.command("stats", cls=MmcliCommand)
@exits_cleanly
def stats(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Entries, size, hits and misses so far, and the oldest entry.

    In a pipe, one figure per line: its name (as in --json), a tab, its value.

    Examples:

      mmcli cache stats

      mmcli cache stats | grep -w hits

      mmcli cache stats --json
    """
    import datetime

    from .. import config as config_module
    from ..engine import open_cache
    from .common import print_json

    config = config_module.load()
    with open_cache(config) as cache:
        figures = cache.stats()
    figures["ttl_days"] = config.cache_ttl_days
    oldest = figures["oldest_created_at"]
    # ISO 8601 with the UTC offset, as sessions write their times.
    figures["oldest_created_at"] = (
        datetime.datetime.fromtimestamp(oldest).astimezone().isoformat(timespec="seconds") if oldest else None
    )
    if json_output:
        print_json(figures)
        return
    from ..tables import print_records, records_wanted

    if records_wanted():
        # The JSON document's fields, one per line: `mmcli cache stats | awk -F'\t' '$1=="hits" {print $2}'`.
        print_records((name, "" if value is None else value) for name, value in figures.items())
        return
    oldest_text = (
        datetime.datetime.fromtimestamp(oldest).isoformat(sep=" ", timespec="seconds") if oldest else "-"
    )
    lookups = figures["hits"] + figures["misses"]
    rate = f" ({100 * figures['hits'] / lookups:.0f}% hits)" if lookups else ""
    rows = [
        ("entries", str(figures["entries"])),
        ("size", f"{_human_bytes(figures['size_bytes'])} of {_human_bytes(figures['max_bytes'])} allowed"),
        ("hits", f"{figures['hits']}{rate}"),
        ("misses", str(figures["misses"])),
        ("oldest entry", oldest_text),
        ("expiry", f"{config.cache_ttl_days:g} days"),
        ("file", figures["path"]),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        typer.echo(f"{name.ljust(width)}  {value}")


@app.command("clear", cls=MmcliCommand)
@exits_cleanly
def clear(
    older_than: Annotated[
        str | None, typer.Option("--older-than", metavar="AGE", help="Only entries older than this age: 7d, 12h, 30m.")
    ] = None,
) -> None:
    """Remove cached answers: all of them, or those older than --older-than.

    Examples:

      mmcli cache clear

      mmcli cache clear --older-than 7d
    """
    from .. import config as config_module
    from ..engine import open_cache

    age = parse_age(older_than) if older_than is not None else None
    config = config_module.load()
    with open_cache(config) as cache:
        removed = cache.clear(older_than_s=age)
    noun = "entry" if removed == 1 else "entries"
    typer.echo(f"Removed {removed} cached {noun}.")
