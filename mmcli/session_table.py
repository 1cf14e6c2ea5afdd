"""The table of saved sessions, shared by `mmcli sessions list` and the REPL's /sessions
(so neither imports the other), and how long ago a time was."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store.sessions import SessionInfo


def ago(timestamp: float) -> str:
    import time

    seconds = max(0.0, time.time() - timestamp)
    for size, unit in ((86400 * 7, "w"), (86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def sessions_table(infos: list[SessionInfo], current: str | None = None) -> Any:
    """The Rich table of `sessions list` (and the REPL's /sessions)."""
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("name", "model", "turns", "last used"):
        table.add_column(column, justify="right" if column == "turns" else "left")
    for info in infos:
        name = f"{info.name} *" if info.name == current else info.name
        table.add_row(name, info.model, str(info.turns), ago(info.updated_at))
    return table
