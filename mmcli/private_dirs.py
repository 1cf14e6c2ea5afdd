"""Directories mmcli creates are private (0700), whatever the umask.

``os.makedirs(mode=0o700)`` is not enough: the umask filters the mode (0700
under umask 077 but 0500 under 277), and the parents it makes for
``MMCLI_DATA_DIR=new/parents/of/data`` get the default 0777 & ~umask, which is
world-readable under the usual 022 and world-writable under 000.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700


def make_private_dirs(path: str | os.PathLike[str]) -> None:
    """Create ``path`` and every missing parent as 0700. Existing directories keep their mode.

    Each new directory is created 0700 before the umask (so it is never more
    open than that, not even for a moment) and then set to exactly 0700, so a
    restrictive umask cannot leave it unusable either.
    """
    missing: list[Path] = []
    folder = Path(os.path.abspath(path))
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # another process made it a moment ago, and set its mode itself
        os.chmod(folder, PRIVATE_DIR_MODE)
