"""Roles: `-r/--role NAME` from TOML files in the config dir's roles/ and the
built-ins, their precedence (flag > role > session > default), and
`mmcli roles list|show|edit|save`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.fakes import Reply

pytestmark = pytest.mark.in_pytest


def role_file(env: dict[str, str], name: str, text: str) -> Path:
    path = Path(env["MMCLI_CONFIG_DIR"]) / "roles" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


PIRATE = '''system = "Answer as a pirate."
model = "openai:gpt-4o"
temperature = 1.1
template = "Tell me, matey: $input"
'''


def test_a_role_file_sets_system_model_temperature_and_template(run_mmcli, mmcli_env, fake_openai):
    role_file(mmcli_env, "pirate", PIRATE)
    done = run_mmcli(["chat", "-r", "pirate", "where is the treasure?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    body = fake_openai.generation_requests[-1].json
    assert body["model"] == "gpt-4o" and body["temperature"] == 1.1
    assert body["messages"] == [
        {"role": "system", "content": "Answer as a pirate."},
        {"role": "user", "content": "Tell me, matey: where is the treasure?"},
    ]


def test_flags_beat_the_role(run_mmcli, mmcli_env, fake_openai, fake_anthropic):
    role_file(mmcli_env, "pirate", PIRATE)
    done = run_mmcli(["chat", "-r", "pirate", "-m", "openai:gpt-4o-mini", "-s", "Be plain.", "-t", "0.1", "Hi"],
                     mmcli_env)
    assert done.returncode == 0, done.stderr
    body = fake_openai.generation_requests[-1].json
    assert (body["model"], body["temperature"], body["messages"][0]["content"]) == ("gpt-4o-mini", 0.1, "Be plain.")


def test_the_role_beats_the_sessions_model(run_mmcli, mmcli_env, fake_openai, fake_anthropic):
    assert run_mmcli(["chat", "-m", "claude-haiku-4-5", "-S", "trip", "Hello"], mmcli_env).returncode == 0
    role_file(mmcli_env, "fast", 'model = "openai:gpt-4o-mini"\n')
    done = run_mmcli(["chat", "-S", "trip", "-r", "fast", "And now?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert fake_openai.generation_requests[-1].json["model"] == "gpt-4o-mini"
    assert len(fake_anthropic.generation_requests) == 1


def test_a_role_with_a_schema(run_mmcli, mmcli_env, fake_openai):
    role_file(mmcli_env, "receipt", "schema = 'merchant, total float'\nmodel = 'openai:gpt-4o-mini'\n")
    fake_openai.queue(Reply(text='{"merchant": "M", "total": 2.0}'))
    done = run_mmcli(["chat", "-r", "receipt", "this one"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"merchant": "M", "total": 2.0}
    assert "response_format" in fake_openai.generation_requests[-1].json


def test_builtin_commit_role_uses_the_piped_diff(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="Fix the off-by-one in the pager"))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-r", "commit"], mmcli_env, input="-a\n+b\n")
    assert done.returncode == 0, done.stderr
    messages = fake_openai.generation_requests[-1].json["messages"]
    assert "commit message" in messages[0]["content"]
    assert messages[1]["content"] == "Write a commit message for this diff:\n\n-a\n+b"


def test_builtin_shell_and_code_roles(run_mmcli, mmcli_env, fake_openai):
    for name, words in (("shell", "one shell command"), ("code", "code only")):
        assert run_mmcli(["chat", "-m", "gpt-4o-mini", "-r", name, f"q {name}"], mmcli_env).returncode == 0
        assert words in fake_openai.generation_requests[-1].json["messages"][0]["content"]


def test_an_unknown_or_malformed_role_is_a_usage_error(run_mmcli, mmcli_env, fake_openai):
    done = run_mmcli(["chat", "-r", "nobody", "Hi"], mmcli_env)
    assert done.returncode == 2 and "no role 'nobody'" in done.stderr and "shell" in done.stderr
    role_file(mmcli_env, "broken", "system = \n")
    done = run_mmcli(["chat", "-r", "broken", "Hi"], mmcli_env)
    assert done.returncode == 2 and "not valid TOML" in done.stderr
    role_file(mmcli_env, "typo", "sytem = 'x'\n")
    done = run_mmcli(["chat", "-r", "typo", "Hi"], mmcli_env)
    assert done.returncode == 2 and "unknown keys sytem" in done.stderr
    assert fake_openai.generation_requests == []


def test_roles_save_list_show(run_mmcli, mmcli_env):
    done = run_mmcli(["roles", "save", "explain", "-s", "Explain simply.", "-t", "0.3",
                      "--template", "Explain to a beginner: $input", "--schema", "summary, level int"], mmcli_env)
    assert done.returncode == 0, done.stderr
    path = Path(mmcli_env["MMCLI_CONFIG_DIR"]) / "roles" / "explain.toml"
    assert path.is_file()
    listed = run_mmcli(["roles", "list", "--json"], mmcli_env)
    sources = {r["name"]: r["source"] for r in json.loads(listed.stdout)}
    assert sources == {"code": "built-in", "commit": "built-in", "explain": "file", "shell": "built-in"}
    shown = run_mmcli(["roles", "show", "explain"], mmcli_env)
    assert shown.returncode == 0
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    assert tomllib.loads(shown.stdout) == {"system": "Explain simply.", "temperature": 0.3,
                                           "schema": "summary, level int",
                                           "template": "Explain to a beginner: $input"}
    plain = run_mmcli(["roles", "list"], mmcli_env)
    assert "explain" in plain.stdout and "built-in" in plain.stdout


def test_roles_save_refuses_nothing_and_bad_schema(run_mmcli, mmcli_env):
    assert run_mmcli(["roles", "save", "empty"], mmcli_env).returncode == 2
    bad = run_mmcli(["roles", "save", "bad", "--schema", "{oops"], mmcli_env)
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr


def test_roles_edit_copies_a_builtin_and_runs_the_editor(run_mmcli, mmcli_env, tmp_path):
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'a').write('model = \"openai:gpt-4o\"\\n')\n")
    env = {**mmcli_env, "EDITOR": f"{sys.executable} {editor}"}
    done = run_mmcli(["roles", "edit", "shell"], env)
    assert done.returncode == 0, done.stderr
    text = (Path(mmcli_env["MMCLI_CONFIG_DIR"]) / "roles" / "shell.toml").read_text()
    assert "one shell command" in text and 'model = "openai:gpt-4o"' in text
    listed = json.loads(run_mmcli(["roles", "list", "--json"], mmcli_env).stdout)
    assert {"name": "shell", "source": "file"}.items() <= next(r for r in listed if r["name"] == "shell").items()


def test_role_on_analyze_image_and_compare(run_mmcli, run_mmcli_subprocess, mmcli_env, fake_openai, tmp_path):
    from tests.test_multimodal import image_bytes, write

    role_file(mmcli_env, "alt", 'system = "Write alt text."\nmodel = "openai:gpt-4o-mini"\n')
    photo = write(tmp_path, "p.png", image_bytes((30, 30), "PNG"))
    assert run_mmcli(["analyze-image", photo, "-r", "alt"], mmcli_env).returncode == 0
    body = fake_openai.generation_requests[-1].json
    assert body["model"] == "gpt-4o-mini" and body["messages"][0]["content"] == "Write alt text."
    # compare forks: a process of its own, not the pytest process
    done = run_mmcli_subprocess(["compare", "Hi", "-r", "alt"], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert fake_openai.generation_requests[-1].json["messages"][0]["content"] == "Write alt text."


def test_role_on_batch_submit_applies_to_every_line(run_mmcli, mmcli_env, tmp_path):
    from tests.fakes.openai_batch import FakeOpenAIBatch

    role_file(mmcli_env, "tag", 'system = "Tag it."\nmodel = "openai:gpt-4o-mini"\ntemplate = "Tags for: $input"\n'
                                "schema = 'tags'\n")
    lines = tmp_path / "q.jsonl"
    lines.write_text('{"prompt": "a cat"}\n{"prompt": "a dog"}\n', encoding="utf-8")
    with FakeOpenAIBatch() as fake:
        done = run_mmcli(["batch", "submit", str(lines), "-r", "tag"], {**mmcli_env, "OPENAI_BASE_URL": fake.base_url})
        assert done.returncode == 0, done.stderr
        (job,) = fake.batches.jobs.values()
    bodies = [line["body"] for _, line in job.requests]
    assert [b["messages"] for b in bodies] == [
        [{"role": "system", "content": "Tag it."}, {"role": "user", "content": f"Tags for: a {animal}"}]
        for animal in ("cat", "dog")
    ]
    assert all(b["model"] == "gpt-4o-mini" and "response_format" in b for b in bodies)
