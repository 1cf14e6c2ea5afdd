"""Provider calls run side by side: bounded, cancellable with Ctrl-C, in order.

The one helper behind compare's columns, analyze-image's images and a long
recording's pieces. Calls run on daemon threads (``max_workers`` at most), so
Ctrl-C ends mmcli at once rather than after the slowest call; the caller's
thread only waits, in short slices, so the KeyboardInterrupt reaches it and
propagates to the command's own interrupt handling (which keeps what had
arrived). When the caller stops waiting, whatever the reason (done, a failure
it raises, Ctrl-C), the run is cancelled: calls not yet started never start,
and a running call's next sink event raises ``Cancelled`` in its thread, which
unwinds the engine's ``closing()`` and so closes its HTTP stream (the provider
stops generating) without reaching any output. A call blocked waiting for its
first byte ends with the process, like the socket under it.

Standard library only: this runs before any SDK is imported.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
S = TypeVar("S")

# How long the waiting thread blocks at a time: short, so Ctrl-C is handled at once everywhere.
_WAIT_SLICE_S = 0.1


class Cancelled(BaseException):
    """Raised in a call's thread once its run is cancelled: a BaseException, so that no
    ``except Exception`` / ``except MmcliError`` on the way up records it as a failure."""


class Calls:
    """One run of concurrent calls. ``guard(sink)`` gives a task a sink that stops it once
    the run is cancelled; ``completed`` and ``ordered`` run the tasks."""

    def __init__(self, max_workers: int, *, name: str = "mmcli-call") -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.name = name
        self._cancelled = threading.Event()
        self.threads: list[threading.Thread] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Start nothing more; running calls stop at their next event."""
        self._cancelled.set()

    def check(self) -> None:
        """Raise ``Cancelled`` in a call's thread once the run is cancelled."""
        if self._cancelled.is_set():
            raise Cancelled

    def guard(self, sink: S) -> S:
        """``sink`` (an engine Sink, or anything whose methods a call invokes as events
        arrive) with a cancellation check before every method call."""
        return _Guarded(sink, self)  # type: ignore[return-value]

    def completed(self, tasks: Sequence[Callable[[], T]]) -> Iterator[tuple[int, T]]:
        """Run ``tasks``, yielding ``(index, result)`` as each finishes (completion order).

        A task's exception is raised here, in the caller's thread, at once; leaving
        the loop for any reason (that exception, Ctrl-C, ``break``) cancels the rest.
        """
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in range(len(tasks)):
            todo.put(index)
        outcomes: queue.SimpleQueue[tuple[int, bool, Any]] = queue.SimpleQueue()

        def worker() -> None:
            while not self._cancelled.is_set():
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcome = (index, True, tasks[index]())
                except Cancelled:
                    return  # nobody waits for it any more
                except BaseException as error:  # noqa: BLE001 - handed to the waiting thread, which raises it
                    self.cancel()  # before another task starts: the run has failed
                    outcome = (index, False, error)
                outcomes.put(outcome)

        try:  # Ctrl-C may arrive while the threads are being started, too
            for number in range(min(self.max_workers, len(tasks))):
                thread = threading.Thread(target=worker, name=f"{self.name}-{number}", daemon=True)
                self.threads.append(thread)
                thread.start()
            for _ in range(len(tasks)):
                index, ok, value = _wait(outcomes)
                if not ok:
                    raise value
                yield index, value
        finally:
            self.cancel()

    def ordered(self, tasks: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``tasks``; their results in task order. The first failure is raised at once."""
        results: list[Any] = [None] * len(tasks)
        for index, result in self.completed(tasks):
            results[index] = result
        return results

    def alive(self) -> list[threading.Thread]:
        """This run's threads still running (a call that has not yet reached a cancellation check)."""
        return [thread for thread in self.threads if thread.is_alive()]


def _wait(outcomes: queue.SimpleQueue[tuple[int, bool, Any]]) -> tuple[int, bool, Any]:
    while True:
        try:
            return outcomes.get(timeout=_WAIT_SLICE_S)
        except queue.Empty:
            continue


class _Guarded(Generic[S]):
    """Every method of the wrapped object, checked against the run's cancellation first."""

    def __init__(self, inner: S, calls: Calls) -> None:
        self._inner, self._calls = inner, calls

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute
        calls = self._calls

        def checked(*args: Any, **kwargs: Any) -> Any:
            calls.check()
            return attribute(*args, **kwargs)

        return checked


def run_ordered(tasks: Sequence[Callable[[], T]], max_workers: int, *, name: str = "mmcli-call") -> list[T]:
    """``Calls(max_workers).ordered(tasks)``: results in task order, the first failure raised."""
    return Calls(max_workers, name=name).ordered(tasks)
