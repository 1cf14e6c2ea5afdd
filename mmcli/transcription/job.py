"""One transcription, start to finish: the response cache and the fallbacks
(the engine's, as for chat), then for the model that answers: plan the pieces,
transcribe them concurrently (``concurrency.Calls``), join the results in order,
and report progress.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..conversation import ModelRef, Part
from . import chunking
from .result import PieceResult, Transcript, join, piece_of

if TYPE_CHECKING:
    from ..providers.speech import TranscriptionRequest

# Requests in flight at once for a long recording.
WORKERS = 4


@dataclass(frozen=True)
class Options:
    format: str
    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None

    def request(self, ref: ModelRef, part: Part) -> TranscriptionRequest:
        """The whole recording as one neutral request (what the cache keys; pieces are cut from it)."""
        from ..providers.speech import TranscriptionRequest

        return TranscriptionRequest(ref, part, self.format, self.language, self.prompt, self.temperature)


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
        self.total, self.done = total, 0  # afresh for a fallback model's pieces
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


def transcribe(
    part: Part,
    ref: ModelRef,
    config: Config,
    options: Options,
    *,
    fallbacks: Sequence[ModelRef] = (),
    use_cache: bool = True,
    timeout: float | None,
    progress: Progress,
    on_delta: Callable[[str], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> Transcript:
    """The transcript of ``part``: from the response cache, else from ``ref``, else from the
    next of ``fallbacks`` that can write this format, under the same rules as a chat answer
    (engine.with_fallbacks). A transcript is cached under the model that wrote it."""
    from .. import engine
    from . import models

    notify = notify or engine.warn
    whole = options.request(ref, part)
    cache = engine.open_cache_or_warn(config, notify) if use_cache else None
    try:
        entry = engine.cache_lookup(cache, whole, config, notify)
        if entry is not None:
            return Transcript.from_cache(entry)

        def attempt(model: ModelRef) -> Transcript:
            request = whole if model == ref else _for_fallback(whole, model, notify)
            transcript = run(request, config, timeout=timeout, progress=progress, on_delta=on_delta)
            if transcript.text:
                engine.cache_store(cache, request, config, transcript.to_cache(), notify)
            return transcript

        return engine.with_fallbacks(
            ref, fallbacks, attempt, accepts=lambda model: models.check_format(model, options.format), notify=notify
        )
    finally:
        if cache is not None:
            cache.close()


def _for_fallback(whole: TranscriptionRequest, model: ModelRef, notify: Callable[[str], None]) -> TranscriptionRequest:
    """The request for a fallback model: a temperature it cannot take is left out, with a note."""
    from . import models

    return replace(
        whole, model=model, temperature=models.fit_temperature(model, whole.temperature, strict=False, notify=notify)
    )


def run(
    request: TranscriptionRequest,
    config: Config,
    *,
    timeout: float | None,
    progress: Progress,
    on_delta: Callable[[str], None] | None = None,
) -> Transcript:
    """Transcribe ``request``'s audio with its model; ``on_delta`` gets streamed text when
    the audio goes in one request."""
    from ..concurrency import Calls
    from ..engine import Transcriber

    ref = request.model
    limits = chunking.limits_for(ref.provider, ref.name)
    provider = Transcriber(ref, config, timeout)  # through the warm worker when one answers
    started = time.perf_counter()
    first_text: list[float] = []

    def streamed(text: str) -> None:
        if not first_text:
            first_text.append(time.perf_counter() - started)
            progress.close()  # the text takes over the terminal
        assert on_delta is not None
        on_delta(text)

    def uploading() -> None:
        progress.note(f"Uploading {progress.label} to {ref.provider}")

    with chunking.plan(request.audio, limits) as plan:
        count = len(plan.pieces)
        progress.start(count)
        calls = Calls(WORKERS, name="mmcli-transcribe")
        try:

            def task(piece: chunking.Piece, stream: bool) -> Callable[[], PieceResult]:
                def work() -> PieceResult:
                    one = replace(request, audio=piece.read(), upload_above=limits.upload_above)
                    answer = provider.transcribe(one, streamed if stream else None, uploading)
                    calls.check()  # cancelled meanwhile (a piece failed, Ctrl-C): count nothing more
                    result = piece_of(answer)
                    if result.duration_s is None:
                        result.duration_s = piece.duration_s
                    progress.advance()
                    return result

                return work

            stream = on_delta is not None and count == 1
            tasks = [task(piece, stream) for piece in plan.pieces]
            results = [tasks[0]()] if count == 1 else calls.ordered(tasks)
        finally:
            progress.close()
        transcript = join(ref, request.format, [(p.offset_s, r) for p, r in zip(plan.pieces, results, strict=True)],
                          plan.duration_s)
    transcript.total_s = time.perf_counter() - started
    transcript.ttft_s = first_text[0] if first_text else transcript.total_s
    transcript.extra["streamed"] = bool(first_text)
    return transcript
