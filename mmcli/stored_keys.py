"""API keys stored with `mmcli keys set`: in the OS keyring when one works, else
in a 0600 file in the config dir.

`keys.json` in the config dir records which providers have a stored key and
where (never a value for keyring-held keys), so an ordinary run reads one small
file and imports `keyring` (about 90 ms with its backend lookup) only when a keyring-held key is needed
and the environment does not already provide one. Keys kept in the file itself
(no working keyring) are in the same file, which is always written 0600.

Precedence (DESIGN.md): flag > env > .env > stored keys > config.toml: stored keys
enter the environment after .env and never replace a variable already set.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import ConfigError

SERVICE = "mmcli"  # the keyring service name; the provider is the user name
KEYS_FILE = "keys.json"
KEYRING = "keyring"
FILE = "file"
# Variables this run took from stored keys, and from where (keyring or file).
SOURCES: dict[str, str] = {}
_merged = False


def keys_path() -> Path:
    from .app_dirs import config_dir

    return config_dir() / KEYS_FILE


def key_variables(provider: str) -> list[str]:
    """The variables holding ``provider``'s key, first the one a stored key is put in."""
    from .catalogue import catalogue

    return list(catalogue()[provider]["key_env"])


def read_index() -> dict[str, dict[str, str]]:
    """{provider: {"in": "keyring"} or {"in": "file", "key": ...}}; empty when nothing is stored."""
    path = keys_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path} ({exc.__class__.__name__}); fix or remove the file.") from exc
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigError(f"{path} is not valid JSON; remove it and store the keys again (mmcli keys set).") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) and v.get("in") in (KEYRING, FILE)
                                             for v in data.values()):
        raise ConfigError(f"{path} is not a keys file mmcli wrote; remove it and store the keys again.")
    return data


def _write_index(index: dict[str, dict[str, str]]) -> None:
    """Written whole or not at all, 0600 from the first byte whatever the umask or the old file's mode."""
    from .private_dirs import make_private_dirs

    path = keys_path()
    make_private_dirs(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
        with open(fd, "w", encoding="utf-8", closefd=True) as stream:
            json.dump(index, stream, indent=2, sort_keys=True)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def merge_into_environ() -> None:
    """Put stored keys into the environment where no variable of that provider is set yet."""
    global _merged
    if _merged:
        return
    _merged = True
    index = read_index()
    for provider, entry in index.items():
        try:
            variables = key_variables(provider)
        except KeyError:
            continue  # a provider this version no longer knows
        if not variables or any(os.environ.get(v) for v in variables):
            continue  # the environment or .env wins
        if entry["in"] == FILE:
            value = entry.get("key")
        else:
            value = _keyring_get(provider)
        if value:
            os.environ[variables[0]] = value
            SOURCES[variables[0]] = entry["in"]


def _keyring_module():  # type: ignore[no-untyped-def]
    try:
        import keyring
    except ImportError:
        return None
    return keyring


def _keyring_get(provider: str) -> str | None:
    keyring = _keyring_module()
    if keyring is None:
        from .errors import report

        report(f"the {provider} key is in the OS keyring, but the keyring package is not installed; "
               f"store it again with mmcli keys set {provider}.")
        return None
    try:
        return keyring.get_password(SERVICE, provider)
    except Exception as exc:  # noqa: BLE001 - any backend failure (D-Bus gone, locked keyring) is one warning
        from .errors import report

        report(f"could not read the {provider} key from the OS keyring ({exc.__class__.__name__}: {exc}).")
        return None


def store(provider: str, key: str) -> tuple[str, str]:
    """Store ``key``: in the keyring when one works, else in the keys file. Returns (where, why-not-keyring)."""
    keyring = _keyring_module()
    why = "the keyring package is not installed"
    if keyring is not None:
        try:
            keyring.set_password(SERVICE, provider, key)
            # The null backend accepts and forgets: read it back before trusting it.
            if keyring.get_password(SERVICE, provider) == key:
                index = read_index()
                index[provider] = {"in": KEYRING}
                _write_index(index)
                return KEYRING, ""
            why = "the keyring backend does not keep passwords"
        except Exception as exc:  # noqa: BLE001 - no backend (keyring.errors.NoKeyringError), no D-Bus, locked...
            # keyring's own sentence goes on to advise installing packages: its first clause is the reason.
            text = str(exc).strip()
            why = text.split(". ")[0].splitlines()[0].rstrip(".") if text else exc.__class__.__name__
    index = read_index()
    index[provider] = {"in": FILE, "key": key}
    _write_index(index)
    return FILE, why


def remove(provider: str) -> str | None:
    """Forget ``provider``'s stored key; where it was, or None when none was stored."""
    index = read_index()
    entry = index.pop(provider, None)
    if entry is None:
        return None
    if entry["in"] == KEYRING:
        keyring = _keyring_module()
        if keyring is not None:
            try:
                keyring.delete_password(SERVICE, provider)
            except Exception:  # noqa: BLE001, S110 - already gone from the keyring: forgetting it here is the point
                pass
    _write_index(index)
    return entry["in"]
