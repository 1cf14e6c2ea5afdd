"""One request, start to finish: cache lookup, the provider call with
fallbacks, and the events passed on to a sink (the renderer).

Layered the way shell_gpt layers its handlers: the provider yields events,
the engine passes text through to the sink as it arrives and acts at the end
(timing, usage, cache write). Sessions are written by the command, which owns
the conversation; the engine only answers one request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from .config import Config
from .conversation import ModelRef, Request
from .errors import Interrupted, MmcliError, ProviderError, StreamInterrupted

# providers.registry and providers.base are imported where a provider is
# called, not here: a cache hit never needs them.

STOP = "stop"  # the one normal ending (providers.base names them all)
T = TypeVar("T")


@dataclass
class Answer:
    model: ModelRef
    text: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    citations: list[str] = field(default_factory=list)
    ttft_s: float | None = None
    total_s: float | None = None
    cached: bool = False
    resolved_model: str | None = None
    finish_reason: str | None = None
    finish_detail: str | None = None  # the provider's own word for the ending (SAFETY, max_tokens ...)
    blocked_prompt: bool = False  # a filter refused the prompt itself, before any answer
    error: str | None = None  # the sentence told on stderr when the answer did not end normally
    incomplete: bool = False  # it did not end normally: kept marked in the session, never cached
    data: Any = None  # the parsed JSON document, when the request asked for one (--schema)
    structured: bool = False  # whether it did; then `--json` carries "data"

    @property
    def cost_usd(self) -> float | None:
        """What this answer cost now: a cached answer cost nothing."""
        from .pricing import cost_usd

        if self.cached:
            return 0.0
        if self.model is None:
            return None
        return cost_usd(self.model.provider, self.model.name, self.input_tokens, self.output_tokens)

    def to_json(self, session: str | None = None) -> dict[str, Any]:
        """The DESIGN.md `--json` object (null where unknown)."""
        return {
            "model": self.model.name if self.model else None,
            "provider": self.model.provider if self.model else None,
            "answer": self.text,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "ttft_s": _round(self.ttft_s),
            "total_s": _round(self.total_s),
            "cost_usd": self.cost_usd,
            "cached": self.cached,
            "citations": self.citations,
            "session": session,
            "finish_reason": self.finish_reason,
            "error": self.error,
            **({"data": self.data} if self.structured else {}),
        }

    def to_cache(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "provider": self.model.provider,
            "model": self.model.name,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "citations": self.citations,
            "resolved_model": self.resolved_model,
            "finish_reason": self.finish_reason,
        }

    @classmethod
    def from_cache(cls, entry: dict[str, Any]) -> Answer:
        return cls(
            model=ModelRef(entry["provider"], entry["model"]),
            text=entry["text"],
            input_tokens=entry.get("input_tokens"),
            output_tokens=entry.get("output_tokens"),
            citations=list(entry.get("citations") or []),
            resolved_model=entry.get("resolved_model"),
            finish_reason=entry.get("finish_reason") or "stop",
            cached=True,
            ttft_s=0.0,
            total_s=0.0,
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class Sink(Protocol):
    """Where an answer goes as it arrives: a renderer, a compare column, a collector."""

    def begin(self, model: ModelRef) -> None: ...

    def delta(self, text: str) -> None: ...

    def finish(self, answer: Answer) -> None: ...

    def abort(self, answer: Answer) -> None: ...


class NullSink:
    """Collects nothing; for callers that only want the returned Answer."""

    def begin(self, model: ModelRef) -> None:
        pass

    def delta(self, text: str) -> None:
        pass

    def finish(self, answer: Answer) -> None:
        pass

    def abort(self, answer: Answer) -> None:
        pass


def warn(message: str) -> None:
    """A note on stderr, in the same `mmcli: ...` shape as errors."""
    from .errors import report

    report(message)


def open_cache(config: Config) -> Any:
    from .store.cache import ResponseCache

    return ResponseCache(config.data_dir, ttl_days=config.cache_ttl_days, max_mb=config.cache_max_mb)


class Cacheable(Protocol):
    """What the response cache keys: a chat ``Request`` or a ``providers.speech.TranscriptionRequest``."""

    model: ModelRef

    def cache_identity(self, endpoint: str | None) -> dict[str, Any]: ...


def cache_key_of(request: Cacheable, config: Config) -> str:
    from .providers.registry import endpoint
    from .store.cache import cache_key

    return cache_key(request.cache_identity(endpoint(request.model.provider, config)))


def cache_lookup(cache: Any, request: Cacheable, config: Config, notify: Callable[[str], None] = warn) -> Any:
    """The cached entry for ``request``, or None (also when there is no cache)."""
    return None if cache is None else cache_get(cache, cache_key_of(request, config), notify)


def cache_store(
    cache: Any, request: Cacheable, config: Config, entry: dict[str, Any], notify: Callable[[str], None] = warn
) -> None:
    """Keep ``entry`` as the answer to ``request`` (the request as finally answered, fallback included)."""
    if cache is not None:
        cache_put(cache, cache_key_of(request, config), entry, notify)


def with_fallbacks(
    first: ModelRef,
    fallbacks: Sequence[ModelRef],
    attempt: Callable[[ModelRef], T],
    *,
    accepts: Callable[[ModelRef], None],
    notify: Callable[[str], None],
) -> T:
    """``attempt(first)``; when it fails in a way another model may not (a provider error
    that is ``retryable_elsewhere``), the next fallback that ``accepts`` the job (it raises
    MmcliError when not: skipped, with a note), and so on. The last failure is raised."""
    waiting = [m for m in dict.fromkeys(fallbacks) if m != first]
    model = first
    while True:
        try:
            return attempt(model)
        except ProviderError as exc:
            if not exc.retryable_elsewhere:
                raise
            fallback = _next_fallback(waiting, accepts, notify)
            if fallback is None:
                raise
            notify(f"{exc.message.rstrip('.')}; falling back to {fallback}.")
            model = fallback


def answer(
    request: Request,
    config: Config,
    sink: Sink,
    *,
    fallbacks: Sequence[ModelRef] = (),
    use_cache: bool = True,
    timeout: float | None = None,
    notify: Callable[[str], None] = warn,
    strict_options: bool = True,
    offered: Any = None,
) -> Answer:
    """Answer ``request``, trying ``fallbacks`` in turn when the model fails.

    ``strict_options``: an option the model cannot take (a temperature out of
    its range) is a usage error; otherwise (a compare column) it is left out
    for that model, with a note. For fallbacks it is always left out.

    ``offered``: the request already handed to the warm worker (``offer``),
    which then makes the first model's call; used only if the request is not
    answered from the cache.

    Raises MmcliError subclasses; an answer that did not end normally travels
    on the exception as ``.answer`` so the caller can keep it in its session.
    """
    fitted = fit_options(request, notify, strict=strict_options)
    if offered is not None and fitted is not request:
        offered.withdraw()  # it carries the request as it was before an option was left out
        offered = None
    cache = open_cache_or_warn(config, notify) if use_cache else None
    try:
        return _answer(fitted, config, sink, cache, fallbacks, timeout, notify, offered)
    finally:
        if offered is not None:
            offered.withdraw()  # a cache hit, or a failure before the call: the worker's child lets it go
        if cache is not None:
            cache.close()


def fit_options(request: Request, notify: Callable[[str], None], *, strict: bool) -> Request:
    """Check the options against what the model takes, as its provider declares it."""
    if request.temperature is None:
        return request
    from .providers.registry import temperature_range

    value = fit_temperature(request.model, request.temperature, temperature_range(request.model), notify, strict=strict)
    return request if value is not None else replace(request, temperature=None)


def fit_temperature(
    model: ModelRef,
    value: float,
    allowed: tuple[float, float] | None,
    notify: Callable[[str], None],
    *,
    strict: bool,
) -> float | None:
    """``value`` when ``model`` takes it (``allowed``: its range as its provider declares
    it; None: only its default). Otherwise a usage error when ``strict`` (the model the
    user chose), or None with a note (a fallback, a compare column): every command the same."""
    if allowed is not None and allowed[0] <= value <= allowed[1]:
        return value
    takes = "takes only its default temperature" if allowed is None else (
        f"takes a temperature from {allowed[0]:g} to {allowed[1]:g}"
    )
    if strict:
        from .errors import UsageError

        fix = "leave -t out" if allowed is None else "pick a value in that range"
        raise UsageError(f"{model} {takes}, not {value:g}; {fix}.")
    notify(f"Leaving out -t {value:g} for {model}: it {takes}.")
    return None


def open_cache_or_warn(config: Config, notify: Callable[[str], None] = warn) -> Any:
    """A damaged or locked cache must never cost the user the answer: go on without it."""
    from .store.db import StoreError

    try:
        return open_cache(config)
    except StoreError as exc:
        notify(f"Not using the response cache: {exc}")
        return None


def _answer(
    request: Request,
    config: Config,
    sink: Sink,
    cache: Any,
    fallbacks: Sequence[ModelRef],
    timeout: float | None,
    notify: Callable[[str], None],
    offered: Any = None,
) -> Answer:
    entry = cache_lookup(cache, request, config, notify)
    if entry is not None:
        hit = Answer.from_cache(entry)
        check_structure(request, hit)
        sink.begin(hit.model)
        sink.delta(hit.text)
        sink.finish(hit)
        return hit

    from .providers import registry

    kinds = request.media_kinds()
    registry.check_accepts(request.model, kinds)

    def attempt_with(model: ModelRef) -> Answer:
        attempt = request
        if model != request.model:  # a fallback: an option it cannot take is left out, with a note
            attempt = fit_options(replace(request, model=model), notify, strict=False)
        # While the worker makes the call, this process readies what storing the answer will need.
        ready_to_store = None if cache is None else cache.prepare_to_store
        result = _stream_one(attempt, config, sink, timeout, while_waiting=ready_to_store, offered=offered)
        conclude(result, notify)  # raises for an answer that did not end normally
        if result.finish_reason == STOP and result.text:
            cache_store(cache, attempt, config, result.to_cache(), notify)
        return result

    def accepts(model: ModelRef) -> None:
        registry.check_accepts(model, kinds)

    return with_fallbacks(request.model, fallbacks, attempt_with, accepts=accepts, notify=notify)


def conclude(result: Answer, notify: Callable[[str], None]) -> None:
    """Act on how the answer ended, in one place for every provider (DESIGN.md, "How an answer ends").

    A normal end returns quietly; a cut with text is a note and exit 0; every
    other ending is an ``AnswerEnded`` (exit 1) carrying the answer, which the
    caller keeps, marked, in its session. None of them is cached.
    """
    from .errors import AnswerEnded

    reason, detail, model = result.finish_reason, result.finish_detail, result.model
    if reason == STOP:
        if not result.text and not result.citations:
            notify(f"{model} gave an empty answer.")  # never silent, even when there is nothing to print
        return
    result.incomplete = True
    if reason == "length":
        result.error = "The answer was cut at the token limit; raise --max-tokens."
        if not result.text:
            thought = " (the model spent it all thinking)" if result.output_tokens else ""
            result.error = f"{model} gave no answer: it was cut at the token limit{thought}; raise --max-tokens."
    elif reason == "refusal":
        result.error = f"{model} refused to answer."
    elif reason == "blocked":
        what = "the prompt" if result.blocked_prompt else "the answer"
        filter_name = f" ({detail})" if detail else ""
        result.error = f"{model.provider} blocked {what} with its safety filter{filter_name}."
        if detail and detail not in ("SAFETY", "content_filter"):
            result.error = f"{model.provider} blocked {what}: {detail}."
    else:
        broke = detail or "the stream ended before the answer was complete"
        result.error = f"{model} stopped mid-answer: {broke}."
    if reason == "length" and result.text:
        notify(result.error)
        return
    error = AnswerEnded(result.error)
    error.answer = result  # type: ignore[attr-defined]
    raise error


def check_structure(request: Request, result: Answer) -> None:
    """With --schema, the answer must be a JSON document that fits it: parsed onto
    ``result.data``, else an exit-1 ``AnswerEnded`` saying what failed (the answer
    travels on it to be kept in the session, and is never cached)."""
    from .conversation import SCHEMA_OPTION

    schema = request.options.get(SCHEMA_OPTION)
    if schema is None:
        return
    from .errors import AnswerEnded
    from .schema import SchemaError, load_answer

    result.structured = True
    try:
        result.data = load_answer(result.text, schema)  # type: ignore[arg-type]
    except SchemaError as exc:
        result.error = f"{result.model} gave an answer that fails --schema: {exc}."
        error = AnswerEnded(result.error)
        error.answer = result  # type: ignore[attr-defined]
        raise error from None


def _next_fallback(
    waiting: list[ModelRef], accepts: Callable[[ModelRef], None], notify: Callable[[str], None]
) -> ModelRef | None:
    """The next fallback that can take this input; the others are skipped, with a note."""
    while waiting:
        model = waiting.pop(0)
        try:
            accepts(model)
        except MmcliError as refusal:
            notify(f"Skipping fallback {model}: {refusal.message}")
            continue
        return model
    return None


def _take(event: object, result: Answer, pieces: list[str], sink: Sink, started: float) -> None:
    """Fold one provider event into the answer; text goes on to the sink as it arrives."""
    from .providers.base import Citations, Finish, TextDelta, Usage

    if isinstance(event, TextDelta):
        if result.ttft_s is None:
            result.ttft_s = time.perf_counter() - started
        pieces.append(event.text)
        sink.delta(event.text)
    elif isinstance(event, Usage):
        # A later report is the provider's final figure for whatever it carries.
        if event.input_tokens is not None:
            result.input_tokens = event.input_tokens
        if event.output_tokens is not None:
            result.output_tokens = event.output_tokens
    elif isinstance(event, Citations):
        result.citations = list(event.urls)
    elif isinstance(event, Finish):
        result.finish_reason = event.reason
        result.finish_detail = event.detail
        result.blocked_prompt = event.blocked_prompt
        result.resolved_model = event.resolved_model


def cache_get(cache: Any, key: str, notify: Callable[[str], None] = warn) -> dict[str, Any] | None:
    """The cached entry, or None; a store that fails to read is a miss, with a note."""
    from .store.db import StoreError

    try:
        return cache.get(key)
    except StoreError as exc:
        notify(f"Not using the response cache: {exc}")
        return None


def cache_put(cache: Any, key: str, entry: dict[str, Any], notify: Callable[[str], None] = warn) -> None:
    """Store an entry; a store that fails to write costs the entry, never the answer."""
    from .store.db import StoreError

    try:
        cache.put(key, entry)
    except StoreError as exc:
        notify(f"The answer was not cached: {exc}")


def _stream_one(
    request: Request,
    config: Config,
    sink: Sink,
    timeout: float | None,
    while_waiting: Callable[[], None] | None = None,
    offered: Any = None,
) -> Answer:
    """One model's answer to ``request``, streamed into ``sink``.

    ``while_waiting`` runs once the warm worker has been told to make the call,
    in the milliseconds before its first event comes back (with no worker it
    is not run: there the call leaves only when the stream is first read).
    ``offered``: this request, already with the worker (see ``offer``).
    """
    # Before the clock starts: an SDK import, or a connection to the warm worker.
    if offered is not None and offered.source is request:
        open_events = _through_offer(offered, config, timeout, while_waiting)
        prepare: Callable[[Request], Request] = _same  # the worker has it as prepared for the provider
    else:
        open_events = _event_source(request, config, timeout, while_waiting)
        prepare = _media_for
    result = Answer(model=request.model)
    pieces: list[str] = []
    started = time.perf_counter()
    sink.begin(request.model)
    try:
        # closing(): an interrupted answer closes its HTTP stream at once, rather
        # than when the garbage collector finds it (the provider would go on generating).
        with closing(open_events(prepare(request))) as events:
            for event in events:
                _take(event, result, pieces, sink, started)
    except (KeyboardInterrupt, BrokenPipeError, StreamInterrupted) as exc:
        result.text = "".join(pieces)
        result.total_s = time.perf_counter() - started
        result.incomplete = True
        error = _interruption(exc, result)
        if not isinstance(exc, BrokenPipeError):
            _quietly(sink.abort, result)  # the terminal is tidied (and restored) whatever happens next
        error.answer = result  # type: ignore[attr-defined]
        raise error from None
    except MmcliError:
        sink.abort(result)  # nothing arrived; let the renderer tidy its live region
        raise
    result.text = "".join(pieces)
    result.total_s = time.perf_counter() - started
    if result.finish_reason is None:  # a provider that told nothing of its end
        result.finish_reason = STOP
    if result.finish_reason == STOP:
        try:  # before the sink hears it ended well: an answer that fails --schema is a failure, never cached
            check_structure(request, result)
        except MmcliError:
            sink.abort(result)
            raise
    try:
        sink.finish(result)
    except BrokenPipeError:
        # The whole answer arrived; only the reader left before its last line.
        from .errors import OutputClosed

        error = OutputClosed("The reader of the output went away.")
        error.answer = result  # type: ignore[attr-defined]
        raise error from None
    return result


def _media_for(request: Request) -> Request:
    """Videos become timestamped frames for a provider that does not take video itself
    (after the cache key was taken from the request with the video)."""
    if "video" not in request.media_kinds():
        return request
    from . import media
    from .providers.registry import media_limits_of

    return media.for_provider(request, media_limits_of(request.model.provider))


def offer(request: Request, config: Config, timeout: float | None = None) -> Any:
    """Hand ``request`` to the warm worker now, to be answered only if ``answer`` needs
    to call the provider (``answer(..., offered=...)``); None without a worker.

    The worker's child gets the call ready (its SDK client built) while this
    process stores the question and looks in the cache: a few milliseconds of
    a one-shot run side by side. Nothing reaches the provider before ``answer``
    lets it go; an offer ``answer`` does not use is withdrawn.
    """
    offered = _hand_to_worker(_media_for(request), config, timeout)
    if offered is not None:
        offered.source = request
    return offered


def _hand_to_worker(prepared: Any, config: Config, timeout: float | None, **call: Any) -> Any:
    """``prepared`` (a chat or transcription request) with the warm worker, not yet let go
    (``Offer.go``); None when the worker is off or none takes it (then nothing was sent)."""
    from . import worker

    if not worker.enabled(config):
        return None
    from .providers import registry
    from .worker import client

    settings = registry.provider_settings(prepared.model.provider, config, timeout=timeout)
    connection = client.connect(config.worker_idle_minutes)
    if connection is None:
        return None
    return client.offer(connection, prepared, settings, config.worker_idle_minutes, **call)


def _same(request: Request) -> Request:
    return request


def _through_offer(
    offered: Any, config: Config, timeout: float | None, while_waiting: Callable[[], None] | None
) -> Callable[[Request], Iterator[object]]:
    return lambda _: _go(offered, offered.request, config, timeout, while_waiting)


def _go(
    offered: Any, prepared: Request, config: Config, timeout: float | None, while_waiting: Callable[[], None] | None
) -> Iterator[object]:
    """The worker's events for the offered call; when the worker turns it down (or
    the offer could not be made) nothing has reached the provider: the call is made here."""
    events = None if offered is None else offered.go()
    if events is None:
        from .providers import registry

        return registry.get_provider(prepared.model, config, timeout=timeout).stream(prepared)
    if while_waiting is not None:
        while_waiting()
    return events


def _event_source(
    request: Request, config: Config, timeout: float | None, while_waiting: Callable[[], None] | None = None
) -> Callable[[Request], Iterator[object]]:
    """Where the provider's events for ``request`` will come from: the warm worker
    when one answers (this process then imports no SDK), else the provider here."""
    from . import worker
    from .providers import registry

    if not worker.enabled(config):
        return registry.get_provider(request.model, config, timeout=timeout).stream
    from .worker import client

    settings = registry.provider_settings(request.model.provider, config, timeout=timeout)
    connection = client.connect(config.worker_idle_minutes)
    if connection is None:
        return registry.get_provider(request.model, config, timeout=timeout).stream

    def through_worker(prepared: Request) -> Iterator[object]:
        offered = client.offer(connection, prepared, settings, config.worker_idle_minutes)
        return _go(offered, prepared, config, timeout, while_waiting)

    return through_worker


class Transcriber:
    """Transcribes requests for one model, as a provider does (``transcribe(request, on_delta,
    on_upload)``): through the warm worker when one answers (this process then imports no
    SDK), else with the provider here. Safe to call from several threads at once (the pieces
    of a long recording): each call through the worker is a connection, and a child, of its own.
    """

    def __init__(self, model: ModelRef, config: Config, timeout: float | None):
        import threading

        self.model, self.config, self.timeout = model, config, timeout
        self._here: Any = None
        self._lock = threading.Lock()

    def transcribe(
        self,
        request: Any,
        on_delta: Callable[[str], None] | None = None,
        on_upload: Callable[[], None] | None = None,
    ) -> Any:
        offered = _hand_to_worker(request, self.config, self.timeout, stream_text=on_delta is not None)
        events = None if offered is None else offered.go()
        if events is not None:
            return _transcription_of(events, on_delta, on_upload)
        return self._provider_here().transcribe(request, on_delta, on_upload)

    def _provider_here(self) -> Any:
        with self._lock:  # the SDK is imported once, whichever piece needs it first
            if self._here is None:
                from .providers import registry

                self._here = registry.get_provider(self.model, self.config, timeout=self.timeout)
            return self._here


def _transcription_of(
    events: Iterator[object], on_delta: Callable[[str], None] | None, on_upload: Callable[[], None] | None
) -> Any:
    """The Transcription the worker sends last, passing on streamed text and the upload note."""
    from .providers.base import TextDelta
    from .worker.protocol import UPLOADING

    result = None
    with closing(events):  # an interruption here closes the socket: the worker's child stops the call
        for event in events:
            if isinstance(event, TextDelta):
                if on_delta is not None:
                    on_delta(event.text)
            elif event == UPLOADING:
                if on_upload is not None:
                    on_upload()
            else:
                result = event
    if result is None:
        raise StreamInterrupted("The mmcli worker ended the transcription without a result; run the command again.")
    return result


def _interruption(exc: BaseException, result: Answer) -> MmcliError:
    """What an answer cut short by the user, the system or the network becomes."""
    from .errors import OutputClosed, interrupt_exit_code

    if isinstance(exc, StreamInterrupted):
        result.finish_reason, result.error = "error", exc.message
        return exc
    result.finish_reason = "interrupted"
    if isinstance(exc, BrokenPipeError):
        result.error = "The reader of the output went away."
        return OutputClosed(result.error)
    result.error = "Interrupted; the partial answer was kept." if result.text else "Interrupted."
    return Interrupted(result.error, exit_code=interrupt_exit_code(exc))


def _quietly(action: Callable[[Answer], None], result: Answer) -> None:
    """Tidy the output after an interruption; a terminal that is gone (SIGHUP) must not stop the saving."""
    try:
        action(result)
    except (OSError, ValueError):
        pass
