"""The error types mmcli raises and the exit codes they map to (DESIGN.md).

Every failure reaches the user as one sentence on stderr. Provider modules
translate their SDK's exceptions into these classes, so nothing above
``providers/`` needs to know an SDK's error hierarchy.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any

EXIT_OK = 0
EXIT_PROVIDER = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_INTERRUPTED = 130

# Environment variables whose values may be secrets.
SECRET_ENV_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "PERPLEXITY_API_KEY",
    "MMCLI_COMPAT_API_KEY",
    "VERTEX_API_KEY",
)
# A key shorter than this, or one of the placeholders local servers' docs tell
# users to set, protects nothing: redacting it would only mangle the user's own
# words ("Write a unit test" with OPENAI_API_KEY=test).
MIN_SECRET_LENGTH = 12
PLACEHOLDER_KEYS = frozenset({
    "empty", "none", "null", "test", "dummy", "ollama", "lm-studio", "not-needed", "sk-no-key-required",
    "no-key", "nokey", "placeholder", "changeme", "your-api-key", "api-key",
})
# Shapes of provider keys, for keys that arrive from somewhere other than the
# environment (an SDK echoing a header back in its error text). Anchored, as
# long as real keys, and holding a digit as random keys do, so hyphenated words
# such as "sk-learn-compatible-pipeline" are left alone.
_KEY_PATTERNS = re.compile(
    r"(?<![\w-])(?:sk-(?:ant-|proj-|svcacct-)?(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]{20,}"
    r"|pplx-(?=[A-Za-z]*\d)[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{35})"
)


def could_be_secret(value: str) -> bool:
    """Whether a configured key is worth hiding: the one rule every redaction follows."""
    value = value.strip()
    return len(value) >= MIN_SECRET_LENGTH and value.lower() not in PLACEHOLDER_KEYS


def secret_values() -> list[str]:
    """The configured keys that could be secrets, longest first (so one never hides part of another)."""
    found = {os.environ.get(var, "").strip() for var in SECRET_ENV_VARS}
    return sorted((v for v in found if v and could_be_secret(v)), key=len, reverse=True)


def redact(text: str) -> str:
    """Remove API keys from a message, a stored prompt or a log line, whatever produced it."""
    for value in secret_values():
        text = text.replace(value, "***")
    return _KEY_PATTERNS.sub("***", text)


def contains_secret(text: str) -> bool:
    return redact(text) != text


class MmcliError(Exception):
    """A failure with a user-facing sentence and an exit code."""

    exit_code = EXIT_PROVIDER

    def __init__(self, message: str):
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self)


class UsageError(MmcliError):
    """Bad usage or bad input: a file, an option, a model that cannot take the input."""

    exit_code = EXIT_USAGE


class ConfigError(MmcliError):
    """Missing or rejected key, malformed config, unknown provider or alias."""

    exit_code = EXIT_CONFIG


class ProviderError(MmcliError):
    """The provider failed after the SDK's own retries.

    ``retryable_elsewhere`` says whether a fallback model may be tried:
    authentication, rate limits, server and connection errors qualify; a
    request the provider rejected as malformed does not.
    """

    exit_code = EXIT_PROVIDER

    def __init__(self, message: str, *, retryable_elsewhere: bool = True):
        super().__init__(message)
        self.retryable_elsewhere = retryable_elsewhere


class AuthenticationFailed(ProviderError):
    """The provider rejected the key (401/403): a configuration problem."""

    exit_code = EXIT_CONFIG


class StreamInterrupted(ProviderError):
    """The connection broke after part of the answer arrived."""

    def __init__(self, message: str):
        super().__init__(message, retryable_elsewhere=False)


class AnswerEnded(ProviderError):
    """The provider ended the answer other than normally: a refusal, a block, a
    token limit with nothing to show, an error mid-stream (DESIGN.md, "How an
    answer ends"). What arrived travels on ``.answer``; another model is not tried."""

    def __init__(self, message: str):
        super().__init__(message, retryable_elsewhere=False)


class Interrupted(MmcliError):
    """Ctrl-C, SIGTERM or SIGHUP: what arrived so far is kept; the exit code says which."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, message: str, exit_code: int = EXIT_INTERRUPTED):
        super().__init__(message)
        self.exit_code = exit_code


class OutputClosed(MmcliError):
    """The reader of stdout went away (`mmcli chat ... | head`): not a failure, nothing to say."""

    exit_code = EXIT_OK


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread so every place that keeps a
    partial answer on Ctrl-C keeps it on these too; exits 128 + the signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def interrupt_exit_code(exc: BaseException) -> int:
    """130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + exc.signum if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def install_signal_handlers() -> None:
    """Handle SIGTERM and SIGHUP (a closed terminal window) like Ctrl-C.

    Only the first signal raises: a second one arriving while the partial
    answer is being saved must not cut that saving short.
    """
    import signal

    owner = os.getpid()

    def handler(signum: int, frame: object) -> None:
        if os.getpid() != owner:
            # A forked helper process (compare's SDK loaders): die by the signal, as by default.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if not getattr(handler, "fired", False):
            handler.fired = True  # type: ignore[attr-defined]
            raise Terminated(signum)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)


