"""Roles (`-r/--role NAME`): a saved way of asking — system prompt, model,
temperature, schema and a prompt template with `$input` — as TOML files in the
config dir's `roles/`, plus a few built-ins. A flag beats the role; the role
beats the session's model and the default."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEYS = ("system", "model", "temperature", "schema", "template")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

BUILTIN: dict[str, dict[str, Any]] = {
    "shell": {
        "system": "Answer with exactly one shell command that does what is asked, for a POSIX shell, on one line. "
                  "No explanation, no Markdown, no code fence.",
        "temperature": 0.0,
    },
    "code": {
        "system": "Answer with code only, in one fenced Markdown code block with its language. "
                  "No explanation before or after it.",
    },
    "commit": {
        "system": "You write git commit messages: a subject line of at most 72 characters in the imperative mood, "
                  "a blank line, then a short body saying what changed and why. Output only the message.",
        "template": "Write a commit message for this diff:\n\n$input",
    },
}


@dataclass
class Role:
    name: str
    system: str | None = None
    model: str | None = None
    temperature: float | None = None
    schema: str | None = None  # as --schema takes it: fields, inline JSON or a file
    template: str | None = None
    path: Path | None = None  # None for a built-in

    def prompt(self, text: str) -> str:
        """The template with `$input` replaced by the user's prompt (and piped text); without one, the prompt."""
        if not self.template:
            return text
        from string import Template

        return Template(self.template).safe_substitute(input=text)

    def to_toml(self) -> str:
        lines = []
        for key in KEYS:
            value = getattr(self, key)
            if value is None:
                continue
            if isinstance(value, str):
                lines.append(f"{key} = {_toml_string(value)}")
            else:
                lines.append(f"{key} = {value!r}")
        return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    if "\n" in value and "'''" not in value:
        return "'''\n" + value + "'''"
    import json

    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def roles_dir() -> Path:
    from .config import config_dir

    return config_dir() / "roles"


def check_name(name: str) -> None:
    from .errors import UsageError

    if not _NAME.match(name):
        raise UsageError(f"{name!r} is not a role name; use letters, digits, '-', '_' or '.'.")


def path_of(name: str) -> Path:
    check_name(name)
    return roles_dir() / f"{name}.toml"


def names() -> dict[str, str]:
    """Every role and where it comes from ("file" or "built-in"); a file of a built-in's name overrides it."""
    found = {name: "built-in" for name in BUILTIN}
    directory = roles_dir()
    if directory.is_dir():
        for path in sorted(directory.glob("*.toml")):
            found[path.stem] = "file"
    return dict(sorted(found.items()))


def load(name: str) -> Role:
    """The role NAME: its file in roles/, else the built-in; unknown or malformed is a usage error."""
    from .errors import UsageError

    path = path_of(name)
    if path.is_file():
        return parse(path.read_text(encoding="utf-8"), name, path)
    if name in BUILTIN:
        return Role(name=name, **BUILTIN[name])
    known = ", ".join(names())
    raise UsageError(f"There is no role {name!r}; known roles: {known} (mmcli roles save {name} ... makes one).")


def parse(text: str, name: str, path: Path | None = None) -> Role:
    from .config import _toml_module
    from .errors import UsageError

    where = str(path) if path else f"role {name}"
    tomllib = _toml_module()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{where} is not valid TOML: {exc}.") from None
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise UsageError(f"{where} has unknown keys {', '.join(unknown)}; a role takes {', '.join(KEYS)}.")
    for key in ("system", "model", "schema", "template"):
        if key in raw and not isinstance(raw[key], str):
            raise UsageError(f"{where}: {key} should be a string.")
    temperature = raw.get("temperature")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))):
        raise UsageError(f"{where}: temperature should be a number.")
    return Role(name=name, system=raw.get("system"), model=raw.get("model"),
                temperature=None if temperature is None else float(temperature), schema=raw.get("schema"),
                template=raw.get("template"), path=path)


def save(role: Role) -> Path:
    from .private_dirs import make_private_dirs

    path = path_of(role.name)
    make_private_dirs(path.parent)
    path.write_text(role.to_toml(), encoding="utf-8")
    return path
