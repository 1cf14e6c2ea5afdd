"""The `mmcli` side of the warm worker: hand one provider call to it and
yield the neutral events it streams back.

Imports no SDK (that is the whole point: `python -X importtime -m mmcli chat ...`
shows none with a warm worker). The rule for failures:

- anything that goes wrong before the worker is told `go` (no worker, a stale
  socket, another version, a refusal) returns None: the caller makes the call
  in-process, as without a worker, and a worker is started in the background
  for the next call;
- once `go` is sent the provider is being called: a worker that breaks then is
  an interrupted answer (StreamInterrupted), never a second request.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import paths, protocol
from .fingerprint import identity

CONNECT_TIMEOUT_S = 1.0
ACCEPT_TIMEOUT_S = 10.0  # a forked child parses and says "accepted" in milliseconds; this is for a swamped machine

# Variables never handed to the long-lived worker process at its start (each call brings
# its own environment, keys included, to the short-lived child that makes it).
_SECRET_NAME = re.compile(r"(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.IGNORECASE)
_started_here = False  # one start per mmcli process (compare's columns all miss the worker at once)


def debug(note: str) -> None:
    """A note under MMCLI_DEBUG=1 only: falling back to the in-process call is otherwise silent."""
    if os.environ.get("MMCLI_DEBUG") == "1":
        from ..errors import report

        report(f"worker: {note}")


def connect(idle_minutes: float | None = None) -> socket.socket | None:
    """A connection to this user's worker (which forks the call's process on it), or None.

    None when there is no worker (one is started for the next call), or the
    runtime dir or the socket's owner is not this user.
    """
    directory = paths.private_dir(create=False)
    if directory is None:
        debug("no runtime dir yet; answering in-process and starting a worker")
        start(idle_minutes)
        return None
    return _connect(directory / paths.SOCKET_NAME, idle_minutes)


def offer(
    sock: socket.socket, request: Any, settings: Any, idle_minutes: float | None = None, **call: Any
) -> Offer | None:
    """Send ``request`` to the worker without letting it call the provider yet, or None (answer in-process).

    The worker's child reads it and readies the call while this process goes on
    (storing the question, looking in the cache); ``Offer.go`` then lets it
    call, ``Offer.withdraw`` lets it go unused. ``call``: how to make the call
    (a transcription's ``stream_text``).
    """
    try:
        wire, blobs = protocol.request_to_wire(request)
        message = {
            "t": "request",
            "protocol": protocol.PROTOCOL,
            "identity": identity(),
            "env": dict(os.environ),
            "cwd": os.getcwd(),
            "settings": protocol.settings_to_wire(settings),
            "request": wire,
            **call,
        }
        protocol.send(sock, message, blobs, fds=_stderr_fd())
    except (OSError, ValueError, TypeError) as exc:  # ValueError/TypeError: options that are not JSON
        debug(f"not using the worker ({exc.__class__.__name__}: {exc}); answering in-process")
        sock.close()
        return None
    return Offer(sock, request, idle_minutes)


class Offer:
    """A request the worker holds, ready, until it is told to go (or the socket closes)."""

    def __init__(self, sock: socket.socket, request: Any, idle_minutes: float | None):
        self.sock = sock
        self.request = request
        self.idle_minutes = idle_minutes
        self.settled = False
        self.source: Any = None  # the request as its caller holds it (before media preparation)

    def go(self) -> Iterator[Any] | None:
        """The call's events, or None when the worker turned it down (nothing reached the provider)."""
        self.settled = True
        sock = self.sock
        try:
            sock.settimeout(ACCEPT_TIMEOUT_S)
            reader = protocol.Reader(sock)
            reply, _ = reader.read()
            if reply.get("t") == "mismatch":
                # The worker is another version's: it is exiting now; the next one starts with ours.
                debug("the running worker is another version's; answering in-process and starting a new one")
                sock.close()
                start(self.idle_minutes)
                return None
            if reply.get("t") != "accepted":
                raise protocol.Closed(f"unexpected reply {reply.get('t')!r}")
            protocol.send(sock, {"t": "go"})
        except (OSError, ValueError) as exc:
            debug(f"not using the worker ({exc.__class__.__name__}: {exc}); answering in-process")
            sock.close()
            return None
        sock.settimeout(None)
        return _events(sock, reader)

    def withdraw(self) -> None:
        """Let the offer go unused (a cache hit, an error before the call): the worker's child exits."""
        if not self.settled:
            self.settled = True
            self.sock.close()


def _events(sock: socket.socket, reader: protocol.Reader) -> Iterator[Any]:
    """Closing this generator (Ctrl-C, SIGTERM, an error in the caller) closes the socket: the worker stops the call."""
    try:
        while True:
            try:
                message, _ = reader.read()
            except OSError as exc:
                from ..errors import StreamInterrupted

                debug(f"the worker broke mid-call ({exc.__class__.__name__}: {exc})")
                raise StreamInterrupted("The mmcli worker stopped mid-answer; run the command again.") from None
            kind = message.get("t")
            if kind == "event":
                yield protocol.event_from_wire(message)
            elif kind == protocol.UPLOADING:
                yield protocol.UPLOADING
            elif kind == "transcription":
                yield protocol.transcription_from_wire(message)
            elif kind == "error":
                raise protocol.error_from_wire(message)
            elif kind == "end":
                return
    finally:
        sock.close()


def _stderr_fd() -> list[int]:
    try:
        return [sys.stderr.fileno()]
    except (AttributeError, OSError, ValueError):
        return []


def _connect(path: Path, idle_minutes: float | None) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT_S)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        sock.close()
        if isinstance(exc, ConnectionRefusedError):
            _remove_stale(path)
        debug("no worker is running; answering in-process and starting one")
        start(idle_minutes)
        return None
    except OSError as exc:
        sock.close()
        debug(f"cannot reach the worker ({exc.__class__.__name__}: {exc}); answering in-process")
        return None
    if not paths.same_user(sock):
        sock.close()  # a socket another user planted: never send it a key
        debug(f"{path} is served by another user's process; answering in-process")
        return None
    return sock


