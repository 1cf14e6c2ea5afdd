"""Where the worker's socket lives, and the checks that keep it private.

The socket sits in a directory only its user can enter (0700, owned by them),
and both ends check the other's uid on every connection, so neither another
user's process nor a socket planted by one is ever talked to.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
import sys
from pathlib import Path

SOCKET_NAME = "worker.sock"
LOCK_NAME = "worker.lock"  # held while a worker starts, so one start does not become several


def runtime_dir() -> Path:
    """MMCLI_RUNTIME_DIR, else the user's runtime dir, else a private dir under the temp dir."""
    override = os.environ.get("MMCLI_RUNTIME_DIR")
    if override:
        return Path(override).expanduser()
    if sys.platform.startswith("linux"):
        # What platformdirs answers on Linux, without its import on every call.
        xdg = os.environ.get("XDG_RUNTIME_DIR")
        if xdg and os.path.isdir(xdg):
            return Path(xdg) / "mmcli"
    elif sys.platform == "darwin":
        import platformdirs

        return Path(platformdirs.user_runtime_dir("mmcli", appauthor=False))
    return Path(os.environ.get("TMPDIR") or "/tmp") / f"mmcli-{os.getuid()}"


def socket_path() -> Path:
    return runtime_dir() / SOCKET_NAME


def private_dir(create: bool) -> Path | None:
    """The runtime dir when it is safe to use: ours, and closed to everyone else.

    ``create``: make it (0700) when it is missing. A directory someone else owns
    is never used; one of ours left open is closed (0700) before use.
    """
    path = runtime_dir()
    if create:
        from ..private_dirs import make_private_dirs

        try:
            make_private_dirs(path)  # and its missing parents, 0700 whatever the umask
        except OSError:
            return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return None
    if info.st_mode & 0o077:
        try:
            os.chmod(path, 0o700)
        except OSError:
            return None
    return path


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket; None when the OS cannot tell.

    SO_PEERCRED on Linux, getpeereid() on macOS and the BSDs.
    """
    if hasattr(socket, "SO_PEERCRED"):
        ucred = struct.Struct("iII")  # struct ucred: pid_t pid; uid_t uid; gid_t gid
        try:
            _pid, uid, _gid = ucred.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, ucred.size))
        except OSError:
            return None
        return uid
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        uid, gid = ctypes.c_uint32(), ctypes.c_uint32()
        if libc.getpeereid(sock.fileno(), ctypes.byref(uid), ctypes.byref(gid)) != 0:
            return None
        return uid.value
    except (OSError, AttributeError):
        return None


def same_user(sock: socket.socket) -> bool:
    """Whether the peer runs as this user: checked by both ends on every connection."""
    return peer_uid(sock) == os.getuid()
