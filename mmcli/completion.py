"""Shell-completion candidates: model names, session names, export formats.

The shell runs `mmcli` on every Tab, so these read the data files directly
(models.json, config.toml's aliases, the sessions SQLite file read-only) and
import nothing heavy: no SDK, no Rich, not the session store. A broken config
or data dir gives no candidates rather than a traceback in the user's shell.
"""

from __future__ import annotations

EXPORT_FORMATS = ("md", "json")


def model_names() -> list[str]:
    """Every way to name a known model: provider:model, the bare name where it is unambiguous, aliases."""
    from .providers import registry

    names: list[str] = []
    for provider, entry in registry.catalogue().items():
        for name in entry["models"]:
            names.append(f"{provider}:{name}")
            if registry.bare_provider(name) == provider:
                names.append(name)
    return sorted(set(names)) + _aliases()


def _aliases() -> list[str]:
    from . import config

    try:
        return sorted(config.parse_config(config.config_dir() / "config.toml", warn=False).aliases)
    except Exception:  # noqa: BLE001 - completion must never fail in the shell
        return []


def session_names() -> list[str]:
    """Saved sessions, most recently used first, straight from the SQLite file."""
    import os
    import sqlite3
    from pathlib import Path

    from . import config

    try:
        path = Path(config.data_dir()) / "sessions.sqlite3"
        if not os.path.exists(path):
            return []
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0.5)
        try:
            rows = connection.execute("SELECT name FROM sessions ORDER BY updated_at DESC").fetchall()
        finally:
            connection.close()
    except Exception:  # noqa: BLE001 - an old, locked or foreign file: no candidates
        return []
    return [str(row[0]) for row in rows]


# Typer calls these with what the user has typed so far and keeps the candidates that start with it.


def complete_models(incomplete: str) -> list[str]:
    return [name for name in model_names() if name.startswith(incomplete)]


def complete_sessions(incomplete: str) -> list[str]:
    return [name for name in session_names() if name.startswith(incomplete)]


def complete_export_formats(incomplete: str) -> list[str]:
    return [name for name in EXPORT_FORMATS if name.startswith(incomplete)]
