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

# Environment variables whose values are secrets: scrubbed from every message.
SECRET_ENV_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "PERPLEXITY_API_KEY",
    "MMCLI_COMPAT_API_KEY",
    "VERTEX_API_KEY",
)
# Shapes of provider keys, for keys that arrive from somewhere other than the
# environment (an SDK echoing a header back in its error text). Anchored and
# as long as real keys, so words like "risk-assessment-report" are left alone.
_KEY_PATTERNS = re.compile(
    r"(?<![\w-])(?:sk-(?:ant-|proj-|svcacct-)?[A-Za-z0-9_-]{20,}|pplx-[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{35})"
)


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


class Interrupted(MmcliError):
    """Ctrl-C: what arrived so far is kept, and the exit code is 130."""

    exit_code = EXIT_INTERRUPTED


def redact(text: str) -> str:
    """Remove API keys from a message, whatever produced it."""
    for var in SECRET_ENV_VARS:
        value = os.environ.get(var)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return _KEY_PATTERNS.sub("***", text)


def one_sentence(text: str) -> str:
    """Collapse an SDK's multi-line error into one line that ends like a sentence."""
    text = " ".join(text.split())
    if len(text) > 400:
        text = text[:397] + "..."
    if text and text[-1] not in ".!?":
        text += "."
    return text


def report(message: str) -> None:
    import sys

    print(f"mmcli: {redact(message)}", file=sys.stderr, flush=True)


def exits_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command so every failure becomes one sentence and its exit code.

    Tracebacks appear only with MMCLI_DEBUG=1. Typer still sees the wrapped
    function's signature through functools.wraps.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MmcliError as exc:
            if os.environ.get("MMCLI_DEBUG") == "1":
                raise
            report(exc.message)
            raise SystemExit(exc.exit_code) from None
        except KeyboardInterrupt:
            report("Interrupted.")
            raise SystemExit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # The reader went away (`mmcli chat ... | head`): not an error worth a sentence.
            _silence_stdout()
            raise SystemExit(EXIT_OK) from None
        except Exception as exc:
            from typer import Exit

            if isinstance(exc, Exit) or os.environ.get("MMCLI_DEBUG") == "1":  # typer.Exit is a RuntimeError
                raise
            report(
                f"Unexpected error ({exc.__class__.__name__}: {one_sentence(str(exc)).rstrip('.')}); "
                "rerun with MMCLI_DEBUG=1 to see the details."
            )
            raise SystemExit(EXIT_PROVIDER) from None

    return wrapper


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's exit-time flush does not fail again."""
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
