"""mmcli run inside the pytest process, as a subprocess would run it, in a few milliseconds.

A subprocess costs an interpreter start and mmcli's imports (a third of a second,
more with an SDK) on every call; most output tests only need what a process
gives them for free, so this gives exactly that and nothing more:

- its own standard streams: stdout and stderr are real (unlinked) files, text
  layers as ``python -u`` makes them, so order is kept and a worker child writing
  to the stderr descriptor it was handed lands in the same file; stdin is
  /dev/null or a file holding ``input``;
- its own terminal: ``mmcli.terminal.use`` tells mmcli which streams are
  terminals and the screen's size (``size=(columns, lines)``), so "stdout is an
  80-column colour terminal" renders what a pty of that size shows;
- its own environment, working directory, argv, signal handlers, logging
  handlers, warning filters and umask, put back afterwards;
- a fresh start for mmcli's per-process state: every ``functools.cache`` in
  mmcli's modules and the module-level state listed in ``_PER_PROCESS``;
- the exit code from SystemExit (typer.Exit, sys.exit), 1 with a traceback on
  stderr for an uncaught exception, as the interpreter does.

What stays with subprocesses: signals (Ctrl-C, SIGTERM, SIGPIPE and a closed
stdout), anything reading descriptor 0 itself (``mmcli live``'s typed turns,
``/dev/stdin`` as a path), real pty rendering and prompts (getpass, prompt_toolkit
open the terminal), the worker's own tests, and compare (it forks).
"""

from __future__ import annotations

import gc
import io
import logging
import os
import signal
import subprocess
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

# Module-level state mmcli (and a library it uses) keeps for the life of a process (besides
# mmcli's functools caches, which are all cleared): (module, attribute, value at a process's start).
_PER_PROCESS: list[tuple[str, str, Callable[[], Any]]] = [
    ("mmcli.config", "DOTENV_NAMES", set),
    ("mmcli.stored_keys", "_merged", lambda: False),
    ("mmcli.stored_keys", "SOURCES", dict),
    ("mmcli.providers.registry", "_noted", set),
    ("mmcli.worker.client", "_started_here", lambda: False),
    ("mmcli.media.video", "_frames_cache", dict),
    ("mmcli.media.images", "_quieted", lambda: False),  # its warning filters go with catch_warnings
    ("keyring.core", "_keyring_backend", lambda: None),  # chosen once from PYTHON_KEYRING_BACKEND
]
_SIGNALS = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE", "SIGALRM")
            if hasattr(signal, name)]


class _Stream(io.FileIO):
    """A file that is a terminal when the test says so."""

    def __init__(self, fd: int, mode: str, terminal: bool) -> None:
        super().__init__(fd, mode, closefd=True)
        self._terminal = terminal

    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return self._terminal


class _TimedOut(BaseException):
    """Not an Exception: mmcli's own handlers must not catch it."""


def _output(terminal: bool, errors: str) -> tuple[io.TextIOWrapper, int]:
    """A text stream as ``python -u`` has (write-through to an unbuffered file), and a descriptor to read it back
    by (the stream's own may be pointed at /dev/null by mmcli when the reader goes away)."""
    fd, path = tempfile.mkstemp(prefix="mmcli-inproc-")
    os.unlink(path)
    reader = os.dup(fd)
    stream = io.TextIOWrapper(_Stream(fd, "wb", terminal), encoding="utf-8", errors=errors,  # type: ignore[type-var]
                              write_through=True)
    return stream, reader


def _input(data: bytes | None, terminal: bool) -> io.TextIOWrapper:
    if data is None:
        fd = os.open(os.devnull, os.O_RDONLY)
    else:
        fd, path = tempfile.mkstemp(prefix="mmcli-inproc-")
        os.unlink(path)
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    return io.TextIOWrapper(io.BufferedReader(_Stream(fd, "rb", terminal)), encoding="utf-8",
                            errors="surrogateescape")


def _read_back(reader: int) -> str:
    os.lseek(reader, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(reader, 1 << 16):
        chunks.append(chunk)
    os.close(reader)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _forget_per_process_state() -> None:
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "mmcli" or name.startswith("mmcli.")):
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()
    for module_name, attribute, fresh in _PER_PROCESS:
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, attribute):
            setattr(module, attribute, fresh())
    from mmcli import terminal

    terminal.forget()


@contextmanager
def _process_state(env: Mapping[str, str], cwd: str | os.PathLike[str]) -> Iterator[None]:
    """The environment, directory, argv, handlers and filters of a process of its own; the test's back after."""
    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_argv = sys.argv
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_signals = {number: signal.getsignal(number) for number in _SIGNALS}
    root = logging.getLogger()
    saved_logging = (list(root.handlers), root.level)
    saved_umask = os.umask(0o022)
    os.umask(saved_umask)
    gc_enabled = gc.isenabled()
    try:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        _forget_per_process_state()
        with warnings.catch_warnings():
            _warn_as_a_process_does()
            yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        for number, handler in saved_signals.items():
            if handler is not None:
                signal.signal(number, handler)
        root.handlers[:], root.level = saved_logging
        os.umask(saved_umask)
        gc.unfreeze()  # mmcli's main() freezes every object alive to skip the exit-time collections
        if gc_enabled:
            gc.enable()
        else:
            gc.disable()
        _forget_per_process_state()


