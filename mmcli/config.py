"""Settings resolution: flag > environment > .env (cwd, then config dir) >
keys stored with `mmcli keys set` (OS keyring, else a 0600 file) > config.toml
> built-in defaults.

Only standard-library modules are imported eagerly; python-dotenv and
platformdirs are imported only when a .env file exists or a directory is not
overridden, because this module sits on the cache-hit path.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

# The directories live below config (stored_keys needs the config dir too); named here as before.
from .app_dirs import config_dir, data_dir
from .errors import ConfigError

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_RETRIES = 2
DEFAULT_CACHE_TTL_DAYS = 30.0
DEFAULT_CACHE_MAX_MB = 200.0
DEFAULT_WORKER_IDLE_MINUTES = 10.0

# Variables a .env file put into the environment this run (`mmcli keys list` says where a key came from).
DOTENV_NAMES: set[str] = set()


def load_dotenv_files() -> None:
    """Merge `.env` from the current directory, then from the config dir, into
    the environment without overriding anything already set.

    A line python-dotenv cannot parse is a configuration error rather than the
    silent warning python-dotenv would log: a half-read .env is how keys go
    missing without anyone noticing.
    """
    for path in (Path.cwd() / ".env", config_dir() / ".env"):
        if not path.is_file():
            # A named pipe (some secret managers serve .env through one) is left alone, as before.
            continue
        from dotenv.parser import parse_stream

        try:
            text = _read_regular_file(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Cannot read {path}: {_reason(exc)}; fix or remove the file.") from exc
        if text is None:
            continue
        if "\x00" in text:
            # The environment cannot hold a NUL byte: refuse the file rather than fail later on it.
            raise ConfigError(f"{path} contains a NUL byte, so it is not a text file; fix or remove it.")
        import io

        bindings = list(parse_stream(io.StringIO(text)))
        for binding in bindings:
            if binding.error:
                line = binding.original.line
                raise ConfigError(f"{path} is malformed at line {line}; expected KEY=value lines.")
            if binding.key and binding.key not in os.environ and binding.value is not None:
                os.environ[binding.key] = binding.value
                DOTENV_NAMES.add(binding.key)


@dataclass
class Config:
    """The config.toml file, with defaults for what it leaves out."""

    path: Path
    default_model: str | None = None
    fallback: list[str] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    aliases: dict[str, str] = field(default_factory=dict)
    cache_ttl_days: float = DEFAULT_CACHE_TTL_DAYS
    cache_max_mb: float = DEFAULT_CACHE_MAX_MB
    providers: dict[str, dict[str, object]] = field(default_factory=dict)
    worker: bool = True  # the warm worker (mmcli/worker); MMCLI_NO_WORKER=1 also turns it off
    worker_idle_minutes: float = DEFAULT_WORKER_IDLE_MINUTES

    @cached_property
    def data_dir(self) -> Path:
        return data_dir()

    def provider_option(self, provider: str, option: str) -> str | None:
        value = self.providers.get(provider, {}).get(option)
        return str(value) if value is not None else None


def _expect(table: dict, key: str, kind: type | tuple[type, ...], path: Path) -> object:
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = {"str": "text string", "int": "whole number", "dict": "table"}
        noun = "number" if isinstance(kind, tuple) else names.get(kind.__name__, kind.__name__)
        raise ConfigError(f"{path}: '{key}' must be a {noun}, not {value!r}.")
    return value


def _toml_module():  # type: ignore[no-untyped-def]
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    return tomllib


def _read_regular_file(path: Path) -> str | None:
    """The file's UTF-8 text; None when it is not a regular file.

    Opened without blocking and checked before reading: a named pipe in place
    of config.toml would otherwise hang every command until something writes to it.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with open(fd, "rb", closefd=True) as stream:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        os.set_blocking(fd, True)
        return stream.read().decode("utf-8")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not UTF-8 text (byte {exc.start})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return exc.__class__.__name__


def _finite(table: dict, key: str, path: Path, where: str = "") -> float:
    """A number setting; nan and inf are refused (TOML allows both, and every comparison with nan is false)."""
    import math

    value = float(_expect(table, key, (int, float), path))  # type: ignore[arg-type]
    if not math.isfinite(value):
        raise ConfigError(f"{path}: {where}'{key}' must be a finite number, not {table[key]}.")
    return value