def one_sentence(text: str) -> str:
    """Collapse an SDK's multi-line error into one line that ends like a sentence."""
    text = " ".join(text.split())
    if len(text) > 400:
        text = text[:397] + "..."
    if text and text[-1] not in ".!?":
        text += "."
    return text


def report(message: str) -> None:
    """One `mmcli: ...` line on stderr; nothing when stderr itself is gone (a closed terminal)."""
    import sys

    try:
        print(f"mmcli: {redact(message)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _debug() -> bool:
    return os.environ.get("MMCLI_DEBUG") == "1"


def _report_traceback() -> None:
    """MMCLI_DEBUG=1: the traceback, with keys redacted like every other output."""
    import sys
    import traceback

    try:
        sys.stderr.write(redact(traceback.format_exc()))
    except (OSError, ValueError):
        pass


def exits_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command so every failure becomes one sentence and its exit code.

    Tracebacks appear only with MMCLI_DEBUG=1, redacted, and the exit code stays
    the same. Typer still sees the wrapped function's signature through functools.wraps.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            _check_utf8_arguments(command, kwargs)
            return command(*args, **kwargs)
        except OutputClosed:
            _silence_stdout()
            raise SystemExit(EXIT_OK) from None
        except MmcliError as exc:
            if _debug():
                _report_traceback()
            report(exc.message)
            raise SystemExit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            report("Interrupted.")
            raise SystemExit(interrupt_exit_code(exc)) from None
        except BrokenPipeError:
            # The reader went away (`mmcli chat ... | head`): not an error worth a sentence.
            _silence_stdout()
            raise SystemExit(EXIT_OK) from None
        except Exception as exc:
            from typer import Exit

            if isinstance(exc, Exit):  # typer.Exit is a RuntimeError
                raise
            if _debug():
                _report_traceback()
            report(
                f"Unexpected error ({exc.__class__.__name__}: {one_sentence(str(exc)).rstrip('.')}); "
                "rerun with MMCLI_DEBUG=1 to see the details."
            )
            raise SystemExit(EXIT_PROVIDER) from None

    return wrapper


def _check_utf8_arguments(command: Callable[..., Any], arguments: dict[str, Any]) -> None:
    """Refuse command-line values that are not valid UTF-8, before anything uses them.

    Python decodes argv with ``surrogateescape``: an invalid byte becomes a lone
    surrogate that passes through until the first JSON body, database row or
    terminal write tries to encode it. File names included: a path that cannot
    be written as text could not be stored in a session or shown either.
    """
    for name, value in arguments.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, str) and _has_surrogates(v) for v in values):
            raise UsageError(
                f"{_parameter_label(command, name)} is not valid UTF-8; mmcli takes text and file names "
                "in UTF-8 only (check the terminal's or the script's encoding)."
            )


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _parameter_label(command: Callable[..., Any], name: str) -> str:
    """How the user wrote the parameter ("-S/--session", "PROMPT"), from the command's Typer annotations."""
    import typing

    try:
        hints = typing.get_type_hints(command, include_extras=True)
    except Exception:  # an annotation that does not evaluate: fall back to the parameter's name
        hints = {}
    hint = hints.get(name)
    if not hasattr(hint, "__metadata__"):  # Python 3.10 wraps Optional[...] around it when the default is None
        hint = next((arg for arg in typing.get_args(hint) if hasattr(arg, "__metadata__")), hint)
    info = next(iter(getattr(hint, "__metadata__", ())), None)
    declared = [getattr(info, "default", None), *(getattr(info, "param_decls", None) or ())]
    flags = [d for d in declared if isinstance(d, str) and d.startswith("-")]
    if flags:
        return f"The value of {'/'.join(flags)}"
    metavar = getattr(info, "metavar", None) or name.upper()
    return f"The {metavar} argument"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's exit-time flush does not fail again."""
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
