"""The one progress bar mmcli shows on stderr (analyze-image, batch wait, transcribe):
a spinner, what is going on, the bar, done of total, and the time so far.

Rich is imported only when a bar is made, i.e. when stderr is a terminal.
"""

from __future__ import annotations

from typing import Any


def progress_bar(description: str, total: int | None, *, counted: bool = True) -> tuple[Any, Any]:
    """A started, transient Rich ``Progress`` on stderr and its one task.

    ``counted=False`` leaves out the bar and the done-of-total count (one piece of work).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .render import stderr_console

    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if counted:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    bar = Progress(
        *columns, console=stderr_console(), transient=True, redirect_stdout=False, redirect_stderr=False
    )
    task = bar.add_task(description, total=total)
    bar.start()
    return bar, task
