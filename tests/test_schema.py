"""`--schema`: structured output through each provider's native feature, checked
against the schema; stdout is the JSON document (DESIGN.md, "More inputs and
everyday options")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes import Reply

FIELDS = "merchant, date, total float"
FIELDS_SCHEMA = {
    "type": "object",
    "properties": {"merchant": {"type": "string"}, "date": {"type": "string"}, "total": {"type": "number"}},
    "required": ["merchant", "date", "total"],
    "additionalProperties": False,
}


def test_chat_schema_fields_go_as_strict_response_format_and_stdout_is_the_document(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text='{"merchant": "Cafe", "date": "2026-01-02", "total": 4.5}'))
    done = run_mmcli(["chat", "-m", "openai:gpt-4o-mini", "--schema", FIELDS, "The receipt"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"merchant": "Cafe", "date": "2026-01-02", "total": 4.5}
    assert done.stdout.count("\n") == 1
    body = fake_openai.generation_requests[-1].json
    assert body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "answer", "schema": FIELDS_SCHEMA, "strict": True}
    }
