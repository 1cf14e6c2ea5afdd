"""What every provider is: a translator from a neutral ``Request`` to its SDK's
call, and from its SDK's stream back to neutral events.

Nothing here imports an SDK; provider modules do, inside their methods.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..conversation import Message, Part, Request
from ..errors import (
    AuthenticationFailed,
    ConfigError,
    MmcliError,
    ProviderError,
    StreamInterrupted,
    one_sentence,
    redact,
)

if TYPE_CHECKING:
    from ..media.limits import ProviderLimits


# The events are named tuples, not dataclasses: immutable records all the same, and
# a process that answers through the warm worker creates these classes on every
# run, where a frozen dataclass costs half a millisecond to create, a named tuple
# a fifth of that (and each of the hundreds of TextDeltas of an answer is cheaper too).


class TextDelta(NamedTuple):
    text: str


class Usage(NamedTuple):
    """Token counts as the provider bills them; a later Usage replaces the figures it carries."""

    input_tokens: int | None = None
    output_tokens: int | None = None


class Citations(NamedTuple):
    urls: list[str]


# How an answer ended, normalised by each provider (DESIGN.md, "How an answer ends").
STOP, LENGTH, REFUSAL, BLOCKED, ERROR = "stop", "length", "refusal", "blocked", "error"


class Finish(NamedTuple):
    """The end of one answer.

    ``reason`` is one of the normalised endings above; ``detail`` is the
    provider's own word for it (``SAFETY``, ``content_filter``, ``max_tokens``)
    or, for an error, what broke. The engine acts on them in one place.
    """

    reason: str = STOP
    resolved_model: str | None = None  # the model version that actually answered, when told
    detail: str | None = None
    blocked_prompt: bool = False  # the prompt itself was refused, before any answer


Event = TextDelta | Usage | Citations | Finish


class Capabilities(NamedTuple):  # a named tuple, as the events are, for the same reason
    """What a model accepts besides text (the ``attachment_types`` idea of llm)."""

    image: bool = False
    audio: bool = False
    document: bool = False
    context_tokens: int = 128_000

    def accepts(self, kind: str) -> bool:
        if kind == "video":  # Gemini takes it itself; every other vision model gets its frames as images
            return self.image
        return kind == "text" or bool(getattr(self, kind, False))

    def kinds(self) -> list[str]:
        return ["text"] + [k for k in ("image", "audio", "document") if getattr(self, k)]


@dataclass(frozen=True)
class ProviderSettings:
    """Connection settings resolved by ``config``; the only input a provider needs."""

    api_key: str | None = None
    base_url: str | None = None
    timeout: float = 60.0
    retries: int = 2
    extra: dict[str, str] = field(default_factory=dict)  # e.g. vertex project/location


class SdkProvider:
    """What every provider shares: its settings, and its SDK imported up front so
    that answer timings (time to first token) measure the provider, not the import."""

    name: str
    key_variable: str | None
    sdk_module: str
    # The sampling temperatures the provider's models take; None: only their default.
    temperature_range: tuple[float, float] | None = (0.0, 2.0)

    @classmethod
    def temperature_range_of(cls, model: str) -> tuple[float, float] | None:
        """Class-level, so a value is checked before the SDK is imported or a request leaves."""
        return cls.temperature_range

    def __init__(self, settings: ProviderSettings):
        import importlib

        self.settings = settings
        self._ready_client: Any = None
        importlib.import_module(self.sdk_module)

    def client(self) -> Any:
        raise NotImplementedError

    def prepare(self) -> None:
        """Build the SDK client ahead of the call: the warm worker does it while the
        caller is still storing the question and looking in the cache."""
        self._ready_client = self.client()

    def chat_client(self) -> Any:
        """The SDK client for one chat stream: the one ``prepare`` built, else a new one."""
        ready, self._ready_client = self._ready_client, None
        return ready if ready is not None else self.client()


class Provider(Protocol):
    name: str

    def stream(self, request: Request) -> Iterator[Event]:
        """Yield events for one answer; raise ``errors.MmcliError`` subclasses on failure."""
        ...


def prepare_media(request: Request, limits: ProviderLimits) -> dict[str, Part]:
    """Every media part of the request as the provider takes it (its ``media_limits``), by content hash.

    Prepared once per request (history re-sends the same image every turn),
    and checked against the provider's limit for one request, so an oversized
    request is refused here, with a sentence, rather than by the provider.
    """
    prepared: dict[str, Part] = {}
    media_parts = [p for m in request.messages for p in m.parts if p.is_media]
    if not media_parts:
        return prepared
    from .. import media

    for part in media_parts:
        if part.sha256 not in prepared:
            prepared[part.sha256] = media.prepare(part, limits)
    media.fits_request(prepared.values(), limits)
    return prepared


def chat_message(message: Message, content: Callable[[Part], dict[str, Any]]) -> dict[str, Any]:
    """A message in the chat shape OpenAI and Anthropic share: plain text when it
    is only text (answers always are), else a list of content parts."""
    if message.role == "assistant" or not any(p.is_media for p in message.parts):
        return {"role": message.role, "content": message.text}
    return {"role": "user", "content": [content(p) for p in message.parts]}


def failure(
    provider: str,
    detail: str,
    *,
    status: int | None = None,
    key_variable: str | None = None,
    timed_out_after: float | None = None,
    unreachable: bool = False,
) -> MmcliError:
    """One place that turns an SDK failure into the user's sentence and exit code.

    Each provider module only says what kind of failure its SDK reported;
    the wording and the fallback rules live here so they agree everywhere.
    """
    detail = clause(redact(detail))
    if timed_out_after is not None:
        return ProviderError(
            f"{provider} did not answer within {timed_out_after:g} s; try again or raise --timeout."
        )
    if unreachable:
        return ProviderError(f"Cannot reach {provider} ({detail}); check the network or the base URL.")
    if status in (401, 403):
        fix = f"check {key_variable}" if key_variable else "check the credentials"
        return AuthenticationFailed(f"{provider} rejected the API key ({status}): {fix}.")
    if status == 429:
        return ProviderError(f"{provider} is rate limiting requests (429) and retries did not clear it: {detail}.")
    if status is not None and status >= 500:
        return ProviderError(f"{provider} had a server error ({status}): {detail}.")
    if status is not None:
        # The provider understood the request and refused it: another model will not help.
        return ProviderError(f"{provider} refused the request ({status}): {detail}.", retryable_elsewhere=False)
    return ProviderError(f"{provider} failed: {detail}.")


class StreamProgress:
    """Whether any answer text has arrived: decides between 'failed' and 'interrupted'."""

    def __init__(self) -> None:
        self.got_text = False


def _timed_out(provider: str, settings: ProviderSettings, started: float) -> MmcliError:
    """A timeout after the SDK's own retries: say how many attempts, and how long in all."""
    attempts = settings.retries + 1
    total = time.monotonic() - started
    tries = "" if attempts == 1 else f" on any of {attempts} attempts ({total:.1f} s in all)"
    return ProviderError(
        f"{provider} did not answer within {settings.timeout:g} s{tries}; try again or raise --timeout."
    )


