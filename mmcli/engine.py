"""One request, start to finish: cache lookup, the provider call with
fallbacks, and the events passed on to a sink (the renderer).

Layered the way shell_gpt layers its handlers: the provider yields events,
the engine passes text through to the sink as it arrives and acts at the end
(timing, usage, cache write). Sessions are written by the command, which owns
the conversation; the engine only answers one request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from .config import Config
from .conversation import ModelRef, Request
from .errors import Interrupted, MmcliError, ProviderError, StreamInterrupted

# providers.registry and providers.base are imported where a provider is
# called, not here: a cache hit never needs them.


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
    incomplete: bool = False

    @property
    def cost_usd(self) -> float | None:
        """What this answer cost now: a cached answer cost nothing."""
        from .pricing import cost_usd

        if self.cached:
            return 0.0
        return cost_usd(self.model.provider, self.model.name, self.input_tokens, self.output_tokens)

    def to_json(self, session: str | None = None) -> dict[str, Any]:
        """The DESIGN.md `--json` object (null where unknown)."""
        return {
            "model": self.model.name,
            "provider": self.model.provider,
            "answer": self.text,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "ttft_s": _round(self.ttft_s),
            "total_s": _round(self.total_s),
            "cost_usd": self.cost_usd,
            "cached": self.cached,
            "citations": self.citations,
            "session": session,
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
            finish_reason=entry.get("finish_reason"),
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


def cache_key_of(request: Request) -> str:
    from .store.cache import cache_key

    return cache_key(request.cache_identity())


def answer(
    request: Request,
    config: Config,
    sink: Sink,
    *,
    fallbacks: Sequence[ModelRef] = (),
    use_cache: bool = True,
    timeout: float | None = None,
    notify: Callable[[str], None] = warn,
) -> Answer:
    """Answer ``request``, trying ``fallbacks`` in turn when the model fails.

    Raises MmcliError subclasses; an interrupted answer travels on the
    exception as ``.answer`` so the caller can keep it in its session.
    """
    cache = open_cache_or_warn(config, notify) if use_cache else None
    try:
        return _answer(request, config, sink, cache, fallbacks, timeout, notify)
    finally:
        if cache is not None:
            cache.close()


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
) -> Answer:
    if cache is not None:
        entry = cache_get(cache, cache_key_of(request), notify)
        if entry is not None:
            hit = Answer.from_cache(entry)
            sink.begin(hit.model)
            sink.delta(hit.text)
            sink.finish(hit)
            return hit

    from .providers import registry

    kinds = request.media_kinds()
    registry.check_accepts(request.model, kinds)
    waiting = [m for m in dict.fromkeys(fallbacks) if m != request.model]
    attempt = request
    while True:
        try:
            result = _stream_one(attempt, config, sink, timeout)
        except ProviderError as exc:
            if not exc.retryable_elsewhere or isinstance(exc, StreamInterrupted):
                raise
            fallback = _next_fallback(waiting, kinds, notify)
            if fallback is None:
                raise
            notify(f"{exc.message.rstrip('.')}; falling back to {fallback}.")
            attempt = replace(request, model=fallback)
            continue
        if cache is not None and not result.incomplete and result.text:
            cache_put(cache, cache_key_of(attempt), result.to_cache(), notify)
        return result


def _next_fallback(waiting: list[ModelRef], kinds: set[str], notify: Callable[[str], None]) -> ModelRef | None:
    """The next fallback that can take this input; the others are skipped, with a note."""
    from .providers import registry

    while waiting:
        model = waiting.pop(0)
        try:
            registry.check_accepts(model, kinds)
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
        result.input_tokens = event.input_tokens
        result.output_tokens = event.output_tokens
    elif isinstance(event, Citations):
        result.citations = list(event.urls)
    elif isinstance(event, Finish):
        result.finish_reason = event.reason
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


def _stream_one(request: Request, config: Config, sink: Sink, timeout: float | None) -> Answer:
    from .providers import registry

    provider = registry.get_provider(request.model, config, timeout=timeout)
    result = Answer(model=request.model)
    pieces: list[str] = []
    started = time.perf_counter()
    sink.begin(request.model)
    try:
        # closing(): an interrupted answer closes its HTTP stream at once, rather
        # than when the garbage collector finds it (the provider would go on generating).
        with closing(provider.stream(request)) as events:
            for event in events:
                _take(event, result, pieces, sink, started)
    except (KeyboardInterrupt, StreamInterrupted) as exc:
        result.text = "".join(pieces)
        result.total_s = time.perf_counter() - started
        result.incomplete = True
        sink.abort(result)
        if isinstance(exc, KeyboardInterrupt):
            error: MmcliError = Interrupted("Interrupted; the partial answer was kept.")
        else:
            error = exc
        error.answer = result  # type: ignore[attr-defined]
        raise error from None
    except MmcliError:
        sink.abort(result)  # nothing arrived; let the renderer tidy its live region
        raise
    result.text = "".join(pieces)
    result.total_s = time.perf_counter() - started
    sink.finish(result)
    return result
