"""What mmcli keeps on disk: conversations (``sessions``) and answers (``cache``).

Both are SQLite files under the data dir, opened through ``db.connect`` so that
several mmcli processes can use them at once. Import the submodules directly
(``from mmcli.store.cache import ResponseCache``): the cache-hit path should
not pay for the sessions module unless it uses sessions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cache import ResponseCache, cache_key
    from .db import StoreError
    from .sessions import SessionInfo, SessionStore, StoredMessage

__all__ = ["ResponseCache", "SessionInfo", "SessionStore", "StoreError", "StoredMessage", "cache_key"]

_HOMES = {
    "ResponseCache": "cache",
    "cache_key": "cache",
    "StoreError": "db",
    "SessionInfo": "sessions",
    "SessionStore": "sessions",
    "StoredMessage": "sessions",
}


def __getattr__(name: str) -> Any:
    # Lazy re-exports (PEP 562): `from mmcli.store import ResponseCache` loads only cache.py.
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
