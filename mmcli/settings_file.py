"""Editing config.toml from the command line (`mmcli config`, `models default`, `aliases`).

Keys are dotted (`cache.ttl_days`, `aliases.fast`, `providers.openai.base_url`);
a value is checked by the same parser that reads config.toml before anything is
written, and the file is rewritten with tomlkit so its comments and layout stay.
tomlkit is imported only here, by these commands.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from . import config as config_module
from .errors import ConfigError, UsageError

# Every setting `mmcli config` takes, with its kind; aliases.NAME and providers.NAME.OPTION besides.
SETTINGS: dict[str, str] = {
    "default_model": "model",
    "fallback": "list",
    "timeout": "float",
    "retries": "int",
    "cache.ttl_days": "float",
    "cache.max_mb": "float",
    "worker": "bool",
    "worker_idle_minutes": "float",
}
PATTERNS = ("aliases.NAME", "providers.NAME.OPTION")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def config_path() -> Path:
    return config_module.config_dir() / "config.toml"


def check_key(key: str) -> list[str]:
    """``key`` split at its dots; a UsageError (exit 2) naming the closest setting when it is not one."""
    parts = key.split(".")
    if key in SETTINGS:
        return parts
    if parts[0] == "aliases" and len(parts) == 2 and parts[1]:
        if ":" in parts[1] or parts[1] != parts[1].strip() or " " in parts[1]:
            # provider:model is how a model is named, so an alias holding ':' could never be reached.
            raise UsageError(f"'{parts[1]}' cannot be an alias: use a word without ':', '.' or spaces, such as fast.")
        return parts
    if parts[0] == "providers" and len(parts) == 3 and all(parts[1:]):
        from .providers.registry import PROVIDERS

        if parts[1] not in PROVIDERS:
            matches = difflib.get_close_matches(parts[1], PROVIDERS, n=1)
            hint = f" (did you mean {matches[0]}?)" if matches else f"; known providers: {', '.join(PROVIDERS)}"
            raise UsageError(f"Unknown provider '{parts[1]}' in '{key}'{hint}.")
        return parts
    known = [*SETTINGS, *PATTERNS]
    matches = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean {matches[0]}?)" if matches else ""
    raise UsageError(f"Unknown setting '{key}'{hint}; known settings: {', '.join(known)}.")


def kind_of(key: str) -> str:
    if key in SETTINGS:
        return SETTINGS[key]
    return "model" if key.startswith("aliases.") else "option"


def coerce(key: str, text: str) -> Any:
    """The command-line text of a value as the TOML value config.toml holds."""
    kind = kind_of(key)
    value = text.strip()
    if kind == "float":
        try:
            return int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            raise UsageError(f"{key} takes a number, not '{text}'.") from None
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            raise UsageError(f"{key} takes a whole number, not '{text}'.") from None
    if kind == "bool":
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise UsageError(f"{key} takes true or false, not '{text}'.")
    if kind == "list":
        return [item.strip() for item in value.split(",") if item.strip()]
    if kind == "option":
        # Provider options are mostly text (base_url); a number stays a number (vad_sensitivity).
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    if not value:
        raise UsageError(f"{key} needs a value; to remove it, run mmcli config unset {key}.")
    return value


def _validate(parts: list[str], value: Any) -> None:
    """Check one value with config.toml's own parser (ranges, kinds); exit 2 when it is refused."""
    import tomlkit

    document = tomlkit.document()
    _assign(document, parts, value)
    try:
        config_module.parse_config_text(tomlkit.dumps(document), config_path(), warn=False)
    except ConfigError as exc:
        raise UsageError(exc.message.replace(f"{config_path()}: ", "")) from None
    if parts[0] in ("default_model", "aliases") or parts == ["fallback"]:
        from .providers import registry

        # The model names themselves, as `-m` would take them (exit 3 for an unknown provider or alias,
        # the usual note for a model not in the list), with the file's other aliases in effect.
        full = load_config()
        if parts[0] == "aliases":
            full.aliases[parts[1]] = value
            registry.parse_model(parts[1], full)
            return
        for name in value if isinstance(value, list) else [value]:
            registry.parse_model(name, full)


def load_config() -> config_module.Config:
    return config_module.parse_config(config_path(), warn=False)


def _read_document() -> Any:
    """config.toml as a tomlkit document (empty when there is none); exit 3 when it is not TOML."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    path = config_path()
    try:
        text = config_module._read_regular_file(path)
    except FileNotFoundError:
        return tomlkit.document()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {config_module._reason(exc)}; fix it or move it away.") from exc
    if text is None:
        raise ConfigError(f"{path} is not a regular file (a pipe, device or folder); replace it with a TOML file.")
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix it or move it away.") from None


def _write_document(document: Any) -> None:
    import tomlkit

    from .output_file import write_output
    from .private_dirs import make_private_dirs

    path = config_path()
    make_private_dirs(path.parent)
    write_output(str(path), tomlkit.dumps(document))


def _assign(document: Any, parts: list[str], value: Any) -> None:
    import tomlkit

    container = document
    for depth, part in enumerate(parts[:-1]):
        if part not in container:
            # [providers] only ever holds [providers.NAME] tables: no empty [providers] header for it.
            container[part] = tomlkit.table(is_super_table=parts[0] == "providers" and depth == 0)
        container = container[part]
        if not isinstance(container, dict):
            raise ConfigError(f"{config_path()}: '{'.'.join(parts[: depth + 1])}' must be a table; fix the file.")
    container[parts[-1]] = value


def set_value(key: str, text: str) -> Any:
    """Validate and write ``key = text``; the value written."""
    parts = check_key(key)
    value = coerce(key, text)
    _validate(parts, value)
    document = _read_document()
    _assign(document, parts, value)
    _write_document(document)
    return value


def unset(key: str) -> bool:
    """Remove ``key`` from config.toml; False when it was not there."""
    parts = check_key(key)
    document = _read_document()
    chain = [document]
    for part in parts[:-1]:
        inner = chain[-1].get(part)
        if not isinstance(inner, dict):
            return False
        chain.append(inner)
    if parts[-1] not in chain[-1]:
        return False
    # A table left empty stays, with whatever comments it holds: they are the user's.
    del chain[-1][parts[-1]]
    _write_document(document)
    return True


_ATTRIBUTES = {"cache.ttl_days": "cache_ttl_days", "cache.max_mb": "cache_max_mb"}


def effective() -> list[tuple[str, Any, str]]:
    """(key, value, where from) for every setting: config.toml's value, else the default (None: none)."""
    path = config_path()
    config = config_module.parse_config(path, warn=False)
    raw = _raw(path)
    rows: list[tuple[str, Any, str]] = []
    for key in SETTINGS:
        table: Any = raw
        for part in key.split("."):
            table = table.get(part) if isinstance(table, dict) else None
        value = getattr(config, _ATTRIBUTES.get(key, key))
        rows.append((key, value, "config.toml" if table is not None else "default"))
    rows += [(f"aliases.{name}", model, "config.toml") for name, model in config.aliases.items()]
    rows += [
        (f"providers.{provider}.{option}", value, "config.toml")
        for provider, options in config.providers.items()
        for option, value in options.items()
    ]
    return rows


def _raw(path: Path) -> dict:
    text = config_module._read_regular_file(path) if path.is_file() else None
    return config_module._toml_module().loads(text) if text else {}


def show(value: Any) -> str:
    """A value as `config get` prints it: lists comma-separated, booleans as TOML writes them, 60.0 as 60."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