def _broke_mid_answer(provider: str, detail: str | None = None) -> StreamInterrupted:
    if detail:
        return StreamInterrupted(f"{provider} stopped mid-answer: {clause(detail)}.")
    return StreamInterrupted(f"The connection to {provider} broke mid-answer.")


@contextmanager
def stainless_sdk_errors(
    provider: str, sdk: Any, settings: ProviderSettings, key_variable: str | None, progress: StreamProgress
) -> Iterator[None]:
    """Translate errors of the `openai` and `anthropic` SDKs, which share one error hierarchy.

    Once answer text has arrived, every failure is an interrupted answer
    (kept, exit 1, not cached, no fallback), whatever its kind.
    """
    started = time.monotonic()
    try:
        yield
    except sdk.APIStatusError as exc:
        if progress.got_text:  # an error event inside the stream (say, overloaded) after text arrived
            raise _broke_mid_answer(provider, _api_message(exc)) from exc
        raise failure(provider, _api_message(exc), status=_status_of(exc), key_variable=key_variable) from exc
    except sdk.APITimeoutError as exc:
        if progress.got_text:
            raise _broke_mid_answer(provider, f"no data for {settings.timeout:g} s") from exc
        raise _timed_out(provider, settings, started) from exc
    except sdk.APIConnectionError as exc:
        if progress.got_text:
            raise _broke_mid_answer(provider) from exc
        raise failure(provider, _cause(exc), unreachable=True) from exc
    except sdk.APIError as exc:
        # An error object inside the stream (`data: {"error": ...}` from a compatible server).
        if progress.got_text:
            raise _broke_mid_answer(provider, _api_message(exc)) from exc
        raise failure(provider, _api_message(exc)) from exc
    except MmcliError:
        raise
    except Exception as exc:
        # Mid-stream the SDKs let the HTTP library's own error through unwrapped.
        if progress.got_text:
            raise _broke_mid_answer(provider) from exc
        raise failure(provider, f"{exc.__class__.__name__}: {exc}") from exc


