"""One transcription, start to finish: plan the pieces, transcribe them
concurrently, join the results in order, and report progress.

Worker threads are daemons, so Ctrl-C ends mmcli at once instead of waiting
for requests still in flight.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..config import Config
from ..conversation import ModelRef, Part
from . import chunking
from .result import PieceResult, Transcript, join

# Requests in flight at once for a long recording.
WORKERS = 4

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    format: str
    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None

    def cache_identity(self, ref: ModelRef, part: Part) -> dict[str, Any]:
        """Everything that changes the transcript; the audio by its full SHA-256."""
        return {
            "task": "transcribe",
            "provider": ref.provider,
            "model": ref.name,
            "audio": {"sha256": part.sha256, "mime_type": part.mime_type},
            "format": self.format,
            "language": self.language,
            "prompt": self.prompt,
            "temperature": self.temperature,
        }


class Progress:
    """Pieces done of total, on stderr: a Rich bar on a terminal, plain lines otherwise."""

    def __init__(self, label: str):
        self.label = label
        self.total = 1
        self.done = 0
        self._lock = threading.Lock()
        self._live: Any = None
        self._task: Any = None

    def start(self, total: int) -> None:
        self.total = total
        from .. import terminal

        if not terminal.current().stderr_isatty:
            return
        from ..progress import progress_bar

        self._live, self._task = progress_bar(f"Transcribing {self.label}", total, counted=total > 1)

    def note(self, description: str) -> None:
        if self._live is not None:
            self._live.update(self._task, description=description)

    def advance(self) -> None:
        with self._lock:
            self.done += 1
            if self._live is not None:
                self._live.advance(self._task)
            elif self.total > 1:
                print(f"Transcribed {self.done} of {self.total} pieces of {self.label}.", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def run(
    part: Part,
    ref: ModelRef,
    config: Config,
    options: Options,
    *,
    timeout: float | None,
    progress: Progress,
    on_delta: Callable[[str], None] | None = None,
) -> Transcript:
    """Transcribe ``part``; ``on_delta`` gets streamed text when the audio goes in one request."""
    from ..providers import registry

    limits = chunking.limits_for(ref.provider, ref.name)
    provider = registry.get_provider(ref, config, timeout=timeout)
    client = provider.client()
    started = time.perf_counter()
    first_text: list[float] = []

    def streamed(text: str) -> None:
        if not first_text:
            first_text.append(time.perf_counter() - started)
            progress.close()  # the text takes over the terminal
        assert on_delta is not None
        on_delta(text)

    with chunking.plan(part, limits) as plan:
        count = len(plan.pieces)
        progress.start(count)
        try:

            def task(piece: chunking.Piece, stream: bool) -> Callable[[], PieceResult]:
                def work() -> PieceResult:
                    result = _transcribe_piece(
                        provider, client, piece.read(), ref, options, streamed if stream else None, progress
                    )
                    if result.duration_s is None:
                        result.duration_s = piece.duration_s
                    progress.advance()
                    return result

                return work

            stream = on_delta is not None and count == 1
            tasks = [task(piece, stream) for piece in plan.pieces]
            results = [tasks[0]()] if count == 1 else run_concurrently(tasks, WORKERS)
        finally:
            progress.close()
        transcript = join(ref, options.format, [(p.offset_s, r) for p, r in zip(plan.pieces, results, strict=True)],
                          plan.duration_s)
    transcript.total_s = time.perf_counter() - started
    transcript.ttft_s = first_text[0] if first_text else transcript.total_s
    transcript.extra["streamed"] = bool(first_text)
    return transcript


def _transcribe_piece(
    provider: Any,
    client: Any,
    part: Part,
    ref: ModelRef,
    options: Options,
    on_delta: Callable[[str], None] | None,
    progress: Progress,
) -> PieceResult:
    from .. import media

    common = {
        "model": ref.name,
        "fmt": options.format,
        "language": options.language,
        "prompt": options.prompt,
        "temperature": options.temperature,
        "on_delta": on_delta,
    }
    if ref.provider in ("gemini", "vertex"):
        from . import gemini

        part = media.prepare(part, ref.provider)
        return gemini.transcribe(
            provider,
            client,
            part,
            inline_limit=chunking.inline_limit(ref.provider),
            on_upload=lambda: progress.note(f"Uploading {progress.label} to {ref.provider}"),
            **common,  # type: ignore[arg-type]
        )
    from . import openai

    # Whisper-compatible servers take what OpenAI's transcription endpoint takes.
    part = media.prepare(part, "openai", purpose="transcription")
    return openai.transcribe(provider, client, part, **common)  # type: ignore[arg-type]


def run_concurrently(tasks: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """Run ``tasks`` on up to ``workers`` daemon threads; results in task order.

    The first failure is raised at once; tasks not yet started are skipped.
    """
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(tasks)):
        todo.put(index)
    outcomes: queue.SimpleQueue[tuple[int, bool, Any]] = queue.SimpleQueue()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                outcomes.put((index, True, tasks[index]()))
            except BaseException as error:  # handed to the main thread, which raises it
                outcomes.put((index, False, error))

    for number in range(min(workers, len(tasks))):
        threading.Thread(target=worker, name=f"mmcli-transcribe-{number}", daemon=True).start()
    results: list[Any] = [None] * len(tasks)
    try:
        for _ in range(len(tasks)):
            index, ok, value = outcomes.get()
            if not ok:
                raise value
            results[index] = value
    finally:
        stop.set()
    return results
