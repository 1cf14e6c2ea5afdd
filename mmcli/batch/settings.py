"""Environment knobs of batch jobs: the provider job size (tests lower it) and the poll interval."""

from __future__ import annotations

import os

from ..errors import ConfigError

MAX_REQUESTS_VARIABLE = "MMCLI_BATCH_MAX_REQUESTS"
POLL_VARIABLE = "MMCLI_BATCH_POLL_S"
DEFAULT_POLL_S = 5.0
# `wait` polls less often as a job runs on: batches take minutes to hours.
POLL_GROWTH = 1.5
MAX_POLL_S = 60.0


def max_requests(provider_limit: int) -> int:
    """Requests per provider job: the provider's limit, or less when MMCLI_BATCH_MAX_REQUESTS says so."""
    value = os.environ.get(MAX_REQUESTS_VARIABLE, "").strip()
    if not value:
        return provider_limit
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"{MAX_REQUESTS_VARIABLE} must be a whole number of at least 1, not {value!r}.")
    return min(number, provider_limit)


def poll_interval() -> tuple[float, float]:
    """The first pause between polls and the longest one."""
    value = os.environ.get(POLL_VARIABLE, "").strip()
    first = DEFAULT_POLL_S
    if value:
        try:
            first = float(value)
        except ValueError:
            first = -1.0
        if not first > 0:
            raise ConfigError(f"{POLL_VARIABLE} must be a number of seconds above 0, not {value!r}.")
    return first, max(first, min(MAX_POLL_S, first * 12))
