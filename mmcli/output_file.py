"""Files mmcli writes because the user asked (`-o FILE`, `--audio-out`, exports).

One rule for all of them, the one a shell's `>` follows where it matters and
safer where it can be:

- a new file is created 0600, whatever the umask, and appears whole or not at
  all (written to a temporary file in the same folder, then renamed);
- an existing regular file is replaced the same way, keeping its mode (and,
  when allowed, its owner); one with several hard links, or in a folder mmcli
  cannot write, is rewritten in place instead, so the links and the file stay;
- a symlink is followed: the file it points to is written, the link stays;
- anything else (a FIFO, a terminal, /dev/null, a device) is opened and written,
  never replaced; /dev/stdout, /dev/stderr and /dev/fd/N write to mmcli's own
  descriptor, so `-o /dev/stdout >> log` appends as the shell set it up.

Use ``write_output(path, data)`` for data in memory, or ``open_output(path)``
to write as it comes; either way a failure leaves the old file as it was.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from .errors import MmcliError, UsageError

NEW_FILE_MODE = 0o600
_OWN_DESCRIPTOR = re.compile(r"/dev/(?:stdout|stderr|fd/(\d+))|/proc/self/fd/(\d+)")
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def write_output(path: str, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to the file the user named, by the rule above."""
    with open_output(path, binary=isinstance(data, bytes)) as stream:
        stream.write(data)


@contextmanager
def open_output(path: str, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A stream to write the file the user named; committed when the block ends without an exception.

    Raises ``UsageError`` (exit 2) for a path that cannot be written (a folder,
    a missing folder, no permission) and ``MmcliError`` (exit 1) for a write
    that fails on the way (a full disk).
    """
    if not path.strip():
        raise UsageError("The output file name is empty; give one, such as -o out.txt.")
    target = os.path.expanduser(path)
    try:
        with _open(target, path, binary) as stream:
            yield stream
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise  # a reader that went away (`-o /dev/stdout | head`) ends mmcli quietly, as elsewhere
        raise _error(path, exc) from None


@contextmanager
def _open(target: str, shown: str, binary: bool) -> Iterator[IO[Any]]:
    descriptor = _own_descriptor(target)
    if descriptor is not None:
        yield from _write_descriptor(descriptor, binary)
        return
    try:
        info = os.stat(target)  # follows symlinks: a link's target is what gets written
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{shown} is a folder; give a file name.")
    if info is not None and not stat.S_ISREG(info.st_mode):
        # A FIFO blocks here until something reads it, as with the shell's `>`.
        yield from _write_in_place(target, binary, truncate=False)
        return
    real = os.path.realpath(target)  # a dangling symlink: create the file it points to
    if info is not None and info.st_nlink > 1:
        yield from _write_in_place(real, binary, truncate=True)
        return
    try:
        yield from _write_replacing(real, binary, info)
    except _FolderNotWritable:
        if info is None:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES)) from None
        yield from _write_in_place(real, binary, truncate=True)


class _FolderNotWritable(Exception):
    """No temporary file can be made beside the target; an existing file is rewritten in place."""


def _own_descriptor(target: str) -> int | None:
    match = _OWN_DESCRIPTOR.fullmatch(target)
    if match is None:
        return None
    number = match.group(1) or match.group(2)
    if number is not None:
        return int(number)
    return 1 if target.endswith("stdout") else 2


def _write_descriptor(descriptor: int, binary: bool) -> Iterator[IO[Any]]:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()  # what mmcli printed before comes first
    duplicate = os.dup(descriptor)
    with _wrap(duplicate, binary) as stream:
        yield stream


def _write_in_place(path: str, binary: bool, *, truncate: bool) -> Iterator[IO[Any]]:
    flags = os.O_WRONLY | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0) | (os.O_TRUNC if truncate else 0)
    with _wrap(os.open(path, flags), binary) as stream:
        yield stream


def _write_replacing(real: str, binary: bool, existing: os.stat_result | None) -> Iterator[IO[Any]]:
    import tempfile

    folder = os.path.dirname(real)
    try:
        handle, temporary = tempfile.mkstemp(prefix=".mmcli-", suffix=".tmp", dir=folder)  # 0600, umask or not
    except (PermissionError, OSError) as exc:
        if isinstance(exc, PermissionError) or exc.errno == errno.EROFS and existing is not None:
            raise _FolderNotWritable from exc
        raise
    try:
        with _wrap(handle, binary) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
            if existing is not None:
                _keep_owner_and_mode(stream.fileno(), existing)
        os.replace(temporary, real)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _keep_owner_and_mode(fd: int, existing: os.stat_result) -> None:
    try:
        os.fchown(fd, existing.st_uid, existing.st_gid)
    except OSError:
        pass  # only root may give a file away; the replacement is then the user's own
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))


def _wrap(fd: int, binary: bool) -> IO[Any]:
    if binary:
        return open(fd, "wb", closefd=True)
    return open(fd, "w", encoding="utf-8", newline="", closefd=True)


def _error(shown: str, exc: OSError) -> MmcliError:
    if exc.errno in _DISK_FULL:
        return MmcliError(f"Cannot write {shown}: the disk is full; free some space and try again.")
    if isinstance(exc, FileNotFoundError):
        folder = os.path.dirname(os.path.abspath(os.path.expanduser(shown)))
        return UsageError(f"Cannot write {shown}: the folder {folder} does not exist.")
    if isinstance(exc, PermissionError):
        return UsageError(f"Cannot write {shown}: permission denied.")
    if exc.errno == errno.EROFS:
        return UsageError(f"Cannot write {shown}: the file system is read-only.")
    if exc.errno == errno.EBADF:
        return UsageError(f"Cannot write {shown}: that descriptor is not open.")
    reason = (exc.strerror or exc.__class__.__name__).lower()
    return MmcliError(f"Cannot write {shown}: {reason}.")