# A fresh interpreter's warning filters (python -W and PYTHONWARNINGS aside).
_STARTUP_FILTERS = [
    ("default", None, DeprecationWarning, "__main__", 0),
    ("ignore", None, DeprecationWarning, None, 0),
    ("ignore", None, PendingDeprecationWarning, None, 0),
    ("ignore", None, ImportWarning, None, 0),
    ("ignore", None, ResourceWarning, None, 0),
]


def _warn_as_a_process_does() -> None:
    """Warnings printed on stderr under a fresh interpreter's filters, not recorded by pytest: a
    warning a user would see must break a test that wants one sentence on stderr."""
    warnings.filters[:] = _STARTUP_FILTERS
    warnings._filters_mutated()  # type: ignore[attr-defined]
    warnings.showwarning = warnings._showwarning_orig  # type: ignore[attr-defined]
    warnings._showwarnmsg_impl = _print_warning  # type: ignore[attr-defined]


def _print_warning(message: warnings.WarningMessage) -> None:
    # What warnings._showwarnmsg_impl does; pytest's recording has replaced it by now.
    stream = message.file or sys.stderr
    if stream is not None:
        with _quietly():
            stream.write(warnings._formatwarnmsg(message))  # type: ignore[attr-defined]


def _exit_code_of(main: Callable[[], None]) -> int:
    """What the interpreter would exit with after ``main()``."""
    try:
        main()
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        traceback.print_exc()
        return -signal.SIGINT
    except _TimedOut:
        raise
    except Exception:
        traceback.print_exc()
        return 1
    return 0


@contextmanager
def _deadline(seconds: float, args: list[str]) -> Iterator[None]:
    """subprocess.TimeoutExpired after ``seconds``, as run_mmcli's subprocess.run(timeout=...) raises."""

    def expire(signum: int, frame: object) -> None:
        raise _TimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _TimedOut:
        raise subprocess.TimeoutExpired(args, seconds) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_inproc(
    args: list[str],
    env: Mapping[str, str],
    *,
    cwd: str | os.PathLike[str],
    input: str | bytes | None = None,  # noqa: A002 - mirrors subprocess.run
    timeout: float = 60,
    stdin_isatty: bool = False,
    stdout_isatty: bool = False,
    stderr_isatty: bool = False,
    size: tuple[int, int] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``mmcli ARGS`` in this process; the same result as run_mmcli's subprocess.

    ``size`` is the terminal's (columns, lines) for the streams said to be terminals
    (mmcli_env's COLUMNS=100 still wins for Rich, as it does in a pty).
    """
    from mmcli import cli, terminal

    command = [sys.executable, "-m", "mmcli", *args]
    data = input.encode("utf-8") if isinstance(input, str) else input
    with ExitStack() as stack:
        stdout, stdout_reader = _output(stdout_isatty, "surrogateescape")
        stderr, stderr_reader = _output(stderr_isatty, "backslashreplace")
        stdin = _input(data, stdin_isatty)
        for stream in (stdin, stdout, stderr):
            stack.callback(stream.close)
        with _process_state(env, Path(cwd)):
            sys.argv = ["mmcli", *args]
            sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
            screen = terminal.Terminal(
                stdin=stdin, stdout=stdout, stderr=stderr,
                stdin_isatty=stdin_isatty, stdout_isatty=stdout_isatty, stderr_isatty=stderr_isatty,
                size=size, environ=os.environ,
            )
            with terminal.use(screen), _deadline(timeout, command):
                code = _exit_code_of(cli.main)
            for stream in (stdout, stderr):
                with _quietly():
                    stream.flush()
    return subprocess.CompletedProcess(command, code, _read_back(stdout_reader), _read_back(stderr_reader))


@contextmanager
def _quietly() -> Iterator[None]:
    try:
        yield
    except (OSError, ValueError):
        pass



def pty(*, columns: int, lines: int) -> dict[str, Any]:
    """``run_mmcli_inproc``'s keywords for a run in a pty of that size (``spawn_mmcli``'s
    ``dimensions=(lines, columns)``): stdin, stdout and stderr are all the terminal."""
    return {"stdin_isatty": True, "stdout_isatty": True, "stderr_isatty": True, "size": (columns, lines)}


def without_ansi(text: str) -> str:
    """The text without ANSI control sequences (as tests/test_compare.py's plain_screen reads a pty)."""
    import re

    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
