"""`--schema`: a JSON Schema from a file, inline JSON or the short field syntax
(`name, age int, score float: description`, as `llm --schema` takes it), and a
small validator for the answer.

The validator covers what structured output uses (type, properties, required,
additionalProperties, items, enum, const, anyOf, min/max lengths and values);
keywords it does not know are accepted rather than guessed at. No dependency,
and nothing here is imported unless a schema is given.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from .conversation import SCHEMA_OPTION as OPTION  # noqa: F401  (the Request.options key)

_TYPES = {"str": "string", "string": "string", "int": "integer", "integer": "integer", "float": "number",
          "number": "number", "bool": "boolean", "boolean": "boolean"}
_FIELD = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*(?:\s([A-Za-z]+))?\s*(?::\s*(.*))?$", re.S)


class SchemaError(ValueError):
    """A --schema that cannot be read, or an answer that does not fit it; the message says which."""


def parse(value: str) -> dict[str, Any]:
    """The JSON Schema a `--schema` value stands for: inline JSON, a file holding JSON, or fields."""
    text = value.strip()
    if not text:
        raise SchemaError("--schema is empty; give fields such as 'name, age int', JSON, or a file.")
    if text.startswith("{"):
        return _json_schema(text, "the inline --schema")
    if os.path.isfile(value) or value.endswith(".json"):
        try:
            with open(value, encoding="utf-8") as handle:
                content = handle.read()
        except OSError as exc:
            raise SchemaError(f"Cannot read the schema file {value}: {exc.strerror or exc}.") from None
        if content.lstrip().startswith("{"):
            return _json_schema(content, value)
        return fields(content)
    return fields(text)


def _json_schema(text: str, where: str) -> dict[str, Any]:
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
    if not isinstance(schema, dict):
        raise SchemaError(f"{where} is not a JSON Schema object.")
    return schema


def fields(text: str) -> dict[str, Any]:
    """`name, age int, score float: description` (commas or newlines between fields) as an object schema.

    Every field is required and nothing else is allowed, which is what OpenAI's
    strict mode and Anthropic's structured outputs ask for.
    """
    separator = "\n" if "\n" in text.strip() else ","
    properties: dict[str, Any] = {}
    for raw in text.split(separator):
        if not raw.strip():
            continue
        match = _FIELD.match(raw)
        kind = (match.group(2) or "str").lower() if match else ""
        if match is None or kind not in _TYPES:
            allowed = ", ".join(sorted({"str", "int", "float", "bool"}))
            raise SchemaError(f"Cannot read the schema field {raw.strip()!r}; write 'name [type][: description]' "
                              f"with a type of {allowed}.")
        prop: dict[str, Any] = {"type": _TYPES[kind]}
        if match.group(3) and match.group(3).strip():
            prop["description"] = match.group(3).strip()
        properties[match.group(1)] = prop
    if not properties:
        raise SchemaError("--schema names no fields; give e.g. 'name, age int'.")
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def is_strict(schema: Any) -> bool:
    """Whether OpenAI's strict mode can take the schema: every object closed, every property required."""
    if isinstance(schema, list):
        return all(is_strict(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False or set(schema.get("required") or ()) != set(props):
            return False
    return all(is_strict(v) for k, v in schema.items() if k not in ("enum", "const", "default", "examples"))


def instructions(schema: dict[str, Any]) -> str:
    """For a server with no structured output of its own: the schema, asked for in words."""
    return ("Answer with only one JSON document, no prose and no code fence, that matches this JSON Schema:\n"
            + json.dumps(schema, ensure_ascii=False))


def load_answer(text: str, schema: dict[str, Any]) -> Any:
    """The answer parsed and checked against the schema; SchemaError says what failed."""
    body = _unfenced(text.strip())
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"the answer is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    problems = list(validate(data, schema))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SchemaError(f"the answer does not match the schema: {problems[0]}{more}")
    return data


def _unfenced(text: str) -> str:
    # Models asked in words often wrap the document in a ```json fence anyway.
    match = re.fullmatch(r"```[\w-]*\n(.*?)\n?```", text, re.S)
    return match.group(1) if match else text


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,), "null": (type(None),),
    "integer": (int,), "number": (int, float),
}


def validate(data: Any, schema: Any, path: str = "$") -> list[str]:
    """Every way ``data`` fails ``schema``, each as `where: what`."""
    if not isinstance(schema, dict):
        return []
    problems: list[str] = []
    types = schema.get("type")
    if types is not None:
        wanted = [types] if isinstance(types, str) else list(types)
        if not any(_is_type(data, t) for t in wanted):
            return [f"{path} should be {' or '.join(wanted)}, not {_type_name(data)}"]
    if "enum" in schema and data not in schema["enum"]:
        problems.append(f"{path} should be one of {json.dumps(schema['enum'])}")
    if "const" in schema and data != schema["const"]:
        problems.append(f"{path} should be {json.dumps(schema['const'])}")
    if "anyOf" in schema and all(validate(data, option, path) for option in schema["anyOf"]):
        problems.append(f"{path} matches none of the allowed shapes")
    if isinstance(data, dict):
        props = schema.get("properties") or {}
        problems += [f"{path} lacks {name!r}" for name in schema.get("required") or () if name not in data]
        for name, value in data.items():
            if name in props:
                problems += validate(value, props[name], f"{path}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path} has {name!r}, which the schema does not allow")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += validate(value, schema["additionalProperties"], f"{path}.{name}")
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(data):
            problems += validate(item, schema["items"], f"{path}[{index}]")
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        if "minimum" in schema and data < schema["minimum"]:
            problems.append(f"{path} should be at least {schema['minimum']}")
        if "maximum" in schema and data > schema["maximum"]:
            problems.append(f"{path} should be at most {schema['maximum']}")
    return problems


def _is_type(data: Any, name: str) -> bool:
    if isinstance(data, bool) and name in ("integer", "number"):
        return False
    if name == "integer" and isinstance(data, float):
        return data.is_integer()
    return isinstance(data, _JSON_TYPES.get(name, (object,)))


def _type_name(data: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is_type(data, name):
            return name
    return type(data).__name__
