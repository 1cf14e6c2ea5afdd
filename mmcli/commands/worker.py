"""`mmcli worker status|stop`: the warm worker that makes provider calls for mmcli commands."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..errors import exits_cleanly
from ..help_format import MmcliCommand, MmcliGroup

app = typer.Typer(
    name="worker",
    cls=MmcliGroup,
    help=(
        "The warm worker: a background process of yours that keeps the provider SDKs loaded, so a one-shot "
        "answer starts at the speed of the network. It starts on first need and exits after "
        "worker_idle_minutes (default 10) idle; MMCLI_NO_WORKER=1 or `worker = false` in config.toml turns it off.\n\n"
        "Examples:\n\n"
        "  mmcli worker status\n\n"
        "  mmcli worker stop"
    ),
    no_args_is_help=True,
)


def _describe(info: dict[str, Any] | None) -> dict[str, Any]:
    from .. import config as config_module
    from .. import worker
    from ..worker import paths
    from ..worker.fingerprint import fingerprint

    enabled = worker.enabled(config_module.load())
    if info is None:
        return {"running": False, "enabled": enabled, "pid": None, "uptime_s": None,
                "socket": str(paths.socket_path()), "current": None, "versions": None,
                "idle_minutes": None, "served": None, "active": None}
    return {
        "running": True,
        "enabled": enabled,
        "pid": info.get("pid"),
        "uptime_s": info.get("uptime_s"),
        "socket": info.get("socket"),
        # A worker of another mmcli or SDK version is replaced at the next call.
        "current": info.get("fingerprint") == fingerprint(),
        "versions": info.get("versions"),
        "idle_minutes": info.get("idle_minutes"),
        "served": info.get("served"),
        "active": info.get("active"),
    }


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@app.command("status", cls=MmcliCommand)
@exits_cleanly
def status(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Whether the worker is running: its pid, uptime, socket and the versions it runs. Exit 0 either way.

    Examples:

      mmcli worker status

      mmcli worker status --json
    """
    from ..worker import client
    from .common import print_json

    figures = _describe(client.status())
    if json_output:
        print_json(figures)
        return
    state = "no"
    if figures["running"]:
        state = "yes" if figures["current"] else "yes (another version's: replaced at the next call)"
    rows = [("running", state)]
    if figures["running"]:
        versions = figures["versions"] or {}
        rows += [
            ("pid", str(figures["pid"])),
            ("uptime", _duration(figures["uptime_s"] or 0)),
            ("idle exit", f"after {figures['idle_minutes']:g} min idle"),
            ("calls", f"{figures['served']} so far, {figures['active']} now"),
            ("versions", ", ".join(f"{name} {version}" for name, version in versions.items() if version)),
        ]
    rows += [
        ("socket", figures["socket"]),
        ("enabled", "yes" if figures["enabled"] else "no (MMCLI_NO_WORKER or worker = false)"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        typer.echo(f"{name.ljust(width)}  {value}")


@app.command("stop", cls=MmcliCommand)
@exits_cleanly
def stop() -> None:
    """Stop the worker now (calls in flight finish first); the next call starts a fresh one unless it is off.

    Examples:

      mmcli worker stop
    """
    from ..worker import client

    pid = client.stop()
    if pid is None:
        typer.echo("No mmcli worker is running.")
    else:
        typer.echo(f"Stopped the mmcli worker (pid {pid}).")