def _remove_stale(path: Path) -> None:
    """A socket file nobody listens on: a worker that died without tidying up."""
    try:
        path.unlink()
    except OSError:
        pass


def _wait_gone(path: Path, timeout: float = 2.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def start(idle_minutes: float | None = None) -> None:
    """Start a worker in the background, detached, unless one is starting; never waits for it."""
    global _started_here
    if _started_here:
        return
    _started_here = True
    directory = paths.private_dir(create=True)
    if directory is None or _starting(directory):
        return
    import subprocess

    package_root = str(Path(__file__).resolve().parent.parent.parent)
    env = {name: value for name, value in os.environ.items() if not _secret(name)}
    # The worker runs this very mmcli, wherever it was imported from.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "mmcli.worker"]
    if idle_minutes is not None:
        command += ["--idle-minutes", repr(float(idle_minutes))]
    try:
        subprocess.Popen(
            command,
            env=env,
            cwd=str(directory),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # no terminal, no signals from the caller's Ctrl-C
            close_fds=True,
        )
    except OSError as exc:
        debug(f"cannot start a worker ({exc})")


def _secret(name: str) -> bool:
    from ..errors import SECRET_ENV_VARS

    return name in SECRET_ENV_VARS or bool(_SECRET_NAME.search(name))


def _starting(directory: Path) -> bool:
    """Whether a worker holds the start lock now (it is importing the SDKs)."""
    import fcntl

    try:
        fd = os.open(directory / paths.LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases the lock when we took it
    return False


# --- status and stop --------------------------------------------------------------------------------


def _ask(path: Path, message: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
        if not paths.same_user(sock):
            return None
        protocol.send(sock, message)
        reply, _ = protocol.Reader(sock).read()
        return reply
    except OSError:
        return None
    finally:
        sock.close()


def status(path: Path | None = None, timeout: float = 5.0) -> dict[str, Any] | None:
    """The running worker's own account of itself, or None when none answers."""
    path = path or paths.socket_path()
    reply = _ask(path, {"t": "status"}, timeout)
    return reply if reply and reply.get("t") == "status" else None


def stop(path: Path | None = None, timeout: float = 5.0) -> int | None:
    """Tell the worker to exit; its pid, or None when none was running. Waits until its socket is gone."""
    path = path or paths.socket_path()
    reply = _ask(path, {"t": "stop"}, timeout)
    if not reply or reply.get("t") != "stopping":
        return None
    pid = int(reply["pid"])
    _wait_gone(path, timeout)
    if path.exists():
        # It asked itself to stop and has not (seen on a loaded machine): stop it from here.
        import os
        import signal

        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
        _wait_gone(path, timeout)
        if path.exists() and not _process_alive(pid):
            path.unlink(missing_ok=True)  # it died without tidying up
    return pid


def _process_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
