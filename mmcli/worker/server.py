"""The worker process: `python -m mmcli.worker [--idle-minutes N]`.

It imports the provider SDKs once, then serves a Unix socket in the user's
private runtime dir. Each connection is checked (the peer must be this user)
and handed to a child forked from the warm process, which answers it and exits:

- the SDKs are already imported in the child, so the call starts at once;
- the child takes the caller's environment and working directory for the
  call (keys, base URLs, proxies and certificates exactly as the caller has
  them, .env included), and they die with it: nothing is kept beyond the call;
- when the caller goes away (Ctrl-C, SIGTERM), the child exits at once, and
  the kernel closes its provider connection mid-read: the provider stops;
- concurrent calls (compare, analyze-image) are separate children.

The worker writes nothing but its socket and an empty lock file, and exits
after an idle time, when its socket is removed, or when a caller with another
fingerprint (an upgrade) tells it to.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import paths, protocol
from .fingerprint import current_fingerprint, fingerprint, identity, versions

DEFAULT_IDLE_MINUTES = 10.0
SPARE_AFTER_CALL_S = 0.03  # about what a caller takes to store the answer and exit; the next one starts later
TICK_S = 1.0  # how often the idle time, the socket file and finished children are looked at
REQUEST_READ_TIMEOUT_S = 30.0
Send = Callable[[dict[str, Any]], None]  # sends one message to the caller


class Stop(Exception):
    """SIGTERM (`mmcli worker stop`, a version change): close the socket and exit."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mmcli.worker", description="The mmcli warm worker.")
    parser.add_argument("--idle-minutes", type=float, default=DEFAULT_IDLE_MINUTES)
    args = parser.parse_args(argv)
    callers_umask = os.umask(0o077)  # the directory, lock and socket are born private
    directory = paths.private_dir(create=True)
    if directory is None:
        sys.exit(1)  # not a directory only we can enter: never serve from it
    lock = _take_start_lock(directory)
    if lock is None:
        sys.exit(0)  # another worker is starting
    try:
        path = directory / paths.SOCKET_NAME
        if _answers(path):
            sys.exit(0)  # a worker for this very mmcli already serves
        warm_up()
        listener = _bind(path)
    finally:
        os.close(lock)
        os.umask(callers_umask)  # calls run with the user's own, as in-process
    if listener is None:
        sys.exit(0)
    Worker(listener, path, idle_s=max(args.idle_minutes, 0.0) * 60).serve()


