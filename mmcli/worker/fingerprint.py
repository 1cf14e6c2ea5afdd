"""What makes a worker the right one for this `mmcli`: the same Python, the
same mmcli code and the same SDKs. A worker whose fingerprint differs is told
to exit, so an upgrade (or an edit of a checkout) takes effect at the next call.

Computed from file metadata only (no SDK import, no package metadata scan).
A caller sends only its ``identity`` (which mmcli, which Python); the
worker's child stats the files while the caller stores its question.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

# The installed packages the worker runs on a caller's behalf.
SDK_MODULES = ("openai", "anthropic", "google.genai", "google.auth", "httpx", "httpx2", "PIL")
# Their distributions, for `mmcli worker status`.
SDK_DISTRIBUTIONS = ("openai", "anthropic", "google-genai", "google-auth", "httpx", "httpx2", "pillow")


def _package_dir() -> Path:
    return Path(__file__).resolve().parent.parent


def _stamp(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return f"{path}:missing"
    return f"{path}:{info.st_mtime_ns}:{info.st_size}"


def _sources(root: Path) -> list[str]:
    """Every module and data file of mmcli itself: editing a checkout restarts the worker too."""
    found = []
    pending = [str(root)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        pending.append(entry.path)
                elif entry.name.endswith((".py", ".json")):
                    found.append(entry.path)
    return sorted(found)


def identity() -> str:
    """Which mmcli on which Python: what a caller sends with every call, for the price of one
    realpath. The worker's child checks the rest (``current_fingerprint``) while the caller goes on."""
    from .. import __version__

    # The interpreter by its real path: the `mmcli` script runs `.venv/bin/python3`, `python -m mmcli`
    # often `.venv/bin/python`; the same interpreter must not make the other's worker look outdated.
    return "\n".join([__version__, os.path.realpath(sys.executable), sys.version, str(_package_dir())])


@cache
def fingerprint() -> str:
    """This process's fingerprint, as it was when first asked (a worker's, from its start)."""
    return current_fingerprint()


def current_fingerprint() -> str:
    """The fingerprint of what is installed now: ``identity`` and every source and SDK file's stamp."""
    import importlib.util

    from ..digest import sha256_hex

    parts = [identity(), *(_stamp(path) for path in _sources(_package_dir()))]
    for name in SDK_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        parts.append(_stamp(spec.origin) if spec is not None and spec.origin else f"{name}:absent")
    return sha256_hex("\n".join(parts).encode())[:20]


def versions() -> dict[str, str | None]:
    """mmcli's, Python's and the SDKs' versions (the worker reports them; slower than ``fingerprint``)."""
    from importlib import metadata

    from .. import __version__

    found: dict[str, str | None] = {"mmcli": __version__, "python": sys.version.split()[0]}
    for name in SDK_DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found
