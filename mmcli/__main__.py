"""`python -m mmcli`, and the `mmcli` script's entry point."""

from __future__ import annotations


def main() -> None:
    import gc

    # Start-up builds tens of thousands of objects that live as long as the
    # process and no garbage; with the collector on, it rescans them dozens of
    # times on the way (several ms of every one-shot). cli.main freezes them
    # and turns the collector back on before the command runs.
    gc.disable()
    from .cli import main as run_cli

    try:
        run_cli()
    except SystemExit as exc:
        _exit_now(exc)
    _exit_now(SystemExit(0))


def _exit_now(exc: SystemExit) -> None:
    """End the process without the interpreter's teardown, once everything is done.

    Tearing down module by module and object by object takes about 6 ms after
    a one-shot, more than a twentieth of the whole run, and does nothing mmcli
    needs: its stores and files are closed by then. Exit handlers still run
    (logging flushed, temporary files removed) and the output is flushed; with
    a thread still working, Python's own exit waits for it as usual.
    """
    import atexit
    import os
    import sys
    import threading

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)  # CPython's; elsewhere, exit as usual
    if run_exit_handlers is None or any(
        t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()
    ):
        raise exc
    code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # what Python does with a SystemExit that carries a message
        code = 1
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # the reader went away, or the stream is closed: what was said is already kept
    os._exit(code or 0)


if __name__ == "__main__":
    main()
