"""The warm worker: a per-user process that keeps the provider SDKs imported
and makes provider calls for `mmcli` commands, so a one-shot no longer pays
seconds of SDK imports (DESIGN.md: `worker = true|false`, `MMCLI_NO_WORKER=1`,
`MMCLI_RUNTIME_DIR`, `mmcli worker status|stop`).

- ``paths``: where its socket lives and who may talk to it;
- ``protocol``: the framing and the neutral objects on the wire;
- ``client``: the `mmcli` side (imports no SDK: that is the point);
- ``server``: the worker process itself (`python -m mmcli.worker`).
"""

from __future__ import annotations

import os
from typing import Any


def enabled(config: Any) -> bool:
    """On unless MMCLI_NO_WORKER is set (to anything but 0) or config.toml says `worker = false`.

    Off where the OS has no fork() (Windows): the worker forks a child per call.
    """
    if os.environ.get("MMCLI_NO_WORKER", "") not in ("", "0") or not hasattr(os, "fork"):
        return False
    return bool(getattr(config, "worker", True))