# Every key config.toml may hold (DESIGN.md), so a misspelt one is pointed out instead of
# silently ignored. [providers.NAME] tables take whatever that provider reads.
KNOWN_KEYS = (
    "default_model", "fallback", "timeout", "retries", "aliases", "cache", "providers", "worker", "worker_idle_minutes"
)
KNOWN_CACHE_KEYS = ("ttl_days", "max_mb")


def _warn_unknown_keys(raw: dict, path: Path) -> None:
    import difflib

    from .errors import report

    unknown = [(key, KNOWN_KEYS) for key in raw if key not in KNOWN_KEYS]
    cache = raw.get("cache")
    if isinstance(cache, dict):
        known_cache = [f"cache.{k}" for k in KNOWN_CACHE_KEYS]
        unknown += [(f"cache.{key}", known_cache) for key in cache if key not in KNOWN_CACHE_KEYS]
    for key, known in unknown:
        matches = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
        hint = f" (did you mean {matches[0]}?)" if matches else f"; known settings: {', '.join(known)}"
        report(f"{path}: unknown setting '{key}' is ignored{hint}.")


def parse_config(path: Path, *, warn: bool = True) -> Config:
    """config.toml as a Config; ``warn`` prints a line on stderr for each unknown key."""
    try:
        text = _read_regular_file(path)
    except FileNotFoundError:
        return Config(path=path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {_reason(exc)}; fix it or move it away.") from exc
    if text is None:
        raise ConfigError(f"{path} is not a regular file (a pipe, device or folder); replace it with a TOML file.")
    return parse_config_text(text, path, warn=warn)


def parse_config_text(text: str, path: Path, *, warn: bool = True) -> Config:
    """The text of a config.toml as a Config (also how `mmcli config set` checks a value before writing it)."""
    tomllib = _toml_module()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix it or move it away.") from exc

    if warn:
        _warn_unknown_keys(raw, path)
    config = Config(path=path)
    if "default_model" in raw:
        config.default_model = str(_expect(raw, "default_model", str, path))
    if "fallback" in raw:
        value = raw["fallback"]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{path}: 'fallback' must be a list of model names, none of them empty.")
        config.fallback = [v.strip() for v in value]
    if "timeout" in raw:
        config.timeout = _finite(raw, "timeout", path)
    if "retries" in raw:
        config.retries = int(_expect(raw, "retries", int, path))  # type: ignore[arg-type]
    if "aliases" in raw:
        aliases = _expect(raw, "aliases", dict, path)
        config.aliases = {str(k): str(v) for k, v in aliases.items()}  # type: ignore[union-attr]
    cache = raw.get("cache", {})
    if not isinstance(cache, dict):
        raise ConfigError(f"{path}: [cache] must be a table.")
    if "ttl_days" in cache:
        config.cache_ttl_days = _finite(cache, "ttl_days", path, "[cache] ")
    if "max_mb" in cache:
        config.cache_max_mb = _finite(cache, "max_mb", path, "[cache] ")
    providers = raw.get("providers", {})
    if not isinstance(providers, dict) or not all(isinstance(v, dict) for v in providers.values()):
        raise ConfigError(f"{path}: [providers.NAME] entries must be tables.")
    config.providers = providers
    if "worker" in raw:
        if not isinstance(raw["worker"], bool):
            raise ConfigError(f"{path}: 'worker' must be true or false, not {raw['worker']!r}.")
        config.worker = raw["worker"]
    if "worker_idle_minutes" in raw:
        minutes = float(_expect(raw, "worker_idle_minutes", (int, float), path))  # type: ignore[arg-type]
        if minutes <= 0:
            raise ConfigError(f"{path}: 'worker_idle_minutes' must be a positive number of minutes, not {minutes:g}.")
        config.worker_idle_minutes = minutes
    if config.timeout <= 0 or config.retries < 0:
        raise ConfigError(f"{path}: 'timeout' must be positive and 'retries' zero or more.")
    if config.cache_ttl_days < 0 or config.cache_max_mb <= 0:
        raise ConfigError(f"{path}: [cache] 'ttl_days' must be zero or more and 'max_mb' positive.")
    return config


def load() -> Config:
    """Read .env files, stored keys and config.toml once per process.

    Stored keys go into the environment like .env's, never over a variable already
    set: one place (the environment) for the providers to read, for redaction to
    know the secrets, and for the warm worker to receive with each call.
    """
    load_dotenv_files()
    from .stored_keys import merge_into_environ

    merge_into_environ()
    return parse_config(config_dir() / "config.toml")
