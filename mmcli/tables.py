"""Tables in a pipe: one record per line, fields separated by tabs, nothing cut,
padded or coloured, no header (as `gh` prints them), so `cut -f`, `awk -F'\\t'`
and `grep` see whole values. On a terminal the commands print Rich tables instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import terminal


def records_wanted() -> bool:
    """True when stdout is not a terminal: print records, not a drawn table."""
    return not terminal.current().stdout_isatty


def _field(value: object) -> str:
    # A tab or newline inside a value would split the record; neither belongs in one.
    text = "" if value is None else str(value)
    return " ".join(text.replace("\t", " ").splitlines())


def print_records(rows: Iterable[Iterable[object]]) -> None:
    stdout = terminal.current().stdout
    stdout.write("".join("\t".join(_field(v) for v in row) + "\n" for row in rows))
    stdout.flush()