@contextmanager
def google_sdk_errors(
    provider: str, settings: ProviderSettings, key_variable: str | None, progress: StreamProgress
) -> Iterator[None]:
    """Translate google-genai's and google-auth's errors (Gemini Developer API and Vertex AI)."""
    from google.auth import exceptions as auth_errors
    from google.genai import errors as genai_errors

    started = time.monotonic()
    try:
        yield
    except genai_errors.APIError as exc:
        status = exc.code
        # Google rejects a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID:
        # that is a rejected key (exit 3, fallbacks apply), not a malformed request.
        if status == 400 and "API_KEY_INVALID" in str(exc.details):
            status = 401
        if progress.got_text:
            raise _broke_mid_answer(provider, exc.message or str(exc)) from exc
        raise failure(provider, exc.message or str(exc), status=status, key_variable=key_variable) from exc
    except auth_errors.DefaultCredentialsError as exc:
        raise ConfigError(
            f"No Google Cloud credentials for {provider}: run `gcloud auth application-default login` "
            "or set VERTEX_API_KEY."
        ) from exc
    except auth_errors.RefreshError as exc:
        raise ConfigError(
            f"The Google Cloud login for {provider} has expired or was revoked ({clause(str(exc))}): "
            "run `gcloud auth application-default login`, or set VERTEX_API_KEY."
        ) from exc
    except MmcliError:
        raise
    except Exception as exc:
        if progress.got_text:
            raise _broke_mid_answer(provider) from exc
        if _is_timeout(exc):
            raise _timed_out(provider, settings, started) from exc
        if isinstance(exc, OSError) or _is_connect_error(exc):
            raise failure(provider, f"{exc.__class__.__name__}: {exc}", unreachable=True) from exc
        raise failure(provider, f"{exc.__class__.__name__}: {exc}") from exc


def _http_libraries() -> list[Any]:
    """httpx and httpx2: google-genai builds on whichever is installed, sometimes both."""
    import sys

    return [sys.modules[name] for name in ("httpx", "httpx2") if name in sys.modules]


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or any(isinstance(exc, lib.TimeoutException) for lib in _http_libraries())


def _is_connect_error(exc: BaseException) -> bool:
    return any(isinstance(exc, lib.TransportError) for lib in _http_libraries())


# An error event inside a stream (Anthropic's overloaded_error, say) reaches the
# SDK's APIStatusError with the stream's own status, 200; its type says what it was.
_STREAM_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def clause(text: str) -> str:
    """An SDK's message as one clause inside our sentence: one line, its own final stop dropped
    (so "Sorry about that!" does not end "Sorry about that!.")."""
    return one_sentence(text).rstrip(".!?")


def _status_of(exc: Any) -> int:
    if exc.status_code != 200:
        return int(exc.status_code)
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return _STREAM_ERROR_STATUS.get(kind, 500)


def _api_message(exc: Any) -> str:
    """The provider's own error message, without the SDK's wrapper text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", exc))


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return f"{cause.__class__.__name__}: {cause}" if cause else str(exc)
