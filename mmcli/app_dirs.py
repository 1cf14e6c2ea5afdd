"""Where mmcli keeps its files: the config dir (config.toml, .env, keys.json, roles)
and the data dir (sessions, cache, batches).

A module of its own, below ``config`` and ``stored_keys``: both need the config
dir, and ``config`` reads the stored keys, so neither may import the other for it.
platformdirs is imported only when the directory is not overridden (this is on
the cache-hit path).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "mmcli"


def data_dir() -> Path:
    override = os.environ.get("MMCLI_DATA_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    override = os.environ.get("MMCLI_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