def _take_start_lock(directory: Path) -> int | None:
    fd = os.open(directory / paths.LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _answers(path: Path) -> bool:
    """Whether a worker with our fingerprint serves ``path``; one with another is told to go."""
    from . import client

    info = client.status(path, timeout=2.0)
    if info is None:
        return False
    if info.get("fingerprint") == fingerprint():
        return True
    client.stop(path, timeout=2.0)
    return False


def warm_up() -> None:
    """Import what provider calls need, and pay their first-use costs, once, here."""
    import gc
    import importlib

    from ..providers import registry

    gc.disable()  # an import builds no garbage; collecting during it only rescans it
    try:
        for provider in registry.PROVIDERS:
            try:
                importlib.import_module(registry.provider_class(provider).sdk_module)
            except Exception:  # noqa: BLE001, S112 - a provider that cannot load fails in its own call
                continue
        for name in ("google.auth.transport.requests", "PIL.Image", "mmcli.media"):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001, S112
                continue
        from ..providers.warm import warm_up as warm_providers

        warm_providers()
    finally:
        gc.enable()
    gc.collect()
    gc.freeze()  # children share these pages with the worker instead of copying them on the first collection


def _bind(path: Path) -> socket.socket | None:
    """Listen on ``path``, taking it over from a dead worker's leftover socket file."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(50):
        try:
            listener.bind(str(path))
            break
        except OSError:
            if _answers(path):
                listener.close()
                return None
            try:
                path.unlink()  # a socket file nobody answers on
            except FileNotFoundError:
                pass
            time.sleep(0.05)
    else:
        listener.close()
        return None
    os.chmod(path, 0o600)
    listener.listen(64)
    return listener


class Worker:
    """The long-lived parent: keeps one spare child ready and counts the calls.

    The parent never accepts a connection itself. A *spare* child, forked ahead
    of time, rehearses the providers the last calls used (so the memory those
    code paths touch is already its own, not shared pages to copy on the first
    write) and then waits in ``accept``. When it takes a connection it tells the
    parent ("accepted"), and again when the call is over ("done"); the parent
    forks the next spare shortly after that (``_spare_due_in``), or at once when
    another caller connects meanwhile. A call so starts in a process that is
    already forked and warm: a fork costs milliseconds, and the first call
    through a freshly forked SDK three times as long as a rehearsed one.
    """

    def __init__(self, listener: socket.socket, path: Path, idle_s: float):
        self.listener = listener
        self.path = path
        self.inode = os.stat(path).st_ino
        self.idle_s = idle_s
        self.started = time.time()
        self.last_active = time.monotonic()
        self.children: set[int] = set()
        self.calling: set[int] = set()  # the children making a provider call (not a status or a stop)
        self.spare: int | None = None
        self.busy: set[int] = set()  # children that took a call and have not said it is done
        self.quiet_from = 0.0  # when the last call's caller should be done too (monotonic)
        # What the next spare rehearses: the provider of the latest call (only that one: rehearsing
        # takes CPU from the caller's next start on a small machine); every SDK until a call says.
        self.last_provider: str | None = None
        self.notices = _Notices()
        self.counts = _SharedCounts()  # a spare forked long ago still reports today's counts
        self.fingerprint = fingerprint()
        self.versions = versions()

    def serve(self) -> None:
        signal.signal(signal.SIGTERM, _raise_stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, _raise_stop)
        try:
            while self._should_go_on():
                wait = TICK_S
                if self.spare is None:
                    wait = self._spare_due_in()
                    if wait <= 0 or _waiting(self.listener):
                        self._fork_spare()
                        wait = TICK_S
                # Without a spare, a caller connecting is a reason to fork one at once.
                watched = [self.notices.reader] if self.spare is not None else [self.notices.reader, self.listener]
                ready, _, _ = select.select(watched, [], [], min(wait, TICK_S))
                if self.notices.reader in ready:
                    self._take_notices()
        except Stop:
            pass
        finally:
            self._close()

    def _spare_due_in(self) -> float:
        """Seconds until the next spare should be forked.

        Not while a call is under way, nor right after one: forking this large process
        and rehearsing in the new child take a core for milliseconds, which on a small
        machine the call and then its caller (storing the answer, exiting) would lose.
        A caller that connects meanwhile gets a spare at once (``serve``).
        """
        if self.busy:
            return TICK_S
        return self.quiet_from - time.monotonic()

    def _should_go_on(self) -> bool:
        self._reap()
        if self.children:
            self.last_active = time.monotonic()
        elif time.monotonic() - self.last_active >= self.idle_s:
            return False
        try:
            return os.stat(self.path).st_ino == self.inode  # removed or taken over: this worker is done
        except OSError:
            return False

    def _reap(self) -> None:
        for pid in [*self.children, *([self.spare] if self.spare else [])]:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.children.discard(pid)
                if pid == self.spare:
                    self.spare = None  # died before taking a call (killed by hand): fork another
        self.calling &= self.children
        self.busy &= self.children
        self.counts.active = len(self.calling)

    def _take_notices(self) -> None:
        for pid, kind, detail in self.notices.read():
            if kind == "accepted" and pid == self.spare:
                self.children.add(pid)
                self.busy.add(pid)
                self.spare = None
                self.last_active = time.monotonic()
            elif kind == "done":
                self.busy.discard(pid)
                self.quiet_from = time.monotonic() + SPARE_AFTER_CALL_S
            elif kind == "calling":
                self.calling.add(pid)
                self.last_provider = detail
        self.counts.active = len(self.calling & self.children)

    def _fork_spare(self) -> None:
        # A SIGTERM arriving inside fork() would raise Stop in an at-fork handler (logging
        # registers some), where Python prints and drops it: the worker would not stop. Held
        # back until the fork is done, it stops the parent at once and kills no child half-made.
        stops = {signal.SIGTERM, signal.SIGINT}
        signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
            raise
        if pid:
            self.spare = pid
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
            return
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
            os.close(self.notices.reader)
            if not _waiting(self.listener):
                _rehearse(None if self.last_provider is None else [self.last_provider])
            conn, _ = self.listener.accept()
            # Counted here, not by the parent: a status call must see itself counted, and only
            # one spare exists at a time (the next is forked on this notice), so one writer.
            self.counts.served += 1
            self.notices.send("accepted")
            self.listener.close()
            if paths.same_user(conn):  # another user's process: not a word to it
                Call(conn, self).run()
        except BaseException:  # noqa: BLE001 - a child never returns into the parent's loop
            code = 1
        finally:
            self.notices.send("done")
            try:
                sys.stderr.flush()  # the caller's stderr: what the SDK or MMCLI_DEBUG wrote there
            except (OSError, ValueError):
                pass
            os._exit(code)

    def status(self) -> dict[str, Any]:
        return {
            "t": "status",
            "pid": os.getpid(),
            "started": self.started,
            "uptime_s": round(time.time() - self.started, 1),
            "socket": str(self.path),
            "fingerprint": self.fingerprint,
            "versions": self.versions,
            "idle_minutes": self.idle_s / 60,
            "served": self.counts.served,
            "active": self.counts.active,
            "protocol": protocol.PROTOCOL,
        }

    def _close(self) -> None:
        try:
            if os.stat(self.path).st_ino == self.inode:
                self.path.unlink()  # first: from now on callers answer in-process (and start a new worker)
        except OSError:
            pass
        self._take_notices()  # a spare that has just taken a call is a call now, and finishes
        if self.spare is not None:
            try:
                # It only waits in accept: a caller it took after all gets no "accepted" and
                # answers in-process; nothing has reached a provider.
                os.kill(self.spare, signal.SIGTERM)
            except OSError:
                pass
        self.listener.close()


class _Notices:
    """A pipe on which children tell the parent what it must know: "accepted", "calling PROVIDER", "done"."""

    def __init__(self) -> None:
        self.reader, self.writer = os.pipe()
        os.set_blocking(self.reader, False)
        self._partial = b""

    def send(self, kind: str, detail: str = "") -> None:
        # One short write: atomic on a pipe, so notices from several children never interleave.
        os.write(self.writer, f"{os.getpid()} {kind} {detail}\n".encode())

    def read(self) -> list[tuple[int, str, str]]:
        try:
            data = self._partial + os.read(self.reader, 65536)
        except BlockingIOError:
            return []
        *lines, self._partial = data.split(b"\n")
        notices = []
        for line in lines:
            pid, kind, detail = line.decode().split(" ", 2)
            notices.append((int(pid), kind, detail))
        return notices


class _SharedCounts:
    """The served and active counts in memory shared with every child, for `mmcli worker status`."""

    def __init__(self) -> None:
        import mmap

        self._memory = mmap.mmap(-1, 16)  # anonymous and shared: children see the parent's writes

    def _get(self, index: int) -> int:
        return int.from_bytes(self._memory[index * 8:index * 8 + 8], "little")

    def _set(self, index: int, value: int) -> None:
        self._memory[index * 8:index * 8 + 8] = value.to_bytes(8, "little")

    served = property(lambda self: self._get(0), lambda self, value: self._set(0, value))
    active = property(lambda self: self._get(1), lambda self, value: self._set(1, value))


def _waiting(listener: socket.socket) -> bool:
    """Whether a caller already waits: then it is served at once, unrehearsed, rather than after the rehearsal."""
    ready, _, _ = select.select([listener], [], [], 0)
    return bool(ready)


def _rehearse(providers: list[str] | None) -> None:
    try:
        from ..providers.warm import rehearse

        rehearse(providers)
    except Exception:  # noqa: BLE001 - an unrehearsed spare only answers a few milliseconds later
        pass


def _raise_stop(signum: int, frame: object) -> None:
    raise Stop


class Call:
    """One connection, in a child of the worker: a status, a stop, or one provider call."""

    def __init__(self, conn: socket.socket, worker: Worker):
        self.conn = conn
        self.worker = worker  # as it was at the fork: this process's parent
        self.parent = os.getppid()

    def run(self) -> None:
        self.conn.settimeout(REQUEST_READ_TIMEOUT_S)
        reader = protocol.Reader(self.conn)
        message, blobs = reader.read(with_fds=True)
        kind = message.get("t")
        if kind == "status":
            # The child's status is its parent's: the counts as they were at the fork.
            status = self.worker.status()
            status["pid"] = self.parent
            protocol.send(self.conn, status)
        elif kind == "stop":
            os.kill(self.parent, signal.SIGTERM)
            protocol.send(self.conn, {"t": "stopping", "pid": self.parent})
        elif kind == "request":
            self.answer(message, blobs, reader)

    def answer(self, message: dict[str, Any], blobs: list[bytes], reader: protocol.Reader) -> None:
        if message.get("identity") != identity() or current_fingerprint() != self.worker.fingerprint:
            # Another mmcli, Python or SDK version (or an edited checkout): this worker is out
            # of date. The caller answers in-process and starts a fresh worker.
            protocol.send(self.conn, {"t": "mismatch", "fingerprint": self.worker.fingerprint})
            os.kill(self.parent, signal.SIGTERM)
            return
        self.take_callers_context(message, reader.fds)
        from ..providers import registry

        request = protocol.request_from_wire(message["request"], blobs)
        self.worker.notices.send("calling", request.model.provider)  # the next spare rehearses it
        settings = protocol.settings_from_wire(message["settings"])
        registry._quiet_sdk_logging()  # reads MMCLI_DEBUG from the caller's environment
        provider = registry.provider_class(request.model.provider)(settings)
        transcribing = message["request"].get("task") == "transcribe"
        try:
            if not transcribing:
                provider.prepare()  # the SDK client, while the caller still stores the question
        except Exception:  # noqa: BLE001, S110 - the call itself makes it again and reports what is wrong
            pass
        # Started now, not after "go": starting a thread takes up to milliseconds.
        went = threading.Event()
        threading.Thread(target=self.exit_when_caller_leaves, args=(went,), daemon=True).start()
        protocol.send(self.conn, {"t": "accepted"})
        go, _ = reader.read()  # until the caller says go, it may still answer in-process instead
        if go.get("t") != "go":
            return
        self.conn.settimeout(None)
        went.set()
        if transcribing:
            self.serve(lambda send: self.transcribe(provider, request, bool(message.get("stream_text")), send))
        else:
            self.serve(lambda send: self.stream(provider, request, send))

    def take_callers_context(self, message: dict[str, Any], fds: list[int]) -> None:
        """The caller's environment, directory and stderr, for this call only (this process ends with it)."""
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in message.get("env", {}).items()})
        try:
            os.chdir(message.get("cwd") or "/")
        except OSError:
            pass
        if fds:
            os.dup2(fds[0], 2)  # SDK warnings and MMCLI_DEBUG logs reach the caller's stderr, as in-process
            for fd in fds:
                os.close(fd)

    def exit_when_caller_leaves(self, went: threading.Event) -> None:
        """The caller sends nothing after `go`: any read returning means it closed (Ctrl-C, SIGTERM, a crash).

        Exiting then closes the provider's connection at once, even mid-read, so the provider stops generating.
        It reads only once ``went`` is set: before that, the call's own thread reads the "go".
        """
        went.wait()
        try:
            self.conn.recv(1)
        except OSError:
            pass
        self.worker.notices.send("done")
        os._exit(0)

    def stream(self, provider: Any, request: Any, send: Send) -> None:
        from contextlib import closing

        with closing(provider.stream(request)) as events:
            for event in events:
                send(protocol.event_to_wire(event))

    def transcribe(self, provider: Any, request: Any, stream_text: bool, send: Send) -> None:
        from ..providers.base import TextDelta

        def delta(text: str) -> None:
            send(protocol.event_to_wire(TextDelta(text)))

        result = provider.transcribe(request, delta if stream_text else None, lambda: send({"t": protocol.UPLOADING}))
        send(protocol.transcription_to_wire(result))

    def serve(self, call: Callable[[Send], None]) -> None:
        """Run the provider ``call``, which sends its messages as they come; then "end", or the error."""
        try:
            call(lambda message: protocol.send(self.conn, message))
        except (BrokenPipeError, ConnectionError):
            os._exit(0)  # the caller left between two messages
        except Exception as exc:  # noqa: BLE001 - told to the caller as the in-process call would tell it
            from ..errors import _debug, _report_traceback

            if _debug():
                _report_traceback()  # the provider-side traceback, redacted, on the caller's stderr
            self.release_callers_stderr()
            protocol.send(self.conn, protocol.error_to_wire(exc))
            self.worker.notices.send("done")
            return
        self.release_callers_stderr()
        protocol.send(self.conn, {"t": "end"})
        self.worker.notices.send("done")

    def release_callers_stderr(self) -> None:
        """Let go of the caller's stderr before telling it the call is over.

        Whoever reads that stderr through a pipe (a script capturing it, `2>&1 |`)
        waits until every process holding it has closed it; this child exiting
        takes milliseconds after the caller is done (unmapping a large process).
        """
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
